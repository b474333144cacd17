"""Writes synthetic posed expressions in the exact raw JAFFE layout.

The output looks like the JAFFE release on disk, so the real `jaffe` builder
builds it unchanged:

    root/KA.AN1.39.tiff ...          256x256 gray; subject . code+pose . number
    root/README_FIRST.txt            text, then optionally the semantic ratings table:
                                     index, HAP SAD SUR ANG DIS FEA, picture

Ten people (other people than the synthetic CK+ subjects, for a cross-dataset
test) each pose every expression code (NE AN DI FE HA SA SU) a few times; by
default as many images per code as JAFFE has (213 in all). As in JAFFE, a few
images are stored with three identical channels, and posed expressions vary
in strength. The ratings table, in the README as in the release, scores each
picture (subject, code and pose index, e.g. `KA-AN1`) for the six emotions on
1-5; a few pictures have no rating.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
from absl import logging

from affect_jax.synthetic import expressions, output_folder, portrait_renderer

MARKER_FILENAME = "SYNTHETIC_JAFFE.json"
RATINGS_FILENAME = "README_FIRST.txt"
# Expression codes in file names and the CK+ emotion each one is.
CODES = {"NE": "neutral", "AN": "anger", "DI": "disgust", "FE": "fear",
         "HA": "happy", "SA": "sadness", "SU": "surprise"}  # fmt: skip
# Images per code in JAFFE (213 in all).
JAFFE_COUNTS = {"AN": 30, "DI": 29, "FE": 32, "HA": 31, "NE": 30, "SA": 31, "SU": 30}
# The ratings file's emotion columns, in its order, and the code each rates.
RATING_COLUMNS = {"HAP": "HA", "SAD": "SA", "SUR": "SU", "ANG": "AN", "DIS": "DI", "FEA": "FE"}
# Made-up initials, none of them a subject of the real release.
SUBJECTS = ("AH", "EM", "HN", "IT", "KO", "MY", "NR", "RK", "TS", "YH")
_THREE_CHANNEL_EVERY = 60  # About as rare as in JAFFE.
_UNRATED_FRACTION = 0.08

PRESETS: dict[str, dict] = {
    # JAFFE's own size.
    "quickstart": dict(counts=JAFFE_COUNTS),
    # For tests: one image per person and code.
    "tiny": dict(counts={code: len(SUBJECTS) for code in CODES}),
}


def _per_subject(total: int, num_subjects: int, rng: np.random.Generator) -> np.ndarray:
    """`total` images spread over the subjects as evenly as possible, at random."""
    counts = np.full(num_subjects, total // num_subjects)
    counts[rng.permutation(num_subjects)[: total % num_subjects]] += 1
    return counts


def _ratings(code: str, intensity: float, rng: np.random.Generator) -> list[float]:
    """Mean ratings (1-5) of a picture, highest for the posed emotion."""
    values = []
    for rated in RATING_COLUMNS.values():
        value = rng.uniform(1.3, 2.3)
        if rated == code:
            value += intensity * rng.uniform(1.8, 2.6)
        values.append(float(np.clip(value, 1.0, 5.0)))
    return values


def write_jaffe_layout(
    root: Path,
    *,
    seed: int = 0,
    counts: Mapping[str, int] | None = None,
    image_size: int = 256,
    ratings: bool = True,
) -> dict:
    """Writes a synthetic JAFFE release (one flat folder) under `root`.

    Args:
      root: output folder; created if needed. It must be empty or an earlier
        output of this function (which is then replaced).
      seed: everything written is a deterministic function of the arguments.
      counts: images per expression code, spread over the ten people; default
        JAFFE's counts.
      image_size: side of the square images.
      ratings: whether to write the semantic ratings file.

    Returns:
      A summary, also written to `MARKER_FILENAME`: per image its file name,
      subject, code, pose index, channels and whether it is rated; and the
      images per code.
    """
    counts = dict(JAFFE_COUNTS if counts is None else counts)
    unknown = set(counts) - set(CODES)
    if unknown:
        raise ValueError(f"Unknown expression codes {sorted(unknown)}; use {list(CODES)}.")
    root = Path(root)
    output_folder.prepare(root, MARKER_FILENAME, ("*.tiff", "*.txt"), "JAFFE")
    arguments = dict(seed=seed, counts=counts, image_size=image_size, ratings=ratings)
    marker = root / MARKER_FILENAME
    marker.write_text(json.dumps(dict(complete=False, arguments=arguments)))

    start = time.monotonic()
    # Another stream than the synthetic CK+ of the same seed: other people.
    root_seed = np.random.SeedSequence([seed, 0x1AFFE])
    plan_rng = np.random.default_rng(root_seed.spawn(1)[0])
    per_subject = {code: _per_subject(n, len(SUBJECTS), plan_rng) for code, n in counts.items()}
    images, rating_rows, number = [], [], 0
    for index, (subject, subject_seed) in enumerate(
        zip(SUBJECTS, root_seed.spawn(len(SUBJECTS)), strict=True)
    ):
        rng = np.random.default_rng(subject_seed)
        identity = portrait_renderer.random_identity(rng, dark_hair=True)
        centre = image_size * rng.uniform(0.47, 0.53), image_size * rng.uniform(0.44, 0.50)
        radius = image_size * rng.uniform(0.20, 0.24)
        number += int(rng.integers(0, 3))  # Numbers have gaps, as in JAFFE.
        for code in rng.permutation(list(counts)):
            for pose in range(1, int(per_subject[code][index]) + 1):
                number += 1
                intensity = 0.0 if code == "NE" else float(rng.uniform(0.6, 1.0))
                shift = rng.normal(0.0, 0.01 * image_size, size=2)
                gray = portrait_renderer.render_portrait(
                    identity,
                    expressions.expression(CODES[code], intensity),
                    canvas_size=(image_size, image_size),
                    centre=(centre[0] + shift[0], centre[1] + shift[1]),
                    radius=radius,
                    rng=rng,
                    noise_sd=1.5,
                )
                three_channel = len(images) % _THREE_CHANNEL_EVERY == 5
                image = cv2.merge([gray, gray, gray]) if three_channel else gray
                name = f"{subject}.{code}{pose}.{number}.tiff"
                ok, tiff = cv2.imencode(".tiff", image)
                assert ok, "OpenCV could not encode a TIFF"
                (root / name).write_bytes(tiff.tobytes())
                rated = ratings and rng.random() >= _UNRATED_FRACTION
                if rated:
                    rating_rows.append((f"{subject}-{code}{pose}", _ratings(code, intensity, rng)))
                images.append(
                    dict(
                        file=name,
                        subject=subject,
                        code=code,
                        pose=pose,
                        channels=3 if three_channel else 1,
                        rated=rated,
                    )
                )
    lines = [
        "Synthetic stand-in for JAFFE, written by affect_jax.synthetic; no real person.",
        "",
    ]
    if ratings:
        lines.append("Semantic ratings (1-5), averaged over raters:")
        lines.append("#      " + "  ".join(f"{c:>4}" for c in RATING_COLUMNS) + "  PIC")
        for k, (picture, values) in enumerate(rating_rows, start=1):
            lines.append(f"{k:<6} " + "  ".join(f"{v:4.2f}" for v in values) + f"  {picture}")
    (root / RATINGS_FILENAME).write_text("\n".join(lines) + "\n")
    summary = dict(
        root=str(root),
        arguments=arguments,
        images=images,
        per_code={code: sum(i["code"] == code for i in images) for code in CODES},
        seconds=round(time.monotonic() - start, 2),
    )
    marker.write_text(json.dumps(dict(complete=True, **summary), indent=1))
    logging.info(
        "Synthetic JAFFE written to %s in %.1f s: %d images", root, summary["seconds"], len(images)
    )
    return summary

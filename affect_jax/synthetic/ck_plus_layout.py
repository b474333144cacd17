"""Writes synthetic posed-expression sequences in the exact raw CK+ layout.

The output looks like the Extended Cohn-Kanade release on disk, so the real
`ck_plus` builder builds it unchanged:

    root/cohn-kanade-images/S005/001/S005_001_00000001.png ...   640x490 gray
    root/Emotion/S005/001/S005_001_00000011_emotion.txt          "   3.0000000e+00"
    root/FACS/S005/001/S005_001_00000011_facs.txt                 AU, intensity rows

Each subject is one synthetic person (`portrait_renderer`); each sequence goes
from a neutral face in its first frame to the peak of one expression in its
last. As in CK+, only some sequences have an emotion label (327 of 593; the
Emotion folder of the others is empty or absent), some sequences are stored
as colour 640x480 frames, classes are imbalanced (few contempt and fear), and
subject and sequence numbers have gaps. Landmarks are not written.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
from absl import logging

from affect_jax.synthetic import expressions, output_folder, portrait_renderer

MARKER_FILENAME = "SYNTHETIC_CK_PLUS.json"
IMAGES_FOLDER = "cohn-kanade-images"
EMOTION_FOLDER = "Emotion"
FACS_FOLDER = "FACS"
# Labelled CK+ sequences per emotion code (327 in all), and the labelled share.
CK_PLUS_LABEL_COUNTS = {1: 45, 2: 18, 3: 59, 4: 25, 5: 69, 6: 28, 7: 83}
LABELLED_FRACTION = 327 / 593
# The action units that define each emotion, written to the FACS files.
_ACTION_UNITS = {
    1: (4, 5, 7, 23), 2: (14,), 3: (9, 10, 17), 4: (1, 2, 4, 5, 20, 25),
    5: (6, 12, 25), 6: (1, 4, 15), 7: (1, 2, 5, 26),
}  # fmt: skip
# One subject in this many has no labelled sequence at all (5 of 123 in CK+).
_UNLABELLED_SUBJECT_EVERY = 25
_COLOUR_FRACTION = 0.1

PRESETS: dict[str, dict] = {
    # A few hundred labelled images at CK+'s frame size.
    "quickstart": dict(num_subjects=40, sequences_per_subject=(2, 6), frames_per_sequence=(6, 12)),
    # For tests: half-size frames, builds in about a second. Ten subjects with a
    # label each, so every one of the ten folds has a test subject.
    "tiny": dict(
        num_subjects=10,
        sequences_per_subject=(1, 3),
        frames_per_sequence=(4, 7),
        image_size=(245, 320),
    ),
}


def format_emotion(code: int) -> str:
    """An emotion file's content as in CK+: `   3.0000000e+00`."""
    return f"   {float(code):.7e}\n"


def _range(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _plan_subject(index: int, rng: np.random.Generator, sequences: tuple[int, int]) -> list[dict]:
    """Sequence numbers, labels (None: unlabelled) and colour of one subject."""
    count = int(rng.integers(sequences[0], sequences[1] + 1))
    if (index + 1) % _UNLABELLED_SUBJECT_EVERY == 0:
        num_labelled = 0
    else:
        num_labelled = min(max(1, int(rng.binomial(count, LABELLED_FRACTION))), count, 7)
    codes = np.array(list(CK_PLUS_LABEL_COUNTS))
    weights = np.array(list(CK_PLUS_LABEL_COUNTS.values()), np.float64)
    # A person poses each emotion at most once, as in CK+.
    labels = list(rng.choice(codes, num_labelled, replace=False, p=weights / weights.sum()))
    labelled = set(rng.choice(count, num_labelled, replace=False).tolist())
    numbers = sorted(rng.choice(np.arange(1, count + 3), count, replace=False).tolist())
    plans = []
    for position, number in enumerate(numbers):
        label = int(labels.pop()) if position in labelled else None
        plans.append(
            dict(
                sequence=f"{number:03d}",
                label=label,
                # Unlabelled sequences still pose something, often less clearly.
                posed=label if label is not None else int(rng.integers(1, 8)),
                intensity=1.0 if label is not None else float(rng.uniform(0.5, 1.0)),
                colour=bool(rng.random() < _COLOUR_FRACTION),
                empty_emotion_folder=bool(rng.random() < 0.5),
            )
        )
    if index == 1 and labelled:
        plans[min(labelled)]["colour"] = True  # Even the tiny preset has one.
    return plans


def _to_colour(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A colour (BGR) frame of the gray scene, with a slight warm tint."""
    tint = rng.uniform(0.0, 0.08)
    gains = np.array([1.0 - tint, 1.0, 1.0 + 0.6 * tint], np.float32)
    return np.clip(gray[..., None].astype(np.float32) * gains + 0.5, 0, 255).astype(np.uint8)


def _write_sequence(
    root: Path,
    subject: str,
    plan: dict,
    identity: portrait_renderer.PortraitIdentity,
    placement: tuple[float, float, float],
    num_frames: int,
    image_size: tuple[int, int],
    rng: np.random.Generator,
) -> None:
    height, width = image_size
    if plan["colour"]:
        height = height * 48 // 49  # CK+'s colour frames are 640x480.
    sequence = plan["sequence"]
    folder = root / IMAGES_FOLDER / subject / sequence
    folder.mkdir(parents=True, exist_ok=True)
    peak = expressions.expression(plan["posed"], plan["intensity"])
    x, y, radius = placement
    # The subject sits a little differently in each sequence and moves slightly.
    x, y = x + rng.normal(0, 0.01 * width), y + rng.normal(0, 0.01 * height)
    drift = rng.normal(0, 0.004 * width, size=2)
    for index, intensity in enumerate(expressions.onset_ramp(num_frames, rng)):
        shift = drift * index / max(num_frames - 1, 1) + rng.normal(0, 0.3, size=2)
        gray = portrait_renderer.render_portrait(
            identity,
            peak.scaled(intensity),
            canvas_size=(height, width),
            centre=(x + shift[0], y + shift[1]),
            radius=radius,
            rng=rng,
            # Pixel noise would triple the PNG sizes (~120 KB a frame); a
            # studio's flicker in brightness and contrast costs nothing.
            noise_sd=0.0,
        )
        gray = cv2.convertScaleAbs(gray, alpha=rng.normal(1.0, 0.02), beta=rng.normal(0.0, 2.0))
        image = _to_colour(gray, rng) if plan["colour"] else gray
        ok, png = cv2.imencode(".png", image)
        assert ok, "OpenCV could not encode a PNG"
        (folder / f"{subject}_{sequence}_{index + 1:08d}.png").write_bytes(png.tobytes())

    last = f"{subject}_{sequence}_{num_frames:08d}"
    emotion_dir = root / EMOTION_FOLDER / subject / sequence
    if plan["label"] is not None:
        emotion_dir.mkdir(parents=True, exist_ok=True)
        (emotion_dir / f"{last}_emotion.txt").write_text(format_emotion(plan["label"]))
    elif plan["empty_emotion_folder"]:
        emotion_dir.mkdir(parents=True, exist_ok=True)
    facs_dir = root / FACS_FOLDER / subject / sequence
    facs_dir.mkdir(parents=True, exist_ok=True)
    rows = [f"   {au:.7e}   {0.0:.7e}" for au in _ACTION_UNITS[plan["posed"]]]
    (facs_dir / f"{last}_facs.txt").write_text("\n".join(rows) + "\n")


def write_ck_plus_layout(
    root: Path,
    *,
    num_subjects: int,
    sequences_per_subject: int | tuple[int, int],
    frames_per_sequence: int | tuple[int, int],
    seed: int = 0,
    image_size: tuple[int, int] = (490, 640),
) -> dict:
    """Writes a synthetic CK+ release under `root`.

    Args:
      root: output folder; created if needed. It must be empty or an earlier
        output of this function (which is then replaced).
      num_subjects: people, each with their own `S###` folder.
      sequences_per_subject: sequences per person, or an inclusive range.
      frames_per_sequence: frames per sequence (at least 4, so that the first
        and the last three frames differ), or an inclusive range.
      seed: everything written is a deterministic function of the arguments.
      image_size: (height, width) of the gray frames; colour frames are 10 rows
        shorter at CK+'s size.

    Returns:
      A summary, also written to `MARKER_FILENAME`: per sequence its subject,
      number, label (None if unlabelled), frames and colour; the labelled
      sequences per label; and `images`, what the builder should yield before
      face detection (4 per labelled sequence).
    """
    frames = _range(frames_per_sequence)
    if frames[0] < 4:
        raise ValueError(f"frames_per_sequence must be at least 4, got {frames_per_sequence}.")
    root = Path(root)
    owned = (IMAGES_FOLDER, EMOTION_FOLDER, FACS_FOLDER)
    output_folder.prepare(root, MARKER_FILENAME, owned, "CK+")
    arguments = dict(
        num_subjects=num_subjects,
        sequences_per_subject=sequences_per_subject,
        frames_per_sequence=frames_per_sequence,
        seed=seed,
        image_size=list(image_size),
    )
    marker = root / MARKER_FILENAME
    marker.write_text(json.dumps(dict(complete=False, arguments=arguments)))

    start = time.monotonic()
    root_seed = np.random.SeedSequence(seed)
    plan_rng = np.random.default_rng(root_seed.spawn(1)[0])
    # Subject numbers with gaps, as in CK+ (S005, S010, S011, ...).
    numbers = np.sort(plan_rng.choice(np.arange(5, 1000), num_subjects, replace=False))
    height, width = image_size
    sequences = []
    for index, (number, subject_seed) in enumerate(
        zip(numbers, root_seed.spawn(num_subjects), strict=True)
    ):
        subject = f"S{number:03d}"
        rng = np.random.default_rng(subject_seed)
        identity = portrait_renderer.random_identity(rng)
        placement = (
            width * rng.uniform(0.40, 0.60),
            height * rng.uniform(0.42, 0.50),
            width * rng.uniform(0.13, 0.16),
        )
        for plan in _plan_subject(index, rng, _range(sequences_per_subject)):
            num_frames = int(rng.integers(frames[0], frames[1] + 1))
            _write_sequence(root, subject, plan, identity, placement, num_frames, image_size, rng)
            sequences.append(
                dict(
                    subject=subject,
                    sequence=plan["sequence"],
                    label=plan["label"],
                    frames=num_frames,
                    colour=plan["colour"],
                )
            )
    labelled = [s for s in sequences if s["label"] is not None]
    summary = dict(
        root=str(root),
        arguments=arguments,
        subjects=len(numbers),
        sequences=sequences,
        labelled_sequences=len(labelled),
        labelled_per_label={
            str(code): sum(s["label"] == code for s in labelled) for code in CK_PLUS_LABEL_COUNTS
        },
        frames=sum(s["frames"] for s in sequences),
        images=4 * len(labelled),
        seconds=round(time.monotonic() - start, 2),
    )
    marker.write_text(json.dumps(dict(complete=True, **summary), indent=1))
    logging.info(
        "Synthetic CK+ written to %s in %.1f s: %d subjects, %d sequences (%d labelled), %d frames",
        root,
        summary["seconds"],
        summary["subjects"],
        len(sequences),
        len(labelled),
        summary["frames"],
    )
    return summary

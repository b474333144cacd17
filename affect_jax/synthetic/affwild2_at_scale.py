"""A synthetic Aff-Wild2 VA release at the paper's size (or any fraction of it), fast.

    python -m affect_jax.synthetic --out=/data/affwild2_full --preset=paper_scale
    python -m affect_jax.synthetic --out=/data/affwild2_4pc --frames=65000

Same raw layout and quirks as `affwild2_layout` (which the `affwild2` builder
reads unchanged), at the counts of the paper: 350 training and 70 validation
videos of ~1,000-9,000 frames, 1,620,421 usable training frames. Learnability
does not matter at this size, speed does: faces are rendered once into a pool
(identities x a valence-arousal grid x head poses, JPEG-encoded once) and each
frame is the pool entry nearest its label, so the release is written at file
-writing speed. Validation videos draw from identities of their own.

The labels are skewed like Aff-Wild2's (`skewed_labels`): a sharp peak near
neutral where annotators rest, a dense core of mild positive valence and
arousal, and a broad rest. On the paper's counts the VA-bin subsets then keep
about the paper's shares of the training frames (subset 1 78%, subset 2 6%,
subset 3 64%), so the balancing stage does the paper's work.

The quirk rates are chosen, not measured (REFERENCE.md gives none): ~1% of
frames labelled exactly (0, 0), ~2% unannotated (-5) rows, ~3% of frames with
no image, each in runs; one video in three has one annotation line too many.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import cv2
import numpy as np
from absl import logging

from affect_jax.synthetic import affwild2_layout, face_renderer

PAPER_TRAIN_FRAMES = 1_620_421  # Usable (annotated, with an image) training frames.
PAPER_TRAIN_VIDEOS = 350
PAPER_VALIDATION_VIDEOS = 70
_FRAMES_PER_VIDEO = (1_000, 9_000)
# Pool: identities (the last `_VALIDATION_IDENTITIES` for validation only),
# a valence-arousal grid per axis, and head poses: 243 faces per identity.
_IDENTITIES = 48
_VALIDATION_IDENTITIES = 8
_GRID = 9
_POSES = (-2.0, 0.0, 2.0)
# Where annotators rest (inside one 0.05-wide bin of the 40x40 grid), and the
# mixture of segment kinds that reproduces Aff-Wild2's subset shares.
_REST_POINT = (0.025, 0.075)
_SEGMENT_SHARES = {"rest": 0.13, "core": 0.58, "broad": 0.29}
_CORE_CENTRE, _CORE_SPREAD, _CORE_WAVE = (0.2, 0.15), 0.05, 0.1
_SEGMENT_FRAMES = (100, 800)
# Quirk rates: share of frames, and run lengths (frames).
_ZERO_SHARE, _ZERO_RUN = 0.01, (5, 40)
_UNANNOTATED_SHARE, _UNANNOTATED_RUN = 0.02, (10, 200)
_MISSING_SHARE, _MISSING_RUN = 0.03, (1, 30)
_LOG_EVERY_S = 5.0


@dataclasses.dataclass(frozen=True)
class ScalePlan:
    """How many videos and frames a release of `train_frames` usable training frames has."""

    train_frames: int
    num_train_videos: int
    num_validation_videos: int

    @classmethod
    def for_frames(cls, train_frames: int) -> ScalePlan:
        if train_frames < 1_000:
            raise ValueError(f"--frames={train_frames}: ask for at least 1,000 training frames.")
        share = train_frames / PAPER_TRAIN_FRAMES
        num_train = max(2, round(PAPER_TRAIN_VIDEOS * share))
        return cls(train_frames, num_train, max(1, round(PAPER_VALIDATION_VIDEOS * share)))


def _smooth(n: int, rng: np.random.Generator, period_range: tuple[float, float]) -> np.ndarray:
    """A slow wave in [-1, 1]: two sinusoids of random periods and phases."""
    t = np.arange(n)
    wave = sum(
        np.sin(2 * np.pi * t / rng.uniform(*period_range) + rng.uniform(0, 2 * np.pi))
        for _ in range(2)
    )
    return wave / 2


def skewed_labels(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) valence-arousal labels in [-1, 1], skewed like Aff-Wild2's.

    The video is cut into segments of a few hundred frames, each one of: a
    rest at `_REST_POINT` (a little jitter, inside one bin), a mild core
    around (0.2, 0.15) that moves slowly, or a broad excursion anywhere.
    """
    labels = np.empty((n, 2))
    kinds = list(_SEGMENT_SHARES)
    shares = np.array(list(_SEGMENT_SHARES.values()))
    start = 0
    while start < n:
        stop = min(n, start + int(rng.integers(*_SEGMENT_FRAMES)))
        length = stop - start
        kind = kinds[rng.choice(len(kinds), p=shares)]
        if kind == "rest":
            segment = np.array(_REST_POINT) + rng.uniform(-0.015, 0.015, size=(length, 2))
        elif kind == "core":
            centre = rng.normal(_CORE_CENTRE, _CORE_SPREAD)
            segment = centre + _CORE_WAVE * np.stack([_smooth(length, rng, (50, 400))] * 2, 1)
        else:
            centre = rng.normal((0.15, 0.1), (0.35, 0.3))
            waves = [_smooth(length, rng, (100, 1000)) for _ in range(2)]
            segment = centre + rng.uniform(0.1, 0.4) * np.stack(waves, 1)
        labels[start:stop] = segment
        start = stop
    return np.clip(labels, -1.0, 1.0)


def _runs(n: int, share: float, run: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A boolean mask over n frames covering about `share` of them in runs."""
    mask = np.zeros(n, bool)
    mean_run = sum(run) / 2
    for _ in range(rng.poisson(share * n / mean_run)):
        length = int(rng.integers(run[0], run[1] + 1))
        first = int(rng.integers(0, max(1, n - length)))
        mask[first : first + length] = True
    return mask


class FacePool:
    """Each identity's faces (valence x arousal grid x poses, JPEG-encoded), rendered
    the first time a video of that identity needs them: a small release renders only
    the identities it uses."""

    def __init__(self, seed: int):
        self._seed = seed
        self._faces: dict[int, list[bytes]] = {}

    def faces(self, identity: int) -> list[bytes]:
        """The identity's faces in `_pool_index` order (its valence, arousal and pose)."""
        if identity not in self._faces:
            self._faces[identity] = self._render(identity)
        return self._faces[identity]

    def _render(self, identity: int) -> list[bytes]:
        # One stream per identity: the same faces whichever video asks first.
        rng = np.random.default_rng([self._seed, 1, identity])
        person = face_renderer.random_identity(rng)
        grid = np.linspace(-1.0, 1.0, _GRID)
        faces = []
        for valence in grid:
            for arousal in grid:
                for pose in _POSES:
                    image = face_renderer.render_face(person, valence, arousal, pose, 0.0, rng)
                    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
                    assert ok, "OpenCV could not encode a JPEG"
                    faces.append(jpeg.tobytes())
        return faces


def _pool_index(labels: np.ndarray, pose: np.ndarray) -> np.ndarray:
    cells = np.rint((labels + 1.0) / 2.0 * (_GRID - 1)).astype(int)
    return (cells[:, 0] * _GRID + cells[:, 1]) * len(_POSES) + pose


def _write_video(
    root: Path, split: str, name: str, num_frames: int, identity: int, pool: FacePool, rng
) -> dict:
    """Writes one video's frames and VA file; returns its counts."""
    labels = skewed_labels(num_frames + 1, rng)
    labels[_runs(num_frames + 1, _ZERO_SHARE, _ZERO_RUN, rng)] = 0.0
    unannotated = _runs(num_frames + 1, _UNANNOTATED_SHARE, _UNANNOTATED_RUN, rng)
    missing = _runs(num_frames, _MISSING_SHARE, _MISSING_RUN, rng)
    # The face follows its label with some noise, as in `affwild2_layout`.
    shown = np.clip(labels[:num_frames] + rng.normal(0, 0.15, (num_frames, 2)), -1, 1)
    pose = np.digitize(_smooth(num_frames, rng, (200, 2000)), (-0.33, 0.33))
    entries = _pool_index(shown, pose)
    faces = pool.faces(identity)

    frame_dir = root / "cropped_aligned" / name
    frame_dir.mkdir(parents=True, exist_ok=True)
    for i in np.flatnonzero(~missing).tolist():
        with open(frame_dir / f"{i + 1:05d}.jpg", "wb") as file:
            file.write(faces[entries[i]])

    num_lines = num_frames + 1 if rng.random() < 1 / 3 else num_frames
    rounded = np.round(labels[:num_lines], 3) + 0.0  # No "-0.000" in the real files.
    lines = [
        affwild2_layout.UNANNOTATED if skip else f"{v:.3f},{a:.3f}"
        for (v, a), skip in zip(rounded.tolist(), unannotated[:num_lines].tolist(), strict=True)
    ]
    annotation = (
        root / "annotations" / "VA_Set" / affwild2_layout.SPLIT_FOLDERS[split] / f"{name}.txt"
    )
    annotation.parent.mkdir(parents=True, exist_ok=True)
    annotation.write_text("\n".join([affwild2_layout.HEADER, *lines]) + "\n")
    with_image = np.zeros(num_lines, bool)
    with_image[: min(num_lines, num_frames)] = ~missing[:num_lines]
    return dict(
        split=split,
        identity_id=identity,
        frames=num_frames,
        images=int((~missing).sum()),
        annotation_lines=num_lines,
        unannotated_rows=int(unannotated[:num_lines].sum()),
        missing_images=int(missing.sum()),
        neutral_rows=int((~unannotated[:num_lines] & (rounded == 0).all(1)).sum()),
        usable_frames=int((with_image & ~unannotated[:num_lines]).sum()),
    )


def _video_lengths(plan: ScalePlan, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """Frames per training and validation video; training ones sum to about the plan's
    usable frames once the quirks are taken out."""
    usable_share = (1 - _UNANNOTATED_SHARE) * (1 - _MISSING_SHARE)
    train = rng.uniform(*_FRAMES_PER_VIDEO, plan.num_train_videos)
    train[1] = train[0]  # The two people of `video_names`'s first video.
    train *= plan.train_frames / usable_share / train.sum()
    validation = rng.uniform(*_FRAMES_PER_VIDEO, plan.num_validation_videos)
    validation *= train.mean() / validation.mean()
    return [max(50, round(n)) for n in train], [max(50, round(n)) for n in validation]


def write_release(root: Path, train_frames: int = PAPER_TRAIN_FRAMES, seed: int = 0) -> dict:
    """Writes the release under `root` (empty, new, or an earlier synthetic output).

    Returns the same summary as `affwild2_layout.write_affwild2_layout` (per
    split and per video counts, frames/s), also written to its marker file,
    which says `complete: false` until the last file is written.
    """
    plan = ScalePlan.for_frames(train_frames)
    root = Path(root)
    affwild2_layout.prepare_root(root)
    arguments = dict(preset="paper_scale", train_frames=train_frames, seed=seed)
    marker = root / affwild2_layout.MARKER_FILENAME
    marker.write_text(json.dumps(dict(complete=False, arguments=arguments)))
    start = time.monotonic()
    pool = FacePool(seed)

    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])
    names = affwild2_layout.video_names(plan.num_train_videos, plan.num_validation_videos, rng)
    train_lengths, validation_lengths = _video_lengths(plan, rng)
    lengths = [*train_lengths, *validation_lengths]
    train_identities = _IDENTITIES - _VALIDATION_IDENTITIES
    total, done, last_log = sum(lengths), 0, time.monotonic()
    videos = {}
    for k, ((split, name), num_frames) in enumerate(zip(names, lengths, strict=True)):
        identity = (
            k % train_identities
            if split == "train"
            else train_identities + k % _VALIDATION_IDENTITIES
        )
        videos[name] = _write_video(root, split, name, num_frames, identity, pool, rng)
        done += num_frames
        if time.monotonic() - last_log > _LOG_EVERY_S:
            rate = done / (time.monotonic() - start)
            logging.info(
                "Synthetic Aff-Wild2 at scale: video %d/%d, %d/%d frames, %.0f frames/s, "
                "ETA %.0f s", k + 1, len(names), done, total, rate, (total - done) / rate,
            )  # fmt: skip
            last_log = time.monotonic()

    frames = sum(v["frames"] for v in videos.values())
    keys = list(affwild2_layout.COUNTS)
    summary = affwild2_layout.complete_summary(root, arguments, videos, keys, frames, start)
    logging.info("Synthetic Aff-Wild2 at scale written to %s in %.1f s", root, summary["seconds"])
    return summary

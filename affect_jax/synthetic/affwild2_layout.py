"""Writes synthetic face videos in the exact raw Aff-Wild2 layout (VA, EXPR, AU sets).

The output is what the ABAW 2020 release looks like on disk, so the real
`affwild2` builder builds it unchanged:

    root/cropped_aligned/<video>/00001.jpg ...            112x112 BGR JPEG
    root/annotations/VA_Set/Training_Set/<video>.txt      "valence,arousal"
    root/annotations/VA_Set/Validation_Set/<video>.txt    then one "v,a" per frame

Each video shows its own person (validation people never appear in training)
following a smooth valence-arousal trajectory. The labels are the smooth
values; the rendered expression is the label plus per-frame noise, so a model
that pools over time can beat a single-frame model, as on the real data.

The quirks of the real release are reproduced on purpose, because the builder
must handle them: stretches of `-5,-5` (unannotated) rows, frames with no image
(no face detected), annotation files one line longer than the video, and
names such as `118-30-640x480`, `video12` and `video10_left`/`video10_right`.

On request (`tasks`), expression and AU files in the ABAW 2020 folders
(`EXPR_Set`, `AU_Set`) follow the same trajectory by a fixed rule
(`_expression_classes`, `_action_units`), with their own stretches of `-1`
rows, and some videos have no file of a task, as in the real sets. They are
drawn from a random stream of their own: the VA output is the same with or
without them.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
from absl import logging

from affect_jax.synthetic import face_renderer, task_labels

# Written first and completed last; marks a folder as ours, so that
# regenerating may delete it while foreign folders are never touched.
MARKER_FILENAME = "SYNTHETIC_AFFWILD2.json"
HEADER = "valence,arousal"
UNANNOTATED = "-5,-5"
# Task -> ABAW 2020 annotation folder; "va" is always written.
TASK_FOLDERS = {"va": "VA_Set", "expr": "EXPR_Set", "au": "AU_Set"}
SPLIT_FOLDERS = {"train": "Training_Set", "validation": "Validation_Set"}
_LOG_EVERY_S = 5.0
# Per-video counts that the summary also totals per split.
COUNTS = ("frames", "images", "annotation_lines", "unannotated_rows", "missing_images",
           "neutral_rows", "usable_frames")  # fmt: skip
_TASK_COUNTS = ("annotation_lines", "unannotated_rows", "usable_frames")

PRESETS: dict[str, dict] = {
    # A few minutes of CPU training reaches a useful CCC on this.
    "quickstart": dict(
        num_train_videos=32, num_validation_videos=10, frames_per_video=(250, 300), label_noise=0.15
    ),
    # For tests: builds in about a second.
    "tiny": dict(
        num_train_videos=20, num_validation_videos=4, frames_per_video=(20, 30), label_noise=0.15
    ),
}


@dataclasses.dataclass
class _VideoPlan:
    """Everything decided about one video before drawing it."""

    name: str
    split: str
    seed: np.random.SeedSequence
    num_frames: int
    index_in_split: int = 0
    one_line_longer: bool = False
    unannotated: list[range] = dataclasses.field(default_factory=list)
    missing: list[range] = dataclasses.field(default_factory=list)
    neutral: list[range] = dataclasses.field(default_factory=list)


def _random_run(rng: np.random.Generator, n: int, lo: int, hi: int) -> range:
    """A run of lo..hi consecutive frame indices (0-based) inside [0, n)."""
    length = int(rng.integers(lo, hi + 1))
    start = int(rng.integers(0, max(1, n - length)))
    return range(start, min(n, start + length))


def video_names(
    num_train: int, num_validation: int, rng: np.random.Generator
) -> list[tuple[str, str]]:
    """Names in the real patterns, with one two-person video in training."""
    numbers = iter(rng.permutation(np.arange(1, 1000)))
    resolutions = ["640x360", "640x480", "1280x720", "1920x1080", "480x360"]

    def one_name(k: int) -> str:
        number = int(next(numbers))
        if k % 2 == 0:
            return f"{number}-{rng.choice([25, 30])}-{rng.choice(resolutions)}"
        return f"video{number}"

    names = []
    if num_train >= 2:
        pair = f"video{int(next(numbers))}"
        names += [("train", f"{pair}_left"), ("train", f"{pair}_right")]
    names += [("train", one_name(k)) for k in range(num_train - len(names))]
    names += [("validation", one_name(k)) for k in range(num_validation)]
    return names


def _plan_videos(
    num_train: int, num_validation: int, frames: int | tuple[int, int], seed: int
) -> list[_VideoPlan]:
    lo, hi = (frames, frames) if isinstance(frames, int) else frames
    root_seed = np.random.SeedSequence(seed)
    plan_rng = np.random.default_rng(root_seed.spawn(1)[0])
    names = video_names(num_train, num_validation, plan_rng)
    video_seeds = root_seed.spawn(len(names))
    plans = []
    for index_in_split, ((split, name), video_seed) in enumerate(
        zip(names, video_seeds, strict=True)
    ):
        if split == "validation":
            index_in_split -= num_train
        n = int(plan_rng.integers(lo, hi + 1))
        if name.endswith("_right"):
            n = plans[-1].num_frames  # Both people of one video share its length.
        plan = _VideoPlan(
            name=name, split=split, seed=video_seed, num_frames=n, index_in_split=index_in_split
        )
        # Quirks assigned by position so that even the tiny preset has each of
        # them in both splits; their place in the video is random.
        if index_in_split % 3 == 0:
            plan.unannotated.append(_random_run(plan_rng, n, 3, max(4, n // 12)))
        if index_in_split % 3 != 2:
            for _ in range(int(plan_rng.integers(1, 3))):
                plan.missing.append(_random_run(plan_rng, n, 1, 5))
        if index_in_split % 3 == 1:
            plan.one_line_longer = True
        if index_in_split % 5 == 4:
            plan.neutral.append(_random_run(plan_rng, n, 3, 6))
        plans.append(plan)
    return plans


def _smooth_signal(n: int, rng: np.random.Generator, offset: float, amplitude: float) -> np.ndarray:
    """A sum of three slow sinusoids scaled to offset +- amplitude."""
    t = np.arange(n, dtype=np.float64)
    signal = np.zeros(n)
    for _ in range(3):
        period = rng.uniform(max(n / 4.0, 20.0), max(1.5 * n, 40.0))
        signal += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    signal /= max(np.abs(signal).max(), 1e-6)
    return offset + amplitude * signal


def format_label(value: float) -> str:
    # Adding 0.0 turns a rounded -0.0 into 0.0: the real files have no "-0.000".
    return f"{round(float(value), 3) + 0.0:.3f}"


def _write_other_tasks(
    plan: _VideoPlan, root: Path, labels: np.ndarray, num_lines: int, usable: set[int], tasks
) -> dict:
    """Writes the video's EXPR and AU files; returns their counts per task."""
    # A stream of its own (a grandchild of the video's seed) leaves the VA
    # output unchanged, and each task's rows do not depend on `tasks`.
    rng = np.random.default_rng(
        np.random.SeedSequence(plan.seed.entropy, spawn_key=(*plan.seed.spawn_key, 1))
    )
    written = np.round(labels[:num_lines], 3)  # The rule sees what the VA file says.
    rows = {
        "expr": [str(c) for c in task_labels.expression_classes(written).tolist()],
        "au": [",".join(map(str, r)) for r in task_labels.action_units(written).tolist()],
    }
    sentinels = {"expr": "-1", "au": ",".join(["-1"] * len(task_labels.AU_HEADER.split(",")))}
    headers = {"expr": task_labels.EXPR_HEADER, "au": task_labels.AU_HEADER}
    counts = {}
    for offset, task in enumerate(("expr", "au")):
        unannotated = _random_run(rng, num_lines, 3, max(4, num_lines // 10))
        # Other quirks than VA's (index % 3 == 0); one video in four has no file.
        has_gap = plan.index_in_split % 3 != 0
        if task not in tasks or plan.index_in_split % 4 == 2 + offset:
            continue
        lines = [
            sentinels[task] if has_gap and i in unannotated else row
            for i, row in enumerate(rows[task])
        ]
        folder = root / "annotations" / TASK_FOLDERS[task] / SPLIT_FOLDERS[plan.split]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{plan.name}.txt").write_text("\n".join([headers[task], *lines]) + "\n")
        labelled = {i for i, line in enumerate(lines) if line != sentinels[task]}
        counts[task] = dict(
            annotation_lines=num_lines,
            unannotated_rows=num_lines - len(labelled),
            usable_frames=len(labelled & usable),
            labelled=labelled,
        )
    return counts


def _write_video(
    plan: _VideoPlan, root: Path, label_noise: float, identity_id: int, tasks=("va",)
) -> dict:
    """Renders one video and writes its frames and annotation file."""
    rng = np.random.default_rng(plan.seed)
    identity = face_renderer.random_identity(rng)
    n = plan.num_frames
    # Positive valence is more common than negative in Aff-Wild2.
    valence = _smooth_signal(n + 1, rng, rng.uniform(-0.15, 0.35), rng.uniform(0.55, 0.95))
    arousal = _smooth_signal(n + 1, rng, rng.uniform(-0.25, 0.25), rng.uniform(0.55, 0.95))
    labels = np.clip(np.stack([valence, arousal], axis=1), -1.0, 1.0)
    for run in plan.neutral:
        labels[run.start : run.stop] = 0.0
    expression = labels + rng.normal(0.0, label_noise, size=labels.shape)
    head = np.stack([_smooth_signal(n, rng, 0.0, rng.uniform(0.5, 3.0)) for _ in range(2)], axis=1)

    missing = {i for run in plan.missing for i in run}
    unannotated = {i for run in plan.unannotated for i in run}
    frame_dir = root / "cropped_aligned" / plan.name
    frame_dir.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        image = face_renderer.render_face(
            identity, expression[i, 0], expression[i, 1], head[i, 0], head[i, 1], rng
        )
        if i in missing:
            continue  # Drawn anyway so the random stream does not depend on it.
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok, "OpenCV could not encode a JPEG"
        (frame_dir / f"{i + 1:05d}.jpg").write_bytes(jpeg.tobytes())

    num_lines = n + 1 if plan.one_line_longer else n
    lines = [HEADER]
    for i in range(num_lines):
        lines.append(
            UNANNOTATED
            if i in unannotated
            else f"{format_label(labels[i, 0])},{format_label(labels[i, 1])}"
        )
    annotation = root / "annotations" / "VA_Set" / SPLIT_FOLDERS[plan.split] / f"{plan.name}.txt"
    annotation.parent.mkdir(parents=True, exist_ok=True)
    annotation.write_text("\n".join(lines) + "\n")

    usable = [i for i in range(num_lines) if i < n and i not in missing and i not in unannotated]
    identity_fields = dataclasses.asdict(identity)
    del identity_fields["background"]
    task_counts = {}
    if len(tasks) > 1:
        with_image = {i for i in range(n) if i not in missing}
        others = _write_other_tasks(plan, root, labels, num_lines, with_image, tasks)
        labelled = set(usable).union(*(c.pop("labelled") for c in others.values()))
        for task, counts in others.items():
            task_counts.update({f"{task}_{key}": value for key, value in counts.items()})
        task_counts["multitask_usable_frames"] = len(labelled & with_image)
    return dict(
        split=plan.split,
        identity_id=identity_id,
        identity=identity_fields,
        frames=n,
        images=n - len(missing),
        annotation_lines=num_lines,
        unannotated_rows=len(unannotated),
        missing_images=len(missing),
        neutral_rows=sum(len(r) for r in plan.neutral),
        usable_frames=len(usable),
        **task_counts,
    )


def prepare_root(root: Path) -> None:
    """Refuses a foreign non-empty folder; clears a previous synthetic output."""
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER_FILENAME).exists():
            raise FileExistsError(
                f"{root} is not empty and is not a synthetic Aff-Wild2 output (no "
                f"{MARKER_FILENAME}); refusing to write into it. Pick an empty or "
                "new folder."
            )
        # Stale videos of a larger earlier run would otherwise survive.
        for sub in ("cropped_aligned", "annotations"):
            shutil.rmtree(root / sub, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)


def write_affwild2_layout(
    root: Path,
    *,
    num_train_videos: int,
    num_validation_videos: int,
    frames_per_video: int | tuple[int, int],
    label_noise: float = 0.15,
    seed: int = 0,
    tasks: tuple[str, ...] = ("va",),
) -> dict:
    """Writes a synthetic Aff-Wild2 VA release under `root`.

    Args:
      root: output folder; created if needed. It must be empty or a previous
        output of this function (whose videos are then replaced).
      num_train_videos: videos in `Training_Set`.
      num_validation_videos: videos in `Validation_Set`, all of new people.
      frames_per_video: frames per video, or an inclusive (low, high) range
        drawn per video.
      label_noise: standard deviation of the per-frame noise added to the
        label before rendering (the written label stays smooth).
      seed: everything written is a deterministic function of the arguments.
      tasks: the annotation sets to write, among `TASK_FOLDERS`; "va" is
        always one of them. Adding "expr" or "au" leaves the VA files as
        they were.

    Returns:
      A summary: per split the videos, frames, images, annotation lines,
      unannotated (-5) rows, missing images and usable frames (annotated and
      with an image: what the builder should yield); and per video the same
      plus its identity. The summary is also written to `MARKER_FILENAME`.
      With more tasks, also `<task>_annotation_lines`, `<task>_unannotated_rows`
      and `<task>_usable_frames` per task, and `multitask_usable_frames`
      (frames with an image and any label).

    Raises:
      FileExistsError: if `root` holds something other than our output.
      ValueError: for unknown tasks or tasks without "va".
    """
    tasks = tuple(tasks)
    if "va" not in tasks or not set(tasks) <= set(TASK_FOLDERS):
        raise ValueError(f"tasks must include 'va' and be among {list(TASK_FOLDERS)}: {tasks}")
    root = Path(root)
    prepare_root(root)
    arguments = dict(
        num_train_videos=num_train_videos,
        num_validation_videos=num_validation_videos,
        frames_per_video=frames_per_video,
        label_noise=label_noise,
        seed=seed,
    )
    if tasks != ("va",):  # Only then: default outputs stay byte for byte as before.
        arguments["tasks"] = list(tasks)
    marker = root / MARKER_FILENAME
    marker.write_text(json.dumps(dict(complete=False, arguments=arguments)))

    plans = _plan_videos(num_train_videos, num_validation_videos, frames_per_video, seed)
    total = sum(p.num_frames for p in plans)
    videos, done, start, last_log = {}, 0, time.monotonic(), time.monotonic()
    for identity_id, plan in enumerate(plans):
        videos[plan.name] = _write_video(plan, root, label_noise, identity_id, tasks)
        done += plan.num_frames
        now = time.monotonic()
        if now - last_log > _LOG_EVERY_S:
            rate = done / (now - start)
            logging.info(
                "Synthetic Aff-Wild2: %d/%d frames, %.0f frames/s, ETA %.0f s",
                done,
                total,
                rate,
                (total - done) / rate,
            )
            last_log = now

    keys = list(COUNTS)
    if len(tasks) > 1:
        keys += [f"{t}_{key}" for t in tasks if t != "va" for key in _TASK_COUNTS]
        keys.append("multitask_usable_frames")
    summary = complete_summary(root, arguments, videos, keys, total, start)
    logging.info(
        "Synthetic Aff-Wild2 written to %s in %.1f s (%d frames/s): %s",
        root,
        summary["seconds"],
        summary["frames_per_second"],
        json.dumps(summary["splits"]),
    )
    return summary


def complete_summary(
    root: Path, arguments: dict, videos: dict, keys: list[str], frames: int, start: float
) -> dict:
    """Per-split totals of the videos' counts `keys`, written to the marker as complete."""
    splits = {}
    for split in SPLIT_FOLDERS:
        rows = [v for v in videos.values() if v["split"] == split]
        splits[split] = {key: sum(v.get(key, 0) for v in rows) for key in keys}
        splits[split]["videos"] = len(rows)
    elapsed = time.monotonic() - start
    summary = dict(
        root=str(root),
        arguments=arguments,
        splits=splits,
        videos=videos,
        seconds=round(elapsed, 2),
        frames_per_second=round(frames / max(elapsed, 1e-9)),
    )
    (root / MARKER_FILENAME).write_text(json.dumps(dict(complete=True, **summary), indent=1))
    return summary


def summary_is_complete(root: Path) -> bool:
    """Whether `root` holds a finished synthetic output."""
    marker = Path(root) / MARKER_FILENAME
    return marker.exists() and bool(json.loads(marker.read_text()).get("complete"))

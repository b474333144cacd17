"""Finds each task's annotation files per split and joins them frame by frame.

A single-task config is the join of one task. The multitask config joins
valence-arousal, expression and AUs: a frame gives a record if it has an
image and a label of at least one task, and the record says which tasks
label it (`has_va`, `has_expression`, `has_au`).

Splits: a split holds every video that has an annotation file of any task in
that split's folder, and a video's record in a split carries only the labels
of the files in that split. A video that is in training for one task and in
validation for another (the real ABAW sets never do this) therefore has
records in both splits, each with its own split's labels; such videos are
listed in the build report, so the overlap is never silent.
"""

from __future__ import annotations

import collections
import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np
from absl import logging

from data_builders.affwild2 import raw_layout
from data_builders.affwild2.tasks import FeatureArrays, Task
from data_builders.errors import RawDataMissingError

SPLITS = ("train", "validation")


@dataclasses.dataclass
class VideoAnnotations:
    """The parsed annotation files of one video in one split, by task name."""

    video: str
    by_task: dict[str, raw_layout.Annotation]

    @property
    def num_rows(self) -> int:
        """Lines of the longest file: the frames the video's files speak of."""
        return max(len(a.annotated) for a in self.by_task.values())


@dataclasses.dataclass
class Layout:
    """What was found in the manual dir for a config's tasks.

    Attributes:
      splits: {split: videos sorted by name}, for splits with any file.
      folders: {task name: {split: annotation folder}, or None if missing}.
    """

    splits: dict[str, list[VideoAnnotations]]
    folders: dict[str, dict[str, Path] | None]


def find_and_parse(manual_dir: Path, tasks: list[Task], *, require_all: bool) -> Layout:
    """Finds the tasks' folders and parses every annotation file in them.

    Parsing everything before any image is decoded makes a bad file fail the
    build in seconds.

    Args:
      manual_dir: the raw release.
      tasks: the config's tasks.
      require_all: fail if a task's folders are missing; otherwise skip that
        task (with a warning) as long as one task is found.

    Raises:
      FileNotFoundError: naming the folders looked for.
      ValueError: from `raw_layout.parse_annotation_file`.
    """
    folders: dict[str, dict[str, Path] | None] = {}
    errors = []
    for task in tasks:
        try:
            folders[task.name] = raw_layout.find_annotation_dirs(manual_dir, task.annotation_format)
        except FileNotFoundError as error:
            if require_all:
                raise
            folders[task.name] = None
            errors.append(str(error))
    if all(found is None for found in folders.values()):
        raise RawDataMissingError("\n".join(errors))
    for error in errors:
        logging.warning("Building without a task: %s", error)

    by_split: dict[str, dict[str, dict[str, raw_layout.Annotation]]] = {}
    for task in tasks:
        for split, directory in (folders[task.name] or {}).items():
            videos = by_split.setdefault(split, {})
            for video, path in raw_layout.list_videos(directory):
                annotation = raw_layout.parse_annotation_file(path, task.annotation_format)
                videos.setdefault(video, {})[task.name] = annotation
    splits = {
        split: [VideoAnnotations(v, by_split[split][v]) for v in sorted(by_split[split])]
        for split in SPLITS
        if split in by_split
    }
    return Layout(splits=splits, folders=folders)


def videos_in_several_splits(layout: Layout) -> dict[str, list[str]]:
    """{split: its videos that also have annotation files in another split}."""
    seen = collections.Counter(v.video for videos in layout.splits.values() for v in videos)
    return {
        split: [v.video for v in videos if seen[v.video] > 1]
        for split, videos in layout.splits.items()
    }


@dataclasses.dataclass
class JoinedVideo:
    """The records of one video, before their images are read.

    Attributes:
      video: the video name.
      frames: 1-based frame numbers, in order.
      features: {feature: array with one entry per frame}; absent labels hold
        the task's fill value.
      labelled: {task name: bool per frame}, whether the frame has its label.
      dropped: {reason: count} of annotation rows that gave no record.
      num_rows: annotation rows considered (lines of the longest file).
    """

    video: str
    frames: list[int]
    features: FeatureArrays
    labelled: dict[str, np.ndarray]
    dropped: Counter
    num_rows: int


def join_video(
    manual_dir: Path, annotations: VideoAnnotations, tasks: list[Task], *, presence: bool
) -> JoinedVideo:
    """Pairs row i of every task file of a video with frame i's image.

    Args:
      manual_dir: the raw release.
      annotations: the video's parsed files.
      tasks: every task of the config, found or not: each adds its features.
      presence: add a `has_<task>` bool feature per task.
    """
    num_rows = annotations.num_rows
    has_label = {}
    for task in tasks:
        rows = np.zeros(num_rows, np.bool_)
        if task.name in annotations.by_task:
            annotated = annotations.by_task[task.name].annotated
            rows[: len(annotated)] = annotated
        has_label[task.name] = rows
    any_label = np.logical_or.reduce(list(has_label.values()))
    images = raw_layout.list_frames(Path(manual_dir) / raw_layout.IMAGES_FOLDER / annotations.video)
    keep, dropped = raw_layout.select_rows(images, any_label)

    keep_rows = np.asarray(keep, np.int64)
    features: FeatureArrays = {}
    labelled = {}
    for task in tasks:
        present = has_label[task.name][keep_rows]
        labelled[task.name] = present
        annotation = annotations.by_task.get(task.name)
        encoded = task.encode(annotation) if annotation is not None else {}
        for name, fill in task.absent.items():
            column = np.repeat(fill[np.newaxis], len(keep), axis=0)
            if encoded:
                column[present] = encoded[name][keep_rows[present]]
            features[name] = column
        if presence:
            features[task.presence_feature] = present
    return JoinedVideo(
        video=annotations.video,
        frames=[row + 1 for row in keep],
        features=features,
        labelled=labelled,
        dropped=dropped,
        num_rows=num_rows,
    )

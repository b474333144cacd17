"""Aff-Wild2 (ABAW) as TFDS records: one example per annotated face frame.

Get the data: Aff-Wild2 is licensed; see `MANUAL_DOWNLOAD_INSTRUCTIONS`. Or
write the synthetic stand-in with `python -m affect_jax.synthetic --out=DIR`.

Build (no TensorFlow needed; `tfds build` does need it, so use ours):

    python -m affect_jax.build --dataset=affwild2/va --manual_dir=DIR --data_dir=~/tfds

Load:

    builder = tfds.builder("affwild2/va", data_dir="~/tfds")
    source = builder.as_data_source("train")   # random access, numpy dicts
    source[0]["image"].shape                    # (96, 96, 1) uint8

Records keep video and frame order (shuffling disabled), so consecutive
records of a video are consecutive frames, except where frames were left out
(no face, no annotation): check `frame` before treating records as a sequence.
Why frames were left out is counted in `build_report.json`, next to
`dataset_info.json`.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds
from absl import logging

from data_builders.affwild2 import frames, raw_layout, streaming_writer

# Beside dataset_info.json; affect_jax.build reads it back.
BUILD_REPORT_FILENAME = streaming_writer.BUILD_REPORT_FILENAME
# Threads decoding and re-encoding frames; OpenCV releases the GIL meanwhile.
DECODE_WORKERS = 4
_LOG_EVERY_S = 5.0

_HOMEPAGE = "https://ibug.doc.ic.ac.uk/resources/aff-wild2/"


@dataclasses.dataclass(eq=False, kw_only=True)
class Affwild2Config(tfds.core.BuilderConfig):
    """A task of Aff-Wild2: which annotations become which features.

    Attributes:
      annotation_format: how the task's annotation files look and where they are.
      label_names: one float32 feature per annotation field, in file order.
    """

    annotation_format: raw_layout.AnnotationFormat = raw_layout.VA
    label_names: tuple[str, ...] = ("valence", "arousal")


class _Progress:
    """Logs annotation lines done, frames per second and ETA every few seconds."""

    def __init__(self, name: str, total_lines: int):
        self._name, self._total = name, max(total_lines, 1)
        self._lines = self._frames = 0
        self._start = self._last = time.monotonic()

    def update(self, lines: int = 0, frames: int = 0) -> None:
        self._lines += lines
        self._frames += frames
        now = time.monotonic()
        if now - self._last >= _LOG_EVERY_S:
            self._last = now
            elapsed = now - self._start
            eta = elapsed * (self._total - self._lines) / max(self._lines, 1)
            logging.info(
                "%s: %d/%d annotation lines (%.1f%%), %.0f frames/s, ETA %.0f s",
                self._name,
                self._lines,
                self._total,
                100 * self._lines / self._total,
                self._frames / elapsed,
                eta,
            )


class Affwild2(streaming_writer.StreamingBuilderMixin, tfds.core.GeneratorBasedBuilder):
    """Aff-Wild2 face frames with their per-frame labels."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "VA set: 96x96 grayscale PNG faces, valence and arousal."}
    BUILDER_CONFIGS = [
        Affwild2Config(
            name="va",
            description="Valence-arousal estimation set.",
            annotation_format=raw_layout.VA,
            label_names=("valence", "arousal"),
        ),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
    Aff-Wild2 is distributed by the organisers of the ABAW challenges (Dimitrios
    Kollias, Stefanos Zafeiriou) to researchers who sign its End User License
    Agreement: see {_HOMEPAGE} and the ABAW competition pages. Extract the
    release so that the manual dir contains:
      cropped_aligned/<video>/00001.jpg ...
      annotations/VA_Set/{{Training_Set,Validation_Set}}/<video>.txt
    (later releases: annotations/VA_Estimation_Challenge/{{Train_Set,Validation_Set}},
    also accepted). For a synthetic stand-in in the same layout, run
    `python -m affect_jax.synthetic --out=DIR` and use DIR as the manual dir.
    """

    def __init__(self, *, file_format: str | None = None, **kwargs):
        # TFRecord, TFDS's default, cannot be written without TensorFlow;
        # ArrayRecord also gives Grain the random access it needs.
        super().__init__(file_format=file_format or "array_record", **kwargs)
        self._reports: dict[str, dict] = {}

    def _info(self) -> tfds.core.DatasetInfo:
        size = frames.MODEL_IMAGE_SIZE
        labels = {
            name: tfds.features.Scalar(np.float32) for name in self.builder_config.label_names
        }
        return self.dataset_info_from_configs(
            description="Aff-Wild2 in-the-wild videos, per-frame face crops and labels.",
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(size, size, 1), encoding_format="png"),
                    **labels,
                    "video": tfds.features.Text(),
                    "frame": tfds.features.Scalar(np.int32, doc="1-based frame number."),
                }
            ),
            homepage=_HOMEPAGE,
            # The temporal stage reads consecutive records as consecutive frames.
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = Path(dl_manager.manual_dir)  # Raises with the instructions if missing.
        fmt = self.builder_config.annotation_format
        if not (manual_dir / raw_layout.IMAGES_FOLDER).is_dir():
            raise FileNotFoundError(
                f"No {raw_layout.IMAGES_FOLDER}/ folder in {manual_dir}.\n"
                f"{self.MANUAL_DOWNLOAD_INSTRUCTIONS}"
            )
        try:
            split_dirs = raw_layout.find_annotation_dirs(manual_dir, fmt)
        except FileNotFoundError as error:
            raise FileNotFoundError(f"{error}\n{self.MANUAL_DOWNLOAD_INSTRUCTIONS}") from None
        # Parse every file before decoding any image: a bad file fails the
        # build in seconds, and the line total makes the ETA possible.
        annotations = {
            split: [
                (video, raw_layout.parse_annotation_file(path, fmt))
                for video, path in raw_layout.list_videos(directory)
            ]
            for split, directory in split_dirs.items()
        }
        total = sum(len(a.annotated) for videos in annotations.values() for _, a in videos)
        progress = _Progress(f"{self.name}/{self.builder_config.name}", total)
        return {
            split: self._generate_examples(split, manual_dir, videos, progress)
            for split, videos in annotations.items()
        }

    def _generate_examples(
        self,
        split: str,
        manual_dir: Path,
        videos: list[tuple[str, raw_layout.Annotation]],
        progress: _Progress,
    ) -> Iterator[tuple[int, dict]]:
        report = self._reports[split] = dict(
            examples=0,
            videos=len(videos),
            annotation_lines=0,
            dropped=collections.Counter(),
            videos_without_image_folder=[],
            corrupt_images=[],
        )

        def planned_frames():
            # Lazily, video by video: memory does not grow with the dataset.
            for video, annotation in videos:
                plan = raw_layout.pair_frames(manual_dir, video, annotation)
                report["annotation_lines"] += len(annotation.annotated)
                report["dropped"].update(plan.dropped)
                if raw_layout.NO_IMAGE_FOLDER in plan.dropped:
                    report["videos_without_image_folder"].append(video)
                progress.update(lines=len(annotation.annotated) - len(plan.frames))
                for frame, label in zip(plan.frames, plan.labels, strict=True):
                    yield video, frame, label

        def encode(item):
            video, frame, _ = item
            return frames.encode_frame(raw_layout.frame_path(manual_dir, video, frame))

        for (video, frame, label), png in frames.ordered_parallel_map(
            encode, planned_frames(), num_workers=DECODE_WORKERS
        ):
            progress.update(lines=1, frames=png is not None)
            if png is None:
                report["dropped"]["corrupt_image"] += 1
                report["corrupt_images"].append(
                    str(raw_layout.frame_path(manual_dir, video, frame))
                )
                continue
            example = {"image": png, "video": video, "frame": frame}
            example.update(zip(self.builder_config.label_names, label.tolist(), strict=True))
            # Integer keys in yield order: with shuffling disabled TFDS writes
            # records sorted by key.
            yield report["examples"], example
            report["examples"] += 1
        logging.info(
            "%s/%s %s: %s",
            self.name,
            self.builder_config.name,
            split,
            json.dumps(self._reports[split]),
        )
        if report["corrupt_images"]:
            logging.warning(
                "%d unreadable images skipped, e.g. %s",
                len(report["corrupt_images"]),
                report["corrupt_images"][:5],
            )

    def _report_json(self, report: dict) -> dict:
        return {**report, "dropped": dict(report["dropped"])}

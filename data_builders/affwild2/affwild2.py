"""Aff-Wild2 (ABAW) as TFDS records: one example per annotated face frame.

Configs (features besides `image`, `video`, `frame`):
  va         valence, arousal: float32 in [-1, 1]
  expr       expression: ClassLabel of 8 (Neutral ... Surprise, Other; ABAW
             2020 files never use 7, "Other")
  au         aus: int8 (13,), one slot per AU of `tasks.AU_NAMES` (the union
             of the 2020 and later AU sets); au_mask: bool (13,), the slots
             the record's release annotates (see `tasks`)
  multitask  all of the above, plus has_va, has_expression, has_au: bool.
             One record per frame with an image and any label; labels a
             frame lacks hold -5 (valence, arousal) or -1 (expression, aus).
             Splits as in `task_join`.

Get the data: Aff-Wild2 is licensed; see `MANUAL_DOWNLOAD_INSTRUCTIONS`. Or
write the synthetic stand-in with `python -m affect_jax.synthetic --out=DIR`
(VA only), or with expression and AU files too from Python:
`affwild2_layout.write_affwild2_layout(DIR, tasks=("va", "expr", "au"), ...)`.

Build (no TensorFlow needed; `tfds build` does need it, so use ours):

    python -m affect_jax.build --dataset=affwild2/multitask --manual_dir=DIR --data_dir=~/tfds

Load:

    builder = tfds.builder("affwild2/multitask", data_dir="~/tfds")
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

from data_builders.affwild2 import frames, raw_layout, streaming_writer, task_join, tasks
from data_builders.errors import RawDataMissingError

# Beside dataset_info.json; affect_jax.build reads it back.
BUILD_REPORT_FILENAME = streaming_writer.BUILD_REPORT_FILENAME
# Threads decoding and re-encoding frames; OpenCV releases the GIL meanwhile.
DECODE_WORKERS = 4
_LOG_EVERY_S = 5.0

_HOMEPAGE = "https://ibug.doc.ic.ac.uk/resources/aff-wild2/"


@dataclasses.dataclass(eq=False, kw_only=True)
class Affwild2Config(tfds.core.BuilderConfig):
    """Which Aff-Wild2 annotation sets become features.

    Attributes:
      tasks: names in `tasks.TASKS`. One task: a record per frame with its
        label. Several: records joined per frame, with `has_<task>` masks;
        a task whose folders are missing is then skipped with a warning.
    """

    tasks: tuple[str, ...] = ("va",)

    @property
    def task_list(self) -> list[tasks.Task]:
        """The `tasks.Task`s of this config, in order."""
        return [tasks.TASKS[name] for name in self.tasks]

    @property
    def joined(self) -> bool:
        """Whether records carry several tasks and their presence masks."""
        return len(self.tasks) > 1


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

    VERSION = tfds.core.Version("2.0.0")
    RELEASE_NOTES = {
        "1.0.0": "96x96 grayscale PNG faces; configs va, expr, au and multitask.",
        "2.0.0": "Pixels stored raw (ArrayRecord compresses them): records read ~2x faster "
        "than PNG ones, for ~1.3x the disk.",
    }
    BUILDER_CONFIGS = [
        Affwild2Config(name="va", description="Valence-arousal estimation set.", tasks=("va",)),
        Affwild2Config(
            name="expr",
            description="Expression recognition set: 7 basic expressions (+ Other after 2020).",
            tasks=("expression",),
        ),
        Affwild2Config(
            name="au",
            description="Action unit detection set: 8 AUs (2020) or 12 (later), in 13 slots.",
            tasks=("au",),
        ),
        Affwild2Config(
            name="multitask",
            description="Every frame with any VA, expression or AU label, with presence masks.",
            tasks=("va", "expression", "au"),
        ),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
    Aff-Wild2 is distributed by the organisers of the ABAW challenges (Dimitrios
    Kollias, Stefanos Zafeiriou) to researchers who sign its End User License
    Agreement: see {_HOMEPAGE} and the ABAW competition pages. Extract the
    release so that the manual dir contains:
      cropped_aligned/<video>/00001.jpg ...
      annotations/VA_Set/{{Training_Set,Validation_Set}}/<video>.txt
      annotations/EXPR_Set/... and annotations/AU_Set/... (same split folders)
    (later releases: annotations/VA_Estimation_Challenge, EXPR_Recognition_Challenge,
    AU_Detection_Challenge, each with {{Train_Set,Validation_Set}}, also accepted).
    A config needs its task's folders; multitask uses the tasks it finds.
    For a synthetic stand-in in the same layout, run
    `python -m affect_jax.synthetic --out=DIR` and use DIR as the manual dir.
    """

    def __init__(self, *, file_format: str | None = None, **kwargs):
        # TFRecord, TFDS's default, cannot be written without TensorFlow;
        # ArrayRecord also gives Grain the random access it needs.
        super().__init__(file_format=file_format or "array_record", **kwargs)
        self._reports: dict[str, dict] = {}

    def _info(self) -> tfds.core.DatasetInfo:
        size = frames.MODEL_IMAGE_SIZE
        config = self.builder_config
        labels = {}
        for task in config.task_list:
            labels.update(task.features())
            if config.joined:
                labels[task.presence_feature] = tfds.features.Scalar(
                    np.bool_, doc=f"Whether the {task.name} features are labels, not fill."
                )
        return self.dataset_info_from_configs(
            description="Aff-Wild2 in-the-wild videos, per-frame face crops and labels.",
            features=tfds.features.FeaturesDict(
                {
                    # Raw pixels, not PNG: the loader's PNG decode cost more than
                    # the read itself (benchmarks/loader.py); zstd keeps disk ~1.3x.
                    "image": tfds.features.Tensor(
                        shape=(size, size, 1), dtype=np.uint8, encoding=tfds.features.Encoding.BYTES
                    ),
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
        config = self.builder_config
        if not (manual_dir / raw_layout.IMAGES_FOLDER).is_dir():
            raise RawDataMissingError(
                f"No {raw_layout.IMAGES_FOLDER}/ folder in {manual_dir}.\n"
                f"{self.MANUAL_DOWNLOAD_INSTRUCTIONS}"
            )
        try:
            layout = task_join.find_and_parse(
                manual_dir, config.task_list, require_all=not config.joined
            )
        except FileNotFoundError as error:
            raise RawDataMissingError(f"{error}\n{self.MANUAL_DOWNLOAD_INSTRUCTIONS}") from None
        overlap = task_join.videos_in_several_splits(layout)
        if any(overlap.values()):
            logging.warning("Videos with annotation files in several splits: %s", overlap)
        total = sum(v.num_rows for videos in layout.splits.values() for v in videos)
        progress = _Progress(f"{self.name}/{config.name}", total)
        return {
            split: self._generate_examples(
                split, manual_dir, videos, progress, layout, overlap[split]
            )
            for split, videos in layout.splits.items()
        }

    def _generate_examples(
        self,
        split: str,
        manual_dir: Path,
        videos: list[task_join.VideoAnnotations],
        progress: _Progress,
        layout: task_join.Layout,
        in_several_splits: list[str],
    ) -> Iterator[tuple[int, dict]]:
        config = self.builder_config
        task_list = config.task_list
        tally = tasks.LabelTally()
        report = self._reports[split] = dict(
            examples=0,
            videos=len(videos),
            annotation_lines=0,
            dropped=collections.Counter(),
            labels={},
            videos_without_image_folder=[],
            corrupt_images=[],
            videos_in_several_splits=in_several_splits,
            annotation_folders={
                name: str(found[split]) if found and split in found else None
                for name, found in layout.folders.items()
            },
        )

        def planned_frames():
            # Lazily, video by video: memory does not grow with the dataset.
            for video_files in videos:
                joined = task_join.join_video(
                    manual_dir, video_files, task_list, presence=config.joined
                )
                report["annotation_lines"] += joined.num_rows
                report["dropped"].update(joined.dropped)
                if raw_layout.NO_IMAGE_FOLDER in joined.dropped:
                    report["videos_without_image_folder"].append(joined.video)
                progress.update(lines=joined.num_rows - len(joined.frames))
                for i, frame in enumerate(joined.frames):
                    labels = {name: values[i] for name, values in joined.features.items()}
                    labelled = [t for t in task_list if joined.labelled[t.name][i]]
                    yield joined.video, frame, labels, labelled

        def encode(item):
            video, frame, _, _ = item
            return frames.read_frame(raw_layout.frame_path(manual_dir, video, frame))

        for (video, frame, labels, labelled), image in frames.ordered_parallel_map(
            encode, planned_frames(), num_workers=DECODE_WORKERS
        ):
            progress.update(lines=1, frames=image is not None)
            if image is None:
                report["dropped"]["corrupt_image"] += 1
                report["corrupt_images"].append(
                    str(raw_layout.frame_path(manual_dir, video, frame))
                )
                continue
            tally.add(labels, labelled)
            example = {"image": image, **labels, "video": video, "frame": frame}
            # Integer keys in yield order: with shuffling disabled TFDS writes
            # records sorted by key.
            yield report["examples"], example
            report["examples"] += 1
        report["labels"] = tally.as_json(task_list)
        logging.info(
            "%s/%s %s: %s",
            self.name,
            config.name,
            split,
            json.dumps(self._report_json(report)),
        )
        if report["corrupt_images"]:
            logging.warning(
                "%d unreadable images skipped, e.g. %s",
                len(report["corrupt_images"]),
                report["corrupt_images"][:5],
            )

    def _report_json(self, report: dict) -> dict:
        return {**report, "dropped": dict(report["dropped"])}

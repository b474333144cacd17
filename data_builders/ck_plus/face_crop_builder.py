"""What the still-photo builders (CK+, JAFFE) share: find the face, crop it, report.

The largest face of each photograph is cut out by its framing
(`affect_jax.faces.framing`: `aligned`, the default, puts the eyes on the
template as video prediction does; `haar_box` is the paper's Haar box), 96x96
gray, stored as PNG. The framing is the config's, or the builder option
`framing=NAME`; the build records it in metadata.json and training runs copy
it, so that prediction frames faces the same way. Images too small for the
detector are searched upscaled, and taken whole where still no face is found
(`taken_whole` in the report). A larger photograph where no face is found is
handled by the config's `no_face_policy`: `skip` leaves it out, `center_crop`
keeps its centred square. Either way it is listed in `build_report.json`
(beside `dataset_info.json`) and in the build log, so that no image
disappears silently.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np
import tensorflow_datasets as tfds
from absl import logging

from affect_jax.faces import detect
from affect_jax.faces import framing as framing_lib
from data_builders.affwild2 import streaming_writer
from data_builders.errors import RawDataError

# Beside dataset_info.json; affect_jax.build reads it back.
BUILD_REPORT_FILENAME = streaming_writer.BUILD_REPORT_FILENAME
_LOG_EVERY_S = 5.0
# Why an image gives no example.
NO_FACE = "no_face"
UNREADABLE = "unreadable"


@dataclasses.dataclass(eq=False, kw_only=True)
class FaceCropConfig(tfds.core.BuilderConfig):
    """Which subjects go where, and how faces are cut out.

    Attributes:
      fold: the subject fold whose subjects form `test` (the rest `train`);
        None puts everything in one `test` split.
      num_folds: subject folds in all.
      no_face_policy: `skip` or `center_crop` (see `affect_jax.faces.detect`).
      face_margin: border added around the framed face, as a fraction of
        its size (0: the framing as named).
      framing: a name of `affect_jax.faces.framing.FRAMINGS`.
    """

    fold: int | None = None
    num_folds: int = 10
    no_face_policy: str = detect.SKIP
    face_margin: float = 0.0
    framing: str = framing_lib.DEFAULT_FRAMING


@dataclasses.dataclass
class CropReport:
    """What happened to the images of one split."""

    images: int = 0
    examples: int = 0
    subjects: list[str] = dataclasses.field(default_factory=list)
    dropped: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    no_face_images: list[str] = dataclasses.field(default_factory=list)
    center_cropped: list[str] = dataclasses.field(default_factory=list)
    # Small images with no face found: the whole image is the face.
    taken_whole: list[str] = dataclasses.field(default_factory=list)
    several_faces: list[str] = dataclasses.field(default_factory=list)
    unreadable_images: list[str] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "dropped": dict(self.dropped)}

    def read(self, path: Path) -> np.ndarray | None:
        """The image at `path` (colour or gray, 8 or 16 bit), counted; None if unreadable."""
        self.images += 1
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            self.dropped[UNREADABLE] += 1
            self.unreadable_images.append(str(path))
        return image


def config_framing(config: FaceCropConfig) -> framing_lib.Framing:
    """The config's framing with its `face_margin`."""
    framing = framing_lib.framing_named(config.framing)
    return dataclasses.replace(framing, margin=framing.margin + config.face_margin)


def make_cropper(config: FaceCropConfig) -> framing_lib.StillFaceCropper:
    """What cuts faces out for `config`: one per split generator (OpenCV's cascade is not
    thread-safe)."""
    return framing_lib.StillFaceCropper(config_framing(config))


def crop_image(
    path: Path,
    cropper: framing_lib.StillFaceCropper,
    config: FaceCropConfig,
    report: CropReport,
) -> bytes | None:
    """The PNG of the face in the photograph at `path`, or None if it gives none."""
    image = report.read(path)
    if image is None:
        return None
    crop = cropper.crop(image, no_face_policy=config.no_face_policy)
    if crop.taken_whole:
        report.taken_whole.append(str(path))
    elif not crop.found:
        report.no_face_images.append(str(path))
        if crop.image is None:
            report.dropped[NO_FACE] += 1
            return None
        report.center_cropped.append(str(path))
    if crop.num_faces > 1:
        report.several_faces.append(str(path))
    ok, png = cv2.imencode(".png", crop.image)
    assert ok, "OpenCV could not encode a PNG"
    return png.tobytes()


class FaceCropBuilder(
    streaming_writer.StreamingBuilderMixin,
    tfds.core.GeneratorBasedBuilder,
    skip_registration=True,
):
    """A builder of face crops from photographs, written as ArrayRecord."""

    def __init__(self, *, file_format: str | None = None, framing: str | None = None, **kwargs):
        """A builder whose faces are cut with `framing` (default: its config's)."""
        # TFRecord, TFDS's default, cannot be written without TensorFlow;
        # ArrayRecord also gives Grain the random access it needs.
        super().__init__(file_format=file_format or "array_record", **kwargs)
        self._reports: dict[str, CropReport] = {}
        if framing is not None:
            framing_lib.framing_named(framing)  # A typo fails before any image is read.
        self._framing = framing

    def face_crop_json(self) -> dict:
        """How faces were cut, as metadata.json records it (`framing` is what runs copy)."""
        config = self._crop_config
        return {
            framing_lib.FRAMING_KEY: config.framing,
            "face_margin": config.face_margin,
            "no_face_policy": config.no_face_policy,
        }

    def check_prepared_options(self) -> None:
        """Raises unless the finished build in `data_dir` cut its faces as asked."""
        metadata = dict(self.info.metadata or {})
        built = {k: metadata.get(k) for k in self.face_crop_json()}
        asked = self.face_crop_json()
        if built != asked:
            raise RawDataError(
                f"{self.data_dir} was built with other face crops (built {built}, asked "
                f"{asked}). Fix: build each framing into its own --data_dir, or delete "
                f"{self.data_dir} to rebuild it."
            )

    def _generate_examples(
        self, split: str, items: Iterable[tuple[dict, Path]], subjects: list[str]
    ) -> Iterator[tuple[int, dict]]:
        """Yields (key, example) for each (features without the image, photo path).

        Args:
          split: the split's name, for the report and the log.
          items: the photographs in record order.
          subjects: the split's subjects, for the report.
        """
        config = self._crop_config
        self.info.metadata.update(self.face_crop_json())
        report = self._reports[split] = CropReport(subjects=sorted(subjects))
        detector = make_cropper(config)
        name = f"{self.name}/{config.name} {split}"
        start = last = time.monotonic()
        for fields, path in items:
            png = self._example_png(path, detector, report)
            if png is not None:
                # Integer keys in yield order: with shuffling disabled TFDS
                # writes records sorted by key.
                yield report.examples, {"image": png, **fields}
                report.examples += 1
            if time.monotonic() - last >= _LOG_EVERY_S:
                last = time.monotonic()
                logging.info(
                    "%s: %d images, %.0f/s", name, report.images, report.images / (last - start)
                )
        logging.info("%s: %s", name, json.dumps(report.to_json()))
        if report.no_face_images:
            logging.warning(
                "%s: no face found in %d of %d images (%s): %s",
                name,
                len(report.no_face_images),
                report.images,
                "skipped" if config.no_face_policy == detect.SKIP else "centre-cropped",
                ", ".join(report.no_face_images),
            )
        if report.taken_whole:
            logging.warning(
                "%s: no face found in %d small images, each taken whole as the face: %s",
                name,
                len(report.taken_whole),
                ", ".join(report.taken_whole),
            )
        if report.unreadable_images:
            logging.warning(
                "%s: unreadable images skipped: %s", name, ", ".join(report.unreadable_images)
            )

    @property
    def _crop_config(self) -> FaceCropConfig:
        """How faces are cut out (framing, no-face policy, margin): the builder config's,
        with the `framing` option."""
        if self._framing is None:
            return self.builder_config
        # A private copy: TFDS refuses a changed config under a registered name.
        return dataclasses.replace(self.builder_config, framing=self._framing)

    def _example_png(
        self, path: Path, detector: framing_lib.StillFaceCropper, report: CropReport
    ) -> bytes | None:
        """The PNG stored for the photograph at `path`, or None if it gives no example."""
        return crop_image(path, detector, self._crop_config, report)

    def _report_json(self, report: CropReport) -> dict:
        return report.to_json()

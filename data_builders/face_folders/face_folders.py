r"""Any labelled folder of face images as TFDS records: 96x96 gray faces with CK+ labels.

Get the data: see `MANUAL_DOWNLOAD_INSTRUCTIONS` (FER2013, CK+48, RAF-DB,
AffectNet- or KDEF-style exports), or write a synthetic stand-in with
`python -m affect_jax.synthetic --dataset=face_folders --out=DIR`.

Build (no TensorFlow needed; `tfds build` does need it, so use ours), one
data_dir per dataset:

    python -m affect_jax.build --dataset=face_folders/cropped --manual_dir=FER2013 \
        --data_dir=DATA/fer2013
    python -m affect_jax.build --dataset=face_folders/cropped --manual_dir=CK+48 \
        --data_dir=DATA/ck48 --builder_option='subject_regex=S\d{3}'

Load:

    source = tfds.builder("face_folders/cropped", data_dir="DATA/fer2013").as_data_source("test")
    source[0]["image"].shape                    # (96, 96, 1) uint8

Configs: `cropped` (the images are faces already: each one's centred square,
resized to 96x96 gray) and `detect` (the face is found and framed exactly as
for CK+ and JAFFE, by the `framing` option: `aligned` by default, eyes on the
template, or `haar_box`, affect_jax/faces/framing.py; small images such as
48x48 crops are searched upscaled, and taken whole where still no face is
found; larger images without a face are skipped; both are listed in
`build_report.json`). `cropped_foldK` / `detect_foldK` (K 0-9; `..._foldKofN`
for N folds) split the subjects into the CK+ builder's folds.

Options, as builder kwargs (`--builder_option=key=value` on the command line)
or fields of a `FaceFoldersConfig`: `class_map`, `subject_regex`,
`validation_fraction`, `test_fraction`, `split_seed`, `fold` and `num_folds`,
and for `detect` `framing`, `no_face_policy` and `face_margin`. Labels keep the 8-way CK+
space whatever classes a dataset has. Only the fold is part of the dataset's
folder name: a data_dir holds one build of `face_folders/cropped`, and a build
with other options into it is refused (build each dataset into its own data_dir).
"""

from __future__ import annotations

import collections
import dataclasses
import json
from pathlib import Path

import cv2
import tensorflow_datasets as tfds
from absl import logging

from affect_jax.faces import detect
from affect_jax.faces import framing as framing_lib
from affect_jax.runtime import ConfigError
from affect_jax.tasks.labels import CK_PLUS_EMOTIONS
from data_builders.ck_plus.face_crop_builder import (
    CropReport,
    FaceCropBuilder,
)
from data_builders.errors import RawDataError, RawDataMissingError
from data_builders.face_folders import raw_layout, splits
from data_builders.face_folders.options import (
    CROPPED,
    DETECT,
    OPTION_TYPES,
    FaceFoldersConfig,
    class_map_pairs,
    resolve_config,
)


def face_crop_png(path: Path, report: CropReport) -> bytes | None:
    """The PNG of an image that is a face already: its centred square, 96x96 gray."""
    image = report.read(path)
    if image is None:
        return None
    gray = detect.to_gray(image)
    face = detect.crop_face(gray, detect.center_square(gray.shape), size=detect.MODEL_IMAGE_SIZE)
    ok, png = cv2.imencode(".png", face)
    assert ok, "OpenCV could not encode a PNG"
    return png.tobytes()


class FaceFolders(FaceCropBuilder):
    """Face images in class folders, labelled with the CK+ codes."""

    VERSION = tfds.core.Version("2.0.0")
    RELEASE_NOTES = {
        "1.0.0": "96x96 gray faces from class folders, CK+ labels, subject splits.",
        "2.0.0": "detect: faces framed like CK+'s and JAFFE's (`framing`, aligned by default); "
        "small images upscaled to be found.",
    }
    BUILDER_CONFIGS = [
        FaceFoldersConfig(name=CROPPED, mode=CROPPED, description="Images are face crops."),
        FaceFoldersConfig(name=DETECT, mode=DETECT, description="Photos: faces found and framed."),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Point --manual_dir at a folder of class folders, one per expression, named
    in any common spelling (angry/anger, disgusted/disgust, fearful/fear,
    happy/happiness, neutral, sad/sadness, surprised/surprise, contempt; any
    case), either flat or inside split folders:
      MANUAL_DIR/happy/0001.png ...                 flat: split by fraction
      MANUAL_DIR/train/happy/0001.png ...           train/, validation/ (or val/), test/
    Other folder names (numbers, other words) need the class_map option, e.g.
    --builder_option=class_map=1:surprise,2:fear. Where the sets come from:
    FER2013 (Kaggle's "Challenges in Representation Learning: Facial
    Expression Recognition Challenge"; image-folder exports have train/ and
    test/ of 48x48 faces); CK+48 (peak-frame face crops of CK+, which keeps
    CK+'s licence; add --builder_option='subject_regex=S\\d{3}' to split by
    person); RAF-DB and AffectNet (on request from their authors; sort the
    aligned images into class folders and map their numbered labels with
    class_map); KDEF (kdef.se; sort by its expression codes). Use config
    `cropped` for face crops and `detect` for whole photographs. For a synthetic
    stand-in run `python -m affect_jax.synthetic --dataset=face_folders --out=DIR`.
    """

    def __init__(
        self,
        *,
        config: str | FaceFoldersConfig | None = None,
        fold: int | None = None,
        num_folds: int | None = None,
        **kwargs,
    ):
        """One config of the builder, read with the given options.

        Args:
          config: `cropped` (default), `detect`, `<mode>_foldK[ofN]`, or a
            `FaceFoldersConfig`.
          fold: a subject fold to test on; makes the config `<mode>_foldK`.
          num_folds: the number of subject folds (default 10).
          **kwargs: the options of `options.OPTION_TYPES` (class_map,
            subject_regex, ...) and TFDS's own (data_dir, file_format, ...).

        Raises:
          ConfigError: an unknown config name or a bad option value.
        """
        options = {k: kwargs.pop(k) for k in list(kwargs) if k in OPTION_TYPES}
        super().__init__(config=resolve_config(config, fold, num_folds), **kwargs)
        self._class_counts: dict[str, dict[str, int]] = {}
        self._split_class_folders: dict[str, list[str]] = {}
        overrides = {
            k: (v if k == "class_map" else OPTION_TYPES[k](v))
            for k, v in options.items()
            if v is not None
        }
        # A private copy: TFDS refuses a changed config under a registered name.
        self._options = dataclasses.replace(self.builder_config, **overrides)
        self._options.class_map = class_map_pairs(self._options.class_map)
        framing_lib.framing_named(self._options.framing)  # A typo fails before any image.
        if self._options.no_face_policy not in detect.NO_FACE_POLICIES:
            raise ConfigError(
                f"no_face_policy {self._options.no_face_policy!r}: use one of "
                f"{', '.join(detect.NO_FACE_POLICIES)}."
            )

    @property
    def _crop_config(self) -> FaceFoldersConfig:
        return self._options

    def options_json(self) -> dict:
        """The options that decide the records, as `metadata.json` stores them."""
        o = self._options
        options = dict(
            mode=o.mode,
            class_map=[list(pair) for pair in o.class_map],
            subject_regex=o.subject_regex,
            validation_fraction=o.validation_fraction,
            test_fraction=o.test_fraction,
            split_seed=o.split_seed,
            fold=o.fold,
            num_folds=o.num_folds,
        )
        if o.mode == DETECT:
            options.update(self.face_crop_json())
        return options

    def face_crop_json(self) -> dict:
        """How faces were cut: nothing for `cropped` (each image's centred square)."""
        return super().face_crop_json() if self._options.mode == DETECT else {}

    def check_prepared_options(self) -> None:
        """Raises unless the finished build in `data_dir` was made with these options."""
        built = dict((self.info.metadata or {}).get("options", {}))
        asked = json.loads(json.dumps(self.options_json()))
        if built != asked:
            changed = sorted(k for k in asked.keys() | built.keys() if asked.get(k) != built.get(k))
            raise RawDataError(
                f"{self.data_dir} was built with other options ("
                + "; ".join(f"{k}: built {built.get(k)!r}, asked {asked.get(k)!r}" for k in changed)
                + "). Fix: build each dataset and set of options into its own --data_dir, "
                f"or delete {self.data_dir} to rebuild it."
            )

    def _info(self) -> tfds.core.DatasetInfo:
        size = detect.MODEL_IMAGE_SIZE
        return self.dataset_info_from_configs(
            description="Face images from class folders, labelled with CK+ emotion codes.",
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(size, size, 1), encoding_format="png"),
                    "label": tfds.features.ClassLabel(names=CK_PLUS_EMOTIONS),
                    "subject": tfds.features.Text(doc="The person; empty without subject_regex."),
                    "filename": tfds.features.Text(doc="Path relative to the layout's root."),
                    "class_folder": tfds.features.Text(doc="The class folder's own name."),
                }
            ),
            supervised_keys=("image", "label"),
            # Options, class folders and left-out files, saved as metadata.json.
            metadata=tfds.core.MetadataDict(),
            # Records in subject, path order; Grain shuffles.
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = Path(dl_manager.manual_dir)  # Raises with the instructions if missing.
        o = self._options
        try:
            layout = raw_layout.read_layout(
                manual_dir, raw_layout.parse_class_map(o.class_map), o.subject_regex
            )
        except RawDataMissingError as error:
            raise RawDataMissingError(f"{error}\n{self.MANUAL_DOWNLOAD_INSTRUCTIONS}") from None
        by_split, shared = splits.assign_splits(
            layout,
            validation_fraction=o.validation_fraction,
            test_fraction=o.test_fraction,
            seed=o.split_seed,
            fold=o.fold,
            num_folds=o.num_folds,
        )
        left_out = {
            "Empty class folders": layout.empty_class_folders,
            "Files that are no images, left out": layout.ignored_files,
        }
        for name, found in left_out.items():
            if found:
                logging.warning("%s under %s: %s", name, layout.root, ", ".join(found))
        self.info.metadata.update(
            options=self.options_json(),
            root=str(layout.root),
            split_folders=layout.split_folders,
            class_folders=layout.class_folders,
            empty_class_folders=layout.empty_class_folders,
            ignored_files=layout.ignored_files,
            subjects_in_several_split_folders=shared,
        )
        self._split_class_folders = {
            split: sorted({str(Path(i.relative).parent) for i in images})
            for split, images in by_split.items()
        }
        generators = {}
        for split, images in by_split.items():
            items = [
                (
                    dict(
                        label=i.label,
                        subject=i.subject,
                        filename=i.relative,
                        class_folder=i.class_folder,
                    ),
                    i.path,
                )
                for i in images
            ]
            subjects = sorted({i.subject for i in images if i.subject})
            generators[split] = self._generate_examples(split, items, subjects)
        return generators

    def _example_png(self, path, detector, report) -> bytes | None:
        if self._options.mode == CROPPED:
            return face_crop_png(path, report)
        return super()._example_png(path, detector, report)

    def _generate_examples(self, split, items, subjects):
        counts = collections.Counter()
        for key, example in super()._generate_examples(split, items, subjects):
            counts[CK_PLUS_EMOTIONS[example["label"]]] += 1
            yield key, example
        self._class_counts[split] = {n: counts[n] for n in CK_PLUS_EMOTIONS if counts[n]}

    def _report_json(self, report: CropReport) -> dict:
        split = next(s for s, r in self._reports.items() if r is report)
        return {
            **report.to_json(),
            "examples_per_class": self._class_counts.get(split, {}),
            "class_folders": self._split_class_folders.get(split, []),
        }

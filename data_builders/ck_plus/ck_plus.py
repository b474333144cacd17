"""CK+ (Extended Cohn-Kanade) as TFDS records: face crops of posed expressions.

Get the data: CK+ is licensed; see `MANUAL_DOWNLOAD_INSTRUCTIONS`. Or write
the synthetic stand-in with
`python -m affect_jax.synthetic --dataset=ck_plus --out=DIR`.

Build (no TensorFlow needed; `tfds build` does need it, so use ours):

    python -m affect_jax.build --dataset=ck_plus/fold0 --manual_dir=DIR --data_dir=~/tfds

Load:

    builder = tfds.builder("ck_plus/fold0", data_dir="~/tfds")
    source = builder.as_data_source("train")   # random access, numpy dicts
    source[0]["image"].shape                    # (96, 96, 1) uint8

Examples, as in the reference: for each sequence with an emotion label, its
first frame as neutral (0) and its last three frames with the label; the real
release gives 1,308 images of 8 classes from 327 sequences. Config `foldK`
tests on the subjects of fold K of 10 and trains on the others: no person is
in both splits, and each person is in the test split of exactly one fold.
Faces are framed by `affect_jax.faces.framing`: `foldK` aligns them by the
eyes (`aligned`, as video prediction and the other photo builders do);
`foldK_box` cuts the Haar cascade's box (`haar_box`, the paper's crop).
Other fold counts, a centre-crop fallback for images with no detected face,
or a margin around the face: pass `config=CkPlusConfig(...)` to the builder.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds
from absl import logging

from affect_jax.faces import detect
from affect_jax.faces.framing import HAAR_BOX
from data_builders.ck_plus import folds, raw_layout
from data_builders.ck_plus.face_crop_builder import FaceCropBuilder, FaceCropConfig
from data_builders.errors import RawDataMissingError

_HOMEPAGE = "http://www.pitt.edu/~emotion/ck-spread.htm"


@dataclasses.dataclass(eq=False, kw_only=True)
class CkPlusConfig(FaceCropConfig):
    """A subject-independent fold of CK+ (see `FaceCropConfig`)."""

    fold: int = 0


class CkPlus(FaceCropBuilder):
    """CK+ face crops: the neutral first and the three peak frames of labelled sequences."""

    VERSION = tfds.core.Version("2.0.0")
    RELEASE_NOTES = {
        "1.0.0": "96x96 gray Haar face crops, 10 subject-independent folds.",
        "2.0.0": "foldK: faces aligned by the eyes (framing `aligned`); foldK_box: the Haar box.",
    }
    BUILDER_CONFIGS = [
        *(
            CkPlusConfig(
                name=f"fold{k}",
                description=f"Test on the subjects of fold {k} of 10, train on the rest.",
                fold=k,
            )
            for k in range(folds.DEFAULT_NUM_FOLDS)
        ),
        # The same folds with the paper's crop.
        *(
            CkPlusConfig(
                name=f"fold{k}_box",
                description=f"fold{k}, faces cut at the Haar cascade's box (the paper's).",
                fold=k,
                framing=HAAR_BOX.name,
            )
            for k in range(folds.DEFAULT_NUM_FOLDS)
        ),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
    CK+ (the Extended Cohn-Kanade dataset) is distributed for non-commercial
    research by its authors (Jeffrey Cohn's group) after you agree to its
    terms: see {_HOMEPAGE}, which says how to request it. Extract the images
    archive (cohn-kanade-images.zip; extended-cohn-kanade-images.zip in some
    copies) and Emotion_labels.zip (FACS_labels and Landmarks are not needed)
    so that the manual dir contains:
      cohn-kanade-images/S005/001/S005_001_00000001.png ...
      Emotion/S005/001/S005_001_00000011_emotion.txt ...
    and point --manual_dir at the folder holding both. For a synthetic stand-in
    in the same layout, run `python -m affect_jax.synthetic --dataset=ck_plus
    --out=DIR` and use DIR as the manual dir.
    """

    def _info(self) -> tfds.core.DatasetInfo:
        size = detect.MODEL_IMAGE_SIZE
        return self.dataset_info_from_configs(
            description="CK+ posed expressions, face crops with emotion labels.",
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(size, size, 1), encoding_format="png"),
                    "label": tfds.features.ClassLabel(names=raw_layout.EMOTION_NAMES),
                    "subject": tfds.features.Text(),
                    "sequence": tfds.features.Text(),
                    "frame": tfds.features.Scalar(np.int32, doc="1-based frame number."),
                }
            ),
            supervised_keys=("image", "label"),
            homepage=_HOMEPAGE,
            # How faces were cut (`framing`, ...), saved as metadata.json.
            metadata=tfds.core.MetadataDict(),
            # Records in subject, sequence, frame order; Grain shuffles.
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
            sequences = raw_layout.find_labelled_sequences(manual_dir)
        except FileNotFoundError as error:
            raise RawDataMissingError(f"{error}\n{self.MANUAL_DOWNLOAD_INSTRUCTIONS}") from None
        # Listing frames is cheap: every sequence is resolved before any image
        # is decoded, and the folds only count subjects that give examples.
        examples, frameless = [], []
        for sequence in sequences:
            found = raw_layout.sequence_examples(manual_dir, sequence)
            examples += found
            if not found:
                frameless.append(f"{sequence.subject}/{sequence.sequence}")
        if frameless:
            logging.warning(
                "%d labelled sequences have no frames in %s/ and give no examples: %s",
                len(frameless),
                raw_layout.IMAGES_FOLDER,
                ", ".join(frameless),
            )
        if not examples:
            raise RawDataMissingError(
                f"No labelled sequence in {manual_dir} has frames: check that "
                f"{raw_layout.EMOTION_FOLDER}/ and {raw_layout.IMAGES_FOLDER}/ belong together."
            )
        subjects = sorted({e.subject for e in examples})
        if config.fold is None:
            split_subjects = {"test": subjects}
        else:
            split_subjects = folds.split_subjects(subjects, config.fold, config.num_folds)
        generators = {}
        for split, members in split_subjects.items():
            chosen = set(members)
            items = [
                (
                    dict(label=e.label, subject=e.subject, sequence=e.sequence, frame=e.frame),
                    e.path,
                )
                for e in examples
                if e.subject in chosen
            ]
            generators[split] = self._generate_examples(split, items, members)
        return generators

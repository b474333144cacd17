"""JAFFE as TFDS records: face crops of posed expressions, labelled with CK+ codes.

Get the data: see `MANUAL_DOWNLOAD_INSTRUCTIONS`. Or write the synthetic
stand-in with `python -m affect_jax.synthetic --dataset=jaffe --out=DIR`.

Build (no TensorFlow needed; `tfds build` does need it, so use ours):

    python -m affect_jax.build --dataset=jaffe/all --manual_dir=DIR --data_dir=~/tfds

Load:

    builder = tfds.builder("jaffe/all", data_dir="~/tfds")
    source = builder.as_data_source("test")     # random access, numpy dicts
    source[0]["image"].shape                    # (96, 96, 1) uint8

Labels use the CK+ codes (neutral 0, anger 1, disgust 3, fear 4, happy 5,
sadness 6, surprise 7; JAFFE has no contempt), so a model trained on CK+ is
tested on JAFFE as is. Config `all` puts every image in one `test` split: the
cross-dataset test set. Configs `foldK` split the ten subjects for those who
train on JAFFE (with ten folds, leave one subject out). Faces are aligned
by the eyes (framing `aligned`, affect_jax/faces/framing.py); `all_box` cuts
the Haar box instead, the paper's crop. When the release's
semantic ratings table (in its README text file) is present, `ratings` holds
each picture's mean ratings
(HAP SAD SUR ANG DIS FEA, 1-5) and `has_ratings` is True; otherwise the
ratings are -1.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds
from absl import logging

from affect_jax.faces import detect
from affect_jax.faces.framing import HAAR_BOX
from data_builders.ck_plus import folds
from data_builders.ck_plus.face_crop_builder import FaceCropBuilder, FaceCropConfig
from data_builders.ck_plus.raw_layout import EMOTION_NAMES
from data_builders.errors import RawDataMissingError
from data_builders.jaffe import raw_layout

_HOMEPAGE = "https://zenodo.org/record/3451524"


@dataclasses.dataclass(eq=False, kw_only=True)
class JaffeConfig(FaceCropConfig):
    """All of JAFFE as a test set (fold None), or a subject fold (see `FaceCropConfig`)."""


class Jaffe(FaceCropBuilder):
    """JAFFE face crops with CK+ emotion codes and optional semantic ratings."""

    VERSION = tfds.core.Version("2.0.0")
    RELEASE_NOTES = {
        "1.0.0": "96x96 gray Haar face crops, CK+ codes, `all` and 10 folds.",
        "2.0.0": "Faces aligned by the eyes (framing `aligned`); all_box: the Haar box.",
    }
    BUILDER_CONFIGS = [
        JaffeConfig(name="all", description="Every image in one `test` split (cross-dataset)."),
        JaffeConfig(
            name="all_box",
            description="`all`, faces cut at the Haar cascade's box (the paper's crop).",
            framing=HAAR_BOX.name,
        ),
        *(
            JaffeConfig(
                name=f"fold{k}",
                description=f"Test on the subjects of fold {k} of 10, train on the rest.",
                fold=k,
            )
            for k in range(folds.DEFAULT_NUM_FOLDS)
        ),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
    JAFFE (the Japanese Female Facial Expression database: 213 images of 10
    people) is distributed free of charge for non-commercial research by its
    authors (Michael J. Lyons, Miyuki Kamachi, Jiro Gyoba) after you accept its
    conditions of use in the request form at {_HOMEPAGE}. Extract the archive
    and point --manual_dir at the folder holding the .tiff images (e.g.
    jaffedbase/; a manual dir with exactly one such subfolder also works).
    Keep the release's README_FIRST.txt (or A_README_FIRST.txt) beside the
    images or in the manual dir: its table of semantic ratings becomes the
    `ratings` feature. For a synthetic stand-in in the same layout, run
    `python -m affect_jax.synthetic --dataset=jaffe --out=DIR`.
    """

    def _info(self) -> tfds.core.DatasetInfo:
        size = detect.MODEL_IMAGE_SIZE
        columns = len(raw_layout.RATING_COLUMNS)
        return self.dataset_info_from_configs(
            description="JAFFE posed expressions, face crops with CK+ emotion codes.",
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(size, size, 1), encoding_format="png"),
                    "label": tfds.features.ClassLabel(names=EMOTION_NAMES),
                    "subject": tfds.features.Text(),
                    "filename": tfds.features.Text(),
                    "ratings": tfds.features.Tensor(
                        shape=(columns,),
                        dtype=np.float32,
                        doc="Mean ratings HAP SAD SUR ANG DIS FEA (1-5); -1 if unrated.",
                    ),
                    "has_ratings": tfds.features.Scalar(np.bool_),
                }
            ),
            supervised_keys=("image", "label"),
            homepage=_HOMEPAGE,
            # How faces were cut (`framing`, ...), saved as metadata.json.
            metadata=tfds.core.MetadataDict(),
            # Records in subject, image number order; Grain shuffles.
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = Path(dl_manager.manual_dir)  # Raises with the instructions if missing.
        config = self.builder_config
        try:
            folder = raw_layout.find_image_folder(manual_dir)
        except FileNotFoundError as error:
            raise RawDataMissingError(f"{error}\n{self.MANUAL_DOWNLOAD_INSTRUCTIONS}") from None
        # Every name and the ratings are checked before any image is decoded.
        images = raw_layout.list_images(folder)
        ratings_file = raw_layout.find_ratings_file(*{folder, manual_dir})
        ratings = raw_layout.parse_ratings(ratings_file) if ratings_file else {}
        if ratings_file:
            unmatched = sorted(set(ratings) - {i.picture for i in images})
            logging.info(
                "Ratings from %s: %d of %d images rated; %d ratings match no image%s",
                ratings_file,
                sum(i.picture in ratings for i in images),
                len(images),
                len(unmatched),
                f" ({', '.join(unmatched[:10])})" if unmatched else "",
            )
        else:
            logging.info("No semantic ratings file in %s: ratings are -1.", folder)
        subjects = sorted({i.subject for i in images})
        if config.fold is None:
            split_subjects = {"test": subjects}
        else:
            split_subjects = folds.split_subjects(subjects, config.fold, config.num_folds)
        unrated = np.full(len(raw_layout.RATING_COLUMNS), raw_layout.NO_RATING, np.float32)
        generators = {}
        for split, members in split_subjects.items():
            chosen = set(members)
            items = [
                (
                    dict(
                        label=image.label,
                        subject=image.subject,
                        filename=image.path.name,
                        ratings=ratings.get(image.picture, unrated),
                        has_ratings=image.picture in ratings,
                    ),
                    image.path,
                )
                for image in images
                if image.subject in chosen
            ]
            generators[split] = self._generate_examples(split, items, members)
        return generators

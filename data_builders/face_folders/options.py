r"""The face_folders builder's options: its config, the fold configs' names, the kwargs.

A fold (`cropped_fold3`, or `fold=3` as a kwarg) is part of the dataset's
folder name, so the folds of a release sit side by side in one data_dir like
`ck_plus/foldK`; TFDS finds such a config, not in `BUILDER_CONFIGS`, from its
files when reading. The other options are checked against a finished build
instead (`FaceFolders.check_prepared_options`).
"""

from __future__ import annotations

import dataclasses
import re

from affect_jax.runtime import ConfigError
from affect_jax.tasks.labels import CK_PLUS_EMOTIONS
from data_builders.ck_plus import folds
from data_builders.ck_plus.face_crop_builder import FaceCropConfig
from data_builders.face_folders import raw_layout

CROPPED = "cropped"
DETECT = "detect"
CONFIG_NAME = re.compile(rf"^({CROPPED}|{DETECT})(?:_fold(\d+)(?:of(\d+))?)?$")
# Builder kwargs that change how a release is read, and their types.
OPTION_TYPES = {
    "class_map": None,
    "subject_regex": str,
    "validation_fraction": float,
    "test_fraction": float,
    "split_seed": int,
    "no_face_policy": str,
    "face_margin": float,
    "framing": str,
}


@dataclasses.dataclass(eq=False, kw_only=True)
class FaceFoldersConfig(FaceCropConfig):
    r"""How to read one class-folder release (see `FaceCropConfig` for the face crop).

    Attributes:
      mode: `cropped` (images are faces) or `detect` (find the face first).
      class_map: (folder name, label) pairs looked up before the spelling
        table; labels are CK+ names, spellings or codes 0-7.
      subject_regex: finds the person in an image's path inside its class
        folder (group `subject`, else group 1, else the whole match), e.g.
        `S\d{3}` for CK+48; "" for none. With subjects, splits are by subject.
      validation_fraction: of the images (or subjects) carved out as
        `validation` when there is no validation folder.
      test_fraction: the same for `test` when there is no test folder.
      split_seed: the carving's seed (folds use the CK+ builder's fixed seed).
      fold: subject fold K is `test`, the others `train`; None carves by fraction.
    """

    mode: str = CROPPED
    class_map: tuple[tuple[str, str], ...] = ()
    subject_regex: str = ""
    validation_fraction: float = 0.1
    test_fraction: float = 0.2
    split_seed: int = 0


def fold_config(mode: str, fold: int, num_folds: int) -> FaceFoldersConfig:
    suffix = "" if num_folds == folds.DEFAULT_NUM_FOLDS else f"of{num_folds}"
    return FaceFoldersConfig(
        name=f"{mode}_fold{fold}{suffix}",
        mode=mode,
        fold=fold,
        num_folds=num_folds,
        description=f"Test on the subjects of fold {fold} of {num_folds}, train on the rest.",
    )


def resolve_config(
    config: str | FaceFoldersConfig | None, fold: int | None, num_folds: int | None
) -> str | FaceFoldersConfig:
    """The config to hand to TFDS: a named one, or a fold config with its own folder name."""
    config = CROPPED if config is None else config
    if isinstance(config, str):
        match = CONFIG_NAME.match(config)
        if match is None:
            raise ConfigError(
                f"Unknown face_folders config {config!r}; use {CROPPED}, {DETECT}, "
                f"{CROPPED}_foldK or {DETECT}_foldK (K < 10), or ..._foldKofN for N folds."
            )
        mode, name_fold, name_folds = match.groups()
        fold = fold if fold is not None else (int(name_fold) if name_fold else None)
        num_folds = num_folds or (int(name_folds) if name_folds else None)
    else:
        mode = config.mode
    if fold is None:
        if num_folds is not None:
            raise ConfigError(f"num_folds={num_folds} needs fold=K too (the fold to test on).")
        return config
    return fold_config(mode, int(fold), int(num_folds or folds.DEFAULT_NUM_FOLDS))


def class_map_pairs(value) -> tuple[tuple[str, str], ...]:
    """Any accepted class map as sorted (folder, CK+ name) pairs."""
    parsed = raw_layout.parse_class_map(value)
    return tuple(sorted((folder, CK_PLUS_EMOTIONS[code]) for folder, code in parsed.items()))

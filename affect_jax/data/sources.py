"""Opens a built TFDS dataset split as a random-access source for Grain."""

import dataclasses
import importlib
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from affect_jax.data import record_source
from affect_jax.runtime import ConfigError, ProjectError

# Importing the module registers its builder with TFDS.
BUILDER_MODULES = {
    "affwild2": "data_builders.affwild2",
    "ck_plus": "data_builders.ck_plus",
    "face_folders": "data_builders.face_folders",
    "jaffe": "data_builders.jaffe",
}


class DatasetNotBuiltError(ProjectError, FileNotFoundError):
    """The dataset was never built, or its build did not finish."""


def register_builder(dataset_name: str) -> None:
    """Imports the module that registers `dataset_name`'s builder with TFDS."""
    base = dataset_name.split("/")[0].split(":")[0]
    if base not in BUILDER_MODULES:
        raise ConfigError(
            f"Unknown dataset {dataset_name!r} (config key dataset.name, or --dataset); "
            f"valid: {', '.join(BUILDER_MODULES)}."
        )
    importlib.import_module(BUILDER_MODULES[base])


def open_builder(dataset_name: str, data_dir: str) -> tfds.core.DatasetBuilder:
    """Returns the prepared builder, or a clear error saying how to build it.

    TFDS writes a build into an `incomplete.*` folder and renames it only when
    every split is complete, so a crashed build is never found here as prepared.
    """
    if not data_dir:
        raise DatasetNotBuiltError(
            "config.dataset.data_dir is empty: point it at the folder you built "
            "the dataset into (python -m affect_jax.build --data_dir=...)."
        )
    register_builder(dataset_name)
    builder = tfds.builder(dataset_name, data_dir=data_dir, file_format="array_record")
    if not builder.is_prepared():
        older = _older_builds(builder)
        if older:
            raise DatasetNotBuiltError(
                f"{Path(data_dir).resolve()} holds {dataset_name} version {', '.join(older)}, "
                f"built by an older affect-jax; this one reads version {builder.version} "
                f"({builder.RELEASE_NOTES.get(str(builder.version), '')}). Build it again: "
                f"python -m affect_jax.build --dataset={dataset_name} --manual_dir=<raw data "
                f"folder> --data_dir={data_dir} (then delete the old version's folder)."
            )
        raise DatasetNotBuiltError(
            f"Dataset {dataset_name} is not built (completely) in "
            f"{Path(data_dir).resolve()}. Build it with: python -m affect_jax.build "
            f"--dataset={dataset_name} --manual_dir=<raw data folder> "
            f"--data_dir={data_dir}"
        )
    return builder


def _older_builds(builder: tfds.core.DatasetBuilder) -> list[str]:
    """Finished builds of other versions beside the one `builder` wants."""
    versions = Path(builder.data_dir).parent
    if not versions.is_dir():
        return []
    return sorted(
        folder.name
        for folder in versions.iterdir()
        if folder.name != str(builder.version) and (folder / "dataset_info.json").exists()
    )


def open_split(dataset_name: str, data_dir: str, split: str) -> Any:
    """A random-access source over `split`: `len(src)`, `src[i]` -> the record's dict
    (numpy arrays, Python numbers and bytes, as TFDS's own source gives them)."""
    builder = open_builder(dataset_name, data_dir)
    if split not in builder.info.splits:
        raise ValueError(
            f"Dataset {dataset_name} has no split {split!r}; it has "
            f"{', '.join(builder.info.splits)}."
        )
    return record_source.open_records(builder, split)


@dataclasses.dataclass(frozen=True)
class SubsetSource:
    """The records of `source` at `indices`, as a random-access source for Grain."""

    source: Any
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.source[int(self.indices[index])]

"""Which images go to train, validation and test.

- Split folders (train/, validation/ or val/, test/) are kept as they are; a
  split that has no folder is carved out of train/ by its fraction.
- A flat layout is carved by fractions: test and validation are each their
  fraction of the whole.
- Carving is seeded. With subjects, whole subjects are carved (the fraction
  counts subjects), so no person is in two carved splits; without, images are
  carved class by class, so each split keeps the class proportions.
- Subject folds (`fold`) reuse the CK+ builder's subject-independent folds:
  fold K's subjects are `test`, the others `train`, as in `ck_plus/foldK`.

Pure Python (no TFDS).
"""

from __future__ import annotations

import collections
from collections.abc import Mapping

import numpy as np
from absl import logging

from affect_jax.runtime import ConfigError
from data_builders.ck_plus import folds
from data_builders.face_folders.raw_layout import Image, Layout

SPLITS = ("train", "validation", "test")


def check_fractions(validation_fraction: float, test_fraction: float) -> None:
    """Raises ConfigError unless both are in [0, 1) and leave something to train on."""
    for name, value in (
        ("validation_fraction", validation_fraction),
        ("test_fraction", test_fraction),
    ):
        if not 0.0 <= value < 1.0:
            raise ConfigError(f"{name} must be in [0, 1), got {value}.")
    if validation_fraction + test_fraction >= 1.0:
        raise ConfigError(
            f"validation_fraction + test_fraction = {validation_fraction + test_fraction} "
            "leaves nothing to train on; keep their sum below 1."
        )


def _carve_subjects(
    images: list[Image], fractions: Mapping[str, float], seed: int
) -> dict[str, list[Image]]:
    subjects = sorted({image.subject for image in images})
    order = [subjects[i] for i in np.random.default_rng(seed).permutation(len(subjects))]
    counts = {s: max(1, round(f * len(subjects))) for s, f in fractions.items() if f > 0}
    if sum(counts.values()) >= len(subjects):
        raise ConfigError(
            f"{len(subjects)} subjects cannot give {' and '.join(counts)} subjects and still "
            f"leave some to train on ({', '.join(f'{s} {n}' for s, n in counts.items())}). "
            "Lower validation_fraction / test_fraction, or add subjects."
        )
    chosen, start = {}, 0
    for split, count in counts.items():
        chosen.update(dict.fromkeys(order[start : start + count], split))
        start += count
    carved = collections.defaultdict(list)
    for image in images:
        carved[chosen.get(image.subject, "train")].append(image)
    return carved


def _carve_images(
    images: list[Image], fractions: Mapping[str, float], seed: int
) -> dict[str, list[Image]]:
    rng = np.random.default_rng(seed)
    carved = collections.defaultdict(list)
    by_label = collections.defaultdict(list)
    for image in images:
        by_label[image.label].append(image)
    for label in sorted(by_label):  # One draw per class, in code order: reproducible.
        members = by_label[label]
        order = rng.permutation(len(members))
        start = 0
        for split, fraction in fractions.items():
            count = round(fraction * len(members))
            carved[split] += [members[i] for i in order[start : start + count]]
            start += count
        carved["train"] += [members[i] for i in order[start:]]
    return carved


def carve(
    images: list[Image], fractions: Mapping[str, float], seed: int, by_subject: bool
) -> dict[str, list[Image]]:
    """`images` split into train and the splits of `fractions` (each of the images given)."""
    fractions = {s: f for s, f in fractions.items() if f > 0}
    if not fractions:
        return {"train": list(images)}
    if by_subject:
        return _carve_subjects(images, fractions, seed)
    return _carve_images(images, fractions, seed)


def _fold_splits(layout: Layout, fold: int, num_folds: int) -> dict[str, list[Image]]:
    if layout.split_folders:
        raise ConfigError(
            f"fold={fold}: {layout.root} is already split into folders "
            f"({', '.join(layout.split_folders.values())}); subject folds need a flat layout "
            "of class folders. Drop the fold option, or move the class folders out of the "
            "split folders."
        )
    if not layout.images[0].subject:
        raise ConfigError(
            f"fold={fold}: subject folds need subjects; pass subject_regex (e.g. S\\d{{3}} for "
            "CK+48's names)."
        )
    members = folds.split_subjects({i.subject for i in layout.images}, fold, num_folds)
    test = set(members["test"])
    return {
        "train": [i for i in layout.images if i.subject not in test],
        "test": [i for i in layout.images if i.subject in test],
    }


def _warn_about_shared_subjects(by_split: Mapping[str, list[Image]]) -> list[str]:
    """Subjects in more than one split folder (the dataset's own split), logged."""
    seen = collections.defaultdict(set)
    for split, images in by_split.items():
        for image in images:
            seen[image.subject].add(split)
    shared = sorted(s for s, splits in seen.items() if s and len(splits) > 1)
    if shared:
        logging.warning(
            "%d subjects are in more than one split folder (kept as the folders say): %s",
            len(shared),
            ", ".join(shared[:20]),
        )
    return shared


def assign_splits(
    layout: Layout,
    *,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
    fold: int | None,
    num_folds: int,
) -> tuple[dict[str, list[Image]], list[str]]:
    """({split: images in subject, path order}, subjects shared by split folders).

    Splits that receive no image are left out.
    """
    check_fractions(validation_fraction, test_fraction)
    by_subject = bool(layout.images[0].subject)
    shared: list[str] = []
    if fold is not None:
        by_split = _fold_splits(layout, fold, num_folds)
    elif layout.split_folders:
        by_split = collections.defaultdict(list)
        for image in layout.images:
            by_split[image.split].append(image)
        shared = _warn_about_shared_subjects(by_split) if by_subject else []
        missing = {
            s: f
            for s, f in (("test", test_fraction), ("validation", validation_fraction))
            if s not in by_split
        }
        # Both carved fractions are of train/, the only pool there is.
        by_split.update(carve(by_split.pop("train"), missing, seed, by_subject))
    else:
        by_split = carve(
            layout.images,
            {"test": test_fraction, "validation": validation_fraction},
            seed,
            by_subject,
        )
    ordered = {
        split: sorted(by_split[split], key=lambda i: (i.subject, i.relative))
        for split in SPLITS
        if by_split.get(split)
    }
    return ordered, shared

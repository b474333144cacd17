"""Subject-independent k-fold splits: no person is in both train and test.

Used by the CK+ and JAFFE builders. The subjects are sorted, shuffled with a
fixed seed (subject numbers follow recording sessions, which should not
decide the folds) and dealt to the folds in turn, so fold sizes in subjects
differ by at most one and every subject is in exactly one test fold. The
assignment is a function of the set of subjects only: the same release
always gives the same folds, but adding or removing a subject reshuffles them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from data_builders.errors import RawDataError

DEFAULT_NUM_FOLDS = 10
# Fixed forever: changing it changes every published fold.
FOLD_SEED = 20100613


def assign_folds(subjects: Iterable[str], num_folds: int = DEFAULT_NUM_FOLDS) -> dict[str, int]:
    """Maps each subject to the fold (0 .. num_folds - 1) that tests on them.

    Raises:
      ValueError: if there are fewer subjects than folds (a fold would have
        an empty test split).
    """
    ordered = sorted(set(subjects))
    if num_folds < 2:
        raise RawDataError(f"num_folds must be at least 2, got {num_folds}.")
    if len(ordered) < num_folds:
        raise RawDataError(
            f"{len(ordered)} subjects cannot fill {num_folds} subject-independent folds; "
            "use fewer folds or more subjects."
        )
    order = np.random.default_rng(FOLD_SEED).permutation(len(ordered))
    return {ordered[i]: position % num_folds for position, i in enumerate(order)}


def split_subjects(
    subjects: Iterable[str], fold: int, num_folds: int = DEFAULT_NUM_FOLDS
) -> dict[str, list[str]]:
    """{"train": [...], "test": [...]} subjects of one fold, each list sorted."""
    if not 0 <= fold < num_folds:
        raise RawDataError(f"fold must be in [0, {num_folds}), got {fold}.")
    assignment = assign_folds(subjects, num_folds)
    return {
        "train": sorted(s for s, f in assignment.items() if f != fold),
        "test": sorted(s for s, f in assignment.items() if f == fold),
    }

"""The classes a training split and a cross-dataset target both have, and scores on them.

A model trained on CK+ predicts contempt on JAFFE, which has none, and never
predicts a class its training split lacks. With
`config.cross_dataset.shared_classes`, each row of the cross-dataset table
(cross_dataset.py) also scores the target on its shared classes: those with
an example in the training split and in the target. The other classes'
logits are masked out, and only examples of shared classes count
(tasks/metrics.shared_class_metrics). The plain figures stay beside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ml_collections
import numpy as np

from affect_jax.data import label_reader, sources
from affect_jax.tasks import metrics


def class_counts(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Examples per class; negative labels (unlabelled) are left out."""
    labels = np.asarray(labels, np.int64).reshape(-1)
    return np.bincount(labels[labels >= 0], minlength=num_classes)


def training_side(config: ml_collections.ConfigDict, class_names: Sequence[str]) -> dict:
    """The training split's dataset, split and examples per class (JSON-able).

    Read from the split's label column (no image decoded), not from the
    training source: a class-balanced epoch repeats examples.
    """
    dataset, split = config.dataset.name, config.dataset.train_split
    label_key = config.get("label_key", "label")
    source = sources.open_split(dataset, config.dataset.data_dir, split)
    labels = label_reader.read_labels(source, names=(label_key,))[label_key]
    counts = class_counts(labels, len(class_names))
    return {
        "dataset": dataset,
        "split": split,
        "counts": {name: int(counts[i]) for i, name in enumerate(class_names)},
    }


def shared_mask(training_counts: dict[str, int], target_counts: dict[str, int]) -> np.ndarray:
    """True for each class (in `target_counts`' order) with examples on both sides."""
    return np.array([target_counts[n] > 0 and training_counts[n] > 0 for n in target_counts])


def shared_fields(
    logits: np.ndarray, labels: np.ndarray, shared: np.ndarray, class_names: Sequence[str]
) -> dict[str, Any]:
    """A row's `shared_*` fields: the shared classes' names, examples, accuracy and macro F1.

    The scores are None when no example of the target is of a shared class.
    """
    labels = np.asarray(labels).reshape(-1)
    labelled = labels >= 0  # As the plain metrics (tasks/registry.py).
    logits, labels = np.asarray(logits)[labelled], labels[labelled]
    scores = metrics.shared_class_metrics(logits, labels, shared)
    return {
        "shared_classes": [name for name, on in zip(class_names, shared, strict=True) if on],
        "shared_examples": int(np.asarray(shared, bool)[labels].sum()),
        "shared_accuracy": scores.get("shared_accuracy"),
        "shared_f1_macro": scores.get("shared_f1_macro"),
    }


def _listed(counts: dict[str, int], shown: Sequence[bool] | None = None) -> str:
    shown = [True] * len(counts) if shown is None else shown
    names = [name for (name, count), on in zip(counts.items(), shown, strict=True) if count and on]
    return ", ".join(names) or "none"


def classes_markdown(rows: list[dict], training: dict) -> list[str]:
    """The report's lines naming the classes each side has, and those both sides share."""
    lines = [
        "## Classes each side has",
        "",
        "Shared: with examples in the training split and in the target. Shared scores "
        "(config.cross_dataset.shared_classes) count only examples of shared classes and "
        "predict among them.",
        "",
        "| side | dataset : split | classes with examples | shared with training |",
        "|---|---|---|---|",
        f"| training | `{training['dataset']}` : {training['split']} | "
        f"{_listed(training['counts'])} | |",
    ]
    for row in rows:
        shared = shared_mask(training["counts"], row["counts"])
        lines.append(
            f"| {row['target']} | `{row['dataset']}` : {row['split']} | "
            f"{_listed(row['counts'])} | {_listed(row['counts'], shared)} |"
        )
    return lines

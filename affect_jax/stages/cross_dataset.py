"""The cross-dataset table: which splits a trained classifier is tested on, its rows, its report.

`config.cross_dataset` (config.cross_dataset_options) names the targets, each
`[key=]name:split[@data_dir]`:

    "jaffe/all:test"                          JAFFE, in the training data_dir
    "face_folders/cropped:test@DATA/fer2013"  a class-folder set in its own data_dir
    "fer=face_folders/cropped:test@DATA/fer"  with the key spelled out

The key prefixes the target's results (`jaffe_accuracy`, `jaffe_recall_2`,
...) and names its figure (`plots/confusion_jaffe.png`); by default it is the
dataset's name before the `/`, or the whole name with `_` for `/` when two
targets share it. The training dataset's own test split
(`own_test_split`) comes first, as key `test` (no extra keys when it is the
evaluation split, whose metrics are the top-level ones). Each row holds the
whole split's accuracy, macro F1, per-class recall and the true and predicted
counts per class; `write_report` (cross_dataset_report.py) renders the rows as markdown, and
`evaluate_targets` runs the final model over every target. With
`config.cross_dataset.shared_classes`, each row also scores the classes that
the training split and the target both have (shared_classes.py): keys
`<key>_shared_accuracy` and `<key>_shared_f1_macro`, beside the plain ones.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import ml_collections
import numpy as np
from absl import logging

from affect_jax.data import sources
from affect_jax.plots.training import confusion_matrices
from affect_jax.runtime import ConfigError
from affect_jax.stages import evaluate, shared_classes
from affect_jax.stages.cross_dataset_report import SHARED_SCORES, write_report
from affect_jax.stages.inputs import StageInputs
from affect_jax.tasks.registry import Task
from affect_jax.training import run

OWN_TEST_KEY = "test"
_TARGET = re.compile(
    r"^(?:(?P<key>[A-Za-z]\w*)=)?(?P<name>[^:@=]+):(?P<split>[^:@]+)(?:@(?P<dir>.+))?$"
)
_FORMAT = (
    "[key=]name:split[@data_dir], e.g. 'jaffe/all:test' or 'face_folders/cropped:test@DATA/fer'"
)


@dataclasses.dataclass(frozen=True)
class Target:
    """One split to test the final model on.

    Attributes:
      key: prefix of its results keys and name of its figure.
      dataset: the TFDS name, e.g. "jaffe/all".
      split: the split, e.g. "test".
      data_dir: where it was built.
      own: whether it is the training dataset's own test split.
    """

    key: str
    dataset: str
    split: str
    data_dir: str
    own: bool = False


def parse_target(text: str, default_data_dir: str) -> tuple[str | None, Target]:
    """(the key as written or None, the target) of one `[key=]name:split[@data_dir]`.

    Raises:
      ConfigError: for text in another form, naming the accepted one.
    """
    match = _TARGET.match(text.strip())
    if match is None:
        raise ConfigError(f"config.cross_dataset.targets entry {text!r} is not {_FORMAT}.")
    data_dir = match["dir"] or default_data_dir
    target = Target(match["key"] or "", match["name"].strip(), match["split"].strip(), data_dir)
    return match["key"], target


def _listed_targets(section: ml_collections.ConfigDict) -> list[str]:
    if "targets" in section:
        return list(section.targets)
    # Configs saved before `targets` (a run's checkpoint) name one target.
    if section.get("name"):
        spec = f"{section.name}:{section.get('split', 'test')}"
        return [f"{spec}@{section.data_dir}" if section.get("data_dir") else spec]
    return []


def targets_of(config: ml_collections.ConfigDict) -> list[Target]:
    """The own test split (when asked for) and every listed target, with unique keys.

    Raises:
      ConfigError: a malformed entry, or two targets with the same key.
    """
    section = config.get("cross_dataset")
    if not section:
        return []
    default_dir = config.dataset.get("data_dir", "")
    found: list[tuple[str | None, Target]] = []
    own_split = section.get("own_test_split", "")
    if own_split:
        own = Target(OWN_TEST_KEY, config.dataset.name, own_split, default_dir, own=True)
        found.append((OWN_TEST_KEY, own))
    found += [parse_target(text, default_dir) for text in _listed_targets(section)]
    bases = [t.dataset.split("/")[0] for _, t in found if not t.own]
    result, seen = [], set()
    for written, target in found:
        key = written
        if key is None:
            base = target.dataset.split("/")[0]
            key = base if bases.count(base) == 1 else re.sub(r"\W", "_", target.dataset)
        if key in seen:
            raise ConfigError(
                f"Two cross-dataset targets have the key {key!r} (config.cross_dataset); name "
                f"them apart as key=name:split, e.g. '{key}2={target.dataset}:{target.split}'."
            )
        seen.add(key)
        data_dir = str(Path(target.data_dir).expanduser().resolve()) if target.data_dir else ""
        result.append(dataclasses.replace(target, key=key, data_dir=data_dir))
    return result


def _none_if_nan(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def table_row(
    target: Target,
    metrics: dict[str, float],
    labels: np.ndarray,
    predicted: np.ndarray,
    class_names: Sequence[str],
) -> dict[str, Any]:
    """One table row: the target, its whole-split metrics and its counts per class (JSON-able)."""
    num_classes = len(class_names)
    true_counts = np.bincount(np.asarray(labels).reshape(-1), minlength=num_classes)
    predicted_counts = np.bincount(np.asarray(predicted).reshape(-1), minlength=num_classes)
    return {
        "target": target.key,
        "dataset": target.dataset,
        "split": target.split,
        "data_dir": target.data_dir,
        "own": target.own,
        "examples": int(true_counts.sum()),
        "accuracy": _none_if_nan(metrics["accuracy"]),
        "f1_macro": _none_if_nan(metrics["f1_macro"]),
        "loss": _none_if_nan(metrics.get("loss", math.nan)),
        # None where the split has no example of the class (JAFFE: contempt).
        "recall": {n: _none_if_nan(metrics[f"recall_{i}"]) for i, n in enumerate(class_names)},
        "counts": {n: int(true_counts[i]) for i, n in enumerate(class_names)},
        "predicted": {n: int(predicted_counts[i]) for i, n in enumerate(class_names)},
    }


def _check_label_space(target: Target, config: ml_collections.ConfigDict):
    """Raises ConfigError unless the target's labels are the model's classes, in order."""
    features = sources.open_builder(target.dataset, target.data_dir).info.features
    names = tuple(config.get("class_names", ()))
    found = tuple(features["label"].names) if "label" in features else None
    if found is None or (names and found != names):
        raise ConfigError(
            f"Cross-dataset target {target.key} ({target.dataset}): its labels are "
            f"{found or 'absent'}, the model's {names}. config.cross_dataset.targets takes "
            "datasets labelled with the same classes (CK+ codes: ck_plus, jaffe, face_folders)."
        )


def _is_evaluation_split(target: Target, config: ml_collections.ConfigDict) -> bool:
    return target.own and target.split == config.dataset.eval_split


def _has_split(target: Target) -> bool:
    return target.split in sources.open_builder(target.dataset, target.data_dir).info.splits


def _target_predictions(
    target: Target,
    config: ml_collections.ConfigDict,
    run_parts: tuple[Any, Any, StageInputs, Any],
    validation: dict[str, np.ndarray] | None,
) -> tuple[dict[str, np.ndarray] | None, str]:
    """(the target's predictions, its figure's name); None for a missing own test split.

    `run_parts`: the final state, the predict step, the inputs and the mesh.
    """
    if _is_evaluation_split(target, config) and validation is not None:
        return validation, "confusion_validation.png"
    if target.own and not _has_split(target):
        logging.warning("%s has no %s split: no own test row.", target.dataset, target.split)
        return None, ""
    _check_label_space(target, config)
    state, predict_step, inputs, mesh = run_parts
    source = sources.open_split(target.dataset, target.data_dir, target.split)
    predictions = evaluate.predict_split(
        state, predict_step, source, inputs.transform, config, mesh
    )
    return predictions, f"confusion_{target.key}.png"


def _add_shared_scores(
    row: dict, predictions: dict[str, np.ndarray], training: dict, class_names: Sequence[str]
) -> None:
    shared = shared_classes.shared_mask(training["counts"], row["counts"])
    logits = predictions["outputs"].reshape(-1, len(class_names))
    row.update(shared_classes.shared_fields(logits, predictions["label"], shared, class_names))


def evaluate_targets(
    state: Any,
    predict_step,
    inputs: StageInputs,
    config: ml_collections.ConfigDict,
    task: Task,
    mesh,
    workdir: Path,
    validation: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """The final model on its own test split and each `config.cross_dataset` target.

    Args:
      validation: predictions of the evaluation split, reused when the own
        test split is the evaluation split.

    Returns:
      `<key>_<metric>` for each target (e.g. `jaffe_accuracy`; with
      `shared_classes`, also `<key>_shared_accuracy` and `<key>_shared_f1_macro`,
      the evaluation split's included), `cross_dataset`, the table's rows, and
      `cross_dataset_training`, the training split's examples per class;
      process 0 also writes a confusion figure per target and
      `cross_dataset.md` (stages/cross_dataset.py).
    """
    targets = targets_of(config)
    if not targets:
        return {}
    result: dict[str, Any] = {}
    rows, figures = [], {}
    class_names = tuple(config.get("class_names", ())) or tuple(map(str, range(config.num_classes)))
    training = shared_classes.training_side(config, class_names)
    score_shared = bool(config.cross_dataset.get("shared_classes", False))
    run_parts = (state, predict_step, inputs, mesh)
    for target in targets:
        predictions, figure = _target_predictions(target, config, run_parts, validation)
        if predictions is None:
            continue
        metrics = evaluate.split_metrics(predictions, config, task)
        if not _is_evaluation_split(target, config):  # Its metrics are the top-level ones.
            result.update({f"{target.key}_{key}": value for key, value in metrics.items()})
        predicted = predictions["outputs"].argmax(-1)
        row = table_row(target, metrics, predictions["label"], predicted, class_names)
        if score_shared:
            _add_shared_scores(row, predictions, training, class_names)
            result.update({f"{target.key}_{name}": row[name] for name in SHARED_SCORES})
        rows.append(row)
        figures[target.key] = f"{run.PLOTS}/{figure}"  # A link relative to the report.
        if jax.process_index() == 0 and figure != "confusion_validation.png":
            confusion_matrices(
                predictions["label"],
                predicted,
                config.num_classes,
                run.RunFolder(workdir).plots / figure,
                title=f"{target.dataset} {target.split}",
                class_names=tuple(config.get("class_names", ())),
            )
    if rows and jax.process_index() == 0:
        write_report(
            workdir / config.cross_dataset.get("report", "cross_dataset.md"),
            rows,
            trained_on=f"`{config.dataset.name}` ({config.dataset.train_split})",
            figures=figures,
            training=training,
        )
    if rows:
        result["cross_dataset"] = rows
        result["cross_dataset_training"] = training
    return result

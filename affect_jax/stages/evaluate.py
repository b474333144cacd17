"""Whole-split evaluation: predictions for every example, then metrics.

Metrics are computed once over all predictions of the split (CCC of the whole
set, never a mean of per-batch values). Also the final model on its own test
split and on other datasets' splits (cross-dataset: CK+ -> JAFFE and any
others, one table; see cross_dataset.py).
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging
from jax.sharding import Mesh

from affect_jax.data import pipeline, sources
from affect_jax.plots.training import confusion_matrices
from affect_jax.runtime import ConfigError
from affect_jax.stages import cross_dataset as cross_dataset_lib
from affect_jax.stages.inputs import StageInputs
from affect_jax.tasks.registry import Task
from affect_jax.training import run, sharding


def predict_split(
    state: Any,
    predict_step: Callable,
    source: Any,
    transform: Any,
    config: ml_collections.ConfigDict,
    mesh: Mesh,
) -> dict[str, np.ndarray]:
    """Runs the model over every example of `source`; returns host arrays."""
    per_process = sharding.per_process_batch_size(config.eval_batch_size, "eval_batch_size")
    collected: dict[str, list[np.ndarray]] = {}
    for local_batch in pipeline.evaluation_batches(source, transform, config, per_process):
        result = jax.device_get(predict_step(state, sharding.to_global_batch(local_batch, mesh)))
        keep = result.pop("mask") > 0
        for key, value in result.items():
            collected.setdefault(key, []).append(value[keep])
    return {key: np.concatenate(parts) for key, parts in collected.items()}


def split_metrics(
    predictions: dict[str, np.ndarray], config: ml_collections.ConfigDict, task: Task
) -> dict[str, float]:
    """Whole-set metrics plus `loss`, the training loss over the whole split."""
    # Per-frame outputs of sequence models ([N, W, D]) count frame by frame.
    outputs = predictions["outputs"].reshape(-1, predictions["outputs"].shape[-1])
    targets = task.targets_of(predictions)
    result = task.metrics(outputs, targets, config)
    result["loss"] = float(
        task.training_loss(config)(jnp.asarray(outputs, jnp.float32), jnp.asarray(targets))
    )
    return result


def run_validation(
    state: Any,
    predict_step,
    inputs: StageInputs,
    config: ml_collections.ConfigDict,
    task: Task,
    mesh,
) -> tuple[dict, dict]:
    """Metrics and predictions of the whole evaluation split."""
    predictions = predict_split(
        state, predict_step, inputs.evaluation, inputs.transform, config, mesh
    )
    return split_metrics(predictions, config, task), predictions


def _check_label_space(target: cross_dataset_lib.Target, config: ml_collections.ConfigDict):
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


def cross_dataset(
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
      `<key>_<metric>` for each target (e.g. `jaffe_accuracy`) and
      `cross_dataset`, the table's rows; process 0 also writes a confusion
      figure per target and `cross_dataset.md` (stages/cross_dataset.py).
    """
    targets = cross_dataset_lib.targets_of(config)
    result: dict[str, Any] = {}
    rows, figures = [], {}
    class_names = tuple(config.get("class_names", ())) or tuple(map(str, range(config.num_classes)))
    for target in targets:
        is_eval_split = target.own and target.split == config.dataset.eval_split
        if is_eval_split and validation is not None:
            predictions, figure = validation, "confusion_validation.png"
        else:
            if (
                target.own
                and target.split
                not in sources.open_builder(target.dataset, target.data_dir).info.splits
            ):
                logging.warning(
                    "%s has no %s split: no own test row.", target.dataset, target.split
                )
                continue
            _check_label_space(target, config)
            source = sources.open_split(target.dataset, target.data_dir, target.split)
            predictions = predict_split(state, predict_step, source, inputs.transform, config, mesh)
            figure = f"confusion_{target.key}.png"
        metrics = split_metrics(predictions, config, task)
        if not is_eval_split:  # The evaluation split's metrics are the top-level ones.
            result.update({f"{target.key}_{key}": value for key, value in metrics.items()})
        predicted = predictions["outputs"].argmax(-1)
        rows.append(
            cross_dataset_lib.table_row(
                target, metrics, predictions["label"], predicted, class_names
            )
        )
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
        cross_dataset_lib.write_report(
            workdir / config.cross_dataset.get("report", "cross_dataset.md"),
            rows,
            trained_on=f"`{config.dataset.name}` ({config.dataset.train_split})",
            figures=figures,
        )
    if rows:
        result["cross_dataset"] = rows
    return result

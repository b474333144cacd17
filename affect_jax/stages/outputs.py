"""What a finished training run leaves beside its checkpoints: results.json and PNGs.

Written by process 0 only. The validation figure is the one the task's row in
tasks/registry.py names.
"""

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import ml_collections
import numpy as np

from affect_jax.plots import multitask as multitask_plots
from affect_jax.plots.training import (
    confusion_matrices,
    label_scores,
    prediction_scatter,
    training_curves,
)
from affect_jax.tasks.registry import Task
from affect_jax.training.metric_writer import read_metrics
from affect_jax.training.run import RunFolder


def _scatter(predictions: dict, result: dict, config, plots_dir: Path) -> None:
    width = predictions["outputs"].shape[-1]
    prediction_scatter(
        predictions["outputs"].reshape(-1, width),
        predictions["targets"].reshape(-1, width),
        tuple(config.targets),
        plots_dir / "validation_scatter.png",
    )


def _confusion(predictions: dict, result: dict, config, plots_dir: Path) -> None:
    confusion_matrices(
        predictions["label"],
        predictions["outputs"].argmax(-1),
        config.num_classes,
        plots_dir / "confusion_validation.png",
        title=config.dataset.eval_split,
        class_names=tuple(config.get("class_names", ())),
    )


def _label_scores(predictions: dict, result: dict, config, plots_dir: Path) -> None:
    scores = {name: result[f"f1_{name}"] for name in config.class_names if f"f1_{name}" in result}
    label_scores(scores, plots_dir / "f1_validation.png", config.dataset.eval_split)


FIGURES: dict[str, Callable[[dict, dict, ml_collections.ConfigDict, Path], None]] = {
    "scatter": _scatter,
    "confusion": _confusion,
    "label_scores": _label_scores,
    "multitask": multitask_plots.write,
}


def json_safe(value: Any) -> Any:
    """`value` with every NaN or infinite float, at any depth, as None (JSON null).

    The recall of a class absent from a split is NaN, which strict JSON has no
    word for.
    """
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def write_outputs(
    workdir: Path,
    config: ml_collections.ConfigDict,
    task: Task,
    result: dict[str, float],
    predictions: dict,
) -> None:
    """results.json, the training curves and the task's validation figure."""
    if jax.process_index() != 0:
        return
    folder = RunFolder(workdir)
    folder.results.write_text(json.dumps(json_safe(result), indent=2, allow_nan=False) + "\n")
    plots_dir = folder.plots
    plots_dir.mkdir(exist_ok=True)
    training_curves(read_metrics(str(workdir)), plots_dir / "training_curves.png")
    FIGURES[task.figure](predictions, result, config, plots_dir)

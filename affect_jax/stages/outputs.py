"""What a finished training run leaves beside its checkpoints: results.json and PNGs.

Written by process 0 only. The validation figure is the one the task's row in
tasks/registry.py names.
"""

import json
from collections.abc import Callable
from pathlib import Path

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
    # NaN (e.g. recall of a class absent from the split) is not JSON: null.
    finite = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in result.items()}
    folder = RunFolder(workdir)
    folder.results.write_text(json.dumps(finite, indent=2) + "\n")
    plots_dir = folder.plots
    plots_dir.mkdir(exist_ok=True)
    training_curves(read_metrics(str(workdir)), plots_dir / "training_curves.png")
    FIGURES[task.figure](predictions, result, config, plots_dir)

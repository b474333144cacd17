"""The multitask run's validation figures: one per task, over the frames it labels."""

from pathlib import Path

import ml_collections
import numpy as np

from affect_jax.plots import training as training_plots
from affect_jax.tasks import multitask
from affect_jax.tasks.labels import VALENCE_AROUSAL


def write(
    predictions: dict, result: dict, config: ml_collections.ConfigDict, plots_dir: Path
) -> None:
    """VA scatter, expression confusion matrices and per-AU F1 bars, for the tasks present."""
    outputs = predictions["outputs"].reshape(len(predictions["outputs"]), -1)
    targets = predictions["targets"].reshape(len(outputs), -1)
    va, expression_logits, _ = multitask.split_outputs(outputs)
    va_targets, expression, _ = multitask.split_targets(targets)
    has_va, has_expression = multitask.labelled_frames(targets)
    if has_va.any():
        training_plots.prediction_scatter(
            va[has_va], va_targets[has_va], VALENCE_AROUSAL, plots_dir / "va_scatter.png"
        )
    if has_expression.any():
        training_plots.confusion_matrices(
            expression[has_expression].astype(np.int64),
            expression_logits[has_expression].argmax(-1),
            multitask.NUM_EXPRESSIONS,
            plots_dir / "expression_confusion.png",
            title=config.dataset.eval_split,
            class_names=tuple(config.class_names),
        )
    scores = {
        name: result[f"au_f1_{name}"] for name in config.action_units if f"au_f1_{name}" in result
    }
    if scores:
        training_plots.label_scores(scores, plots_dir / "au_f1.png", config.dataset.eval_split)

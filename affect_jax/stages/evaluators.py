"""What a training stage evaluates after its last step, listed by name.

A stage's row (stages.STAGES) names its evaluators; `config.evals` (a tuple of
names, optional) replaces that list. Each evaluator takes the finished run
(`Finished`: the final state, its predict step and the validation predictions)
and returns its metrics for results.json, and possibly the per-frame
predictions the run's figures should show instead. The train loop runs the
list in order and knows none of them.
"""

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ml_collections
import numpy as np
from jax.sharding import Mesh

from affect_jax.runtime import ConfigError
from affect_jax.stages import cross_dataset, video_eval
from affect_jax.stages.inputs import StageInputs
from affect_jax.tasks import registry, thresholds
from affect_jax.tasks.columns import AU_PREFIX, task_columns
from affect_jax.tasks.registry import Task


@dataclasses.dataclass
class Finished:
    """A run after its last step, as the evaluators see it."""

    state: Any
    predict_step: Callable
    inputs: StageInputs
    config: ml_collections.ConfigDict
    task: Task
    mesh: Mesh
    workdir: Path
    validation: dict[str, np.ndarray]  # The evaluation split's predictions.


@dataclasses.dataclass
class Evaluation:
    metrics: dict[str, Any]
    # Per-frame predictions for the run's figures, in place of `validation`.
    figure_predictions: dict[str, np.ndarray] | None = None


def _au_thresholds(run: Finished) -> Evaluation:
    """Per-AU decision thresholds chosen on the validation frames (tasks/thresholds.py)."""
    return Evaluation(frame_run_thresholds(run.config, run.validation))


def frame_run_thresholds(config: ml_collections.ConfigDict, predictions: dict) -> dict:
    """`thresholds.best_f1_thresholds` of a frame CNN's validation predictions; {}
    without an AU head.

    The AU targets are the last K target columns (the AU config's 13, the
    multitask record's after valence, arousal and expression).
    """
    names = registry.output_names(config)
    au_columns = task_columns(names).get("au")
    if not au_columns or "targets" not in predictions:
        return {}
    outputs = np.asarray(predictions["outputs"]).reshape(-1, len(names))
    targets = np.asarray(predictions["targets"]).reshape(len(outputs), -1)
    au_names = tuple(names[c][len(AU_PREFIX) :] for c in au_columns)
    return thresholds.best_f1_thresholds(
        outputs[:, au_columns], targets[:, -len(au_columns) :], au_names
    )


def _per_video(run: Finished) -> Evaluation:
    """Every validation frame of every video, the CNN alone beside it, AU thresholds
    and the challenge-format files (video_eval.py)."""
    metrics, frames = video_eval.per_video_evaluation(
        run.inputs.evaluation_store, run.config, run.task, run.workdir, run.validation
    )
    return Evaluation(metrics, figure_predictions=frames)


def _cross_dataset(run: Finished) -> Evaluation:
    """The own test split and `config.cross_dataset`'s other datasets (cross_dataset.py)."""
    if not run.config.get("cross_dataset"):
        return Evaluation({})
    return Evaluation(
        cross_dataset.evaluate_targets(
            run.state,
            run.predict_step,
            run.inputs,
            run.config,
            run.task,
            run.mesh,
            run.workdir,
            run.validation,
        )
    )


EVALUATORS: dict[str, Callable[[Finished], Evaluation]] = {
    "au_thresholds": _au_thresholds,
    "per_video": _per_video,
    "cross_dataset": _cross_dataset,
}


def names_for(config: ml_collections.ConfigDict, default: tuple[str, ...]) -> tuple[str, ...]:
    """`config.evals` when set, else the stage's `default`; unknown names are errors."""
    names = tuple(config.get("evals", None) or default)
    unknown = [name for name in names if name not in EVALUATORS]
    if unknown:
        raise ConfigError(
            f"config.evals names {unknown}; valid evaluators: {', '.join(EVALUATORS)}."
        )
    return names


def run_all(run: Finished, names: tuple[str, ...]) -> tuple[dict[str, Any], dict]:
    """Runs `names` in order: their metrics merged, and the predictions for the figures."""
    metrics: dict[str, Any] = {}
    figures = run.validation
    for name in names:
        evaluation = EVALUATORS[name](run)
        metrics.update(evaluation.metrics)
        if evaluation.figure_predictions is not None:
            figures = evaluation.figure_predictions
    return metrics, figures

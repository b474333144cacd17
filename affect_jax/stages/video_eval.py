"""Per-frame predictions for whole videos from window predictions.

A window's last output predicts one frame (its target row). Frames that no
window predicts (the first frames of each gap-free run, frames of short runs)
get values by linear interpolation between the nearest predicted frames of the
same video, and the nearest value at either end (forward/backward fill).
Metrics are over every labelled frame of the split (each task over the
frames it labels), so the RNN and the single-frame CNN are compared on exactly
the same frames. Outputs are interpolated as they come: values, and logits for
expressions and AUs.
"""

from pathlib import Path
from typing import Any

import jax
import ml_collections
import numpy as np
from absl import logging

from affect_jax.data.feature_store import FeatureStore, label_columns, label_names
from affect_jax.data.windows import fill_by_interpolation
from affect_jax.plots.timelines import Timeline, plot_timelines
from affect_jax.stages import challenge_files
from affect_jax.tasks import losses, registry, thresholds
from affect_jax.tasks.columns import AU_PREFIX, EXPRESSION_PREFIX, task_columns
from affect_jax.tasks.labels import VALENCE_AROUSAL
from affect_jax.tasks.registry import Task
from affect_jax.training import run


def frame_predictions(
    store: FeatureStore, rows: np.ndarray, outputs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Prediction for every row of `store`, and whether it was interpolated.

    Args:
      rows: the store row each window predicts; outputs: [len(rows), D].
    """
    video_ids = np.asarray(store.video_ids)
    frames = np.asarray(store.frames)
    predictions = np.zeros((len(store), outputs.shape[-1]), np.float64)
    interpolated = np.ones(len(store), bool)
    predictions[rows] = outputs
    interpolated[rows] = False
    for video in np.unique(video_ids):
        members = np.flatnonzero(video_ids == video)
        have = members[~interpolated[members]]
        if len(have) == 0:
            continue  # No window in this video at all; filled below.
        missing = members[interpolated[members]]
        if len(missing):
            predictions[missing] = fill_by_interpolation(
                frames[have], predictions[have], frames[missing]
            )
    # A video with no window anywhere has nothing to interpolate from: use the
    # mean prediction of the split, and count those frames as interpolated.
    without = np.setdiff1d(np.unique(video_ids), np.unique(video_ids[rows]))
    if len(without):
        predictions[np.isin(video_ids, without)] = outputs.mean(0)
    return predictions, interpolated


def plot_store_timelines(
    store: FeatureStore,
    predictions: np.ndarray,
    names: tuple[str, ...],
    path: Path,
    max_videos: int = 4,
) -> Path:
    """Prediction vs label over time for the first `max_videos` videos of the store."""
    labels = np.asarray(store.labels)[:, [store.label_names.index(name) for name in names]]
    video_ids = np.asarray(store.video_ids)
    timelines = []
    for video in np.unique(video_ids)[:max_videos]:
        rows = np.flatnonzero(video_ids == video)
        timelines.append(
            Timeline(
                store.video_names[video],
                np.asarray(store.frames)[rows],
                predictions[rows],
                # The -5 of frames without a VA label (multitask records) is no value.
                label=np.where(labels[rows] > losses.VA_ABSENT_BELOW, labels[rows], np.nan),
            )
        )
    return plot_timelines(timelines, names, path)


def _label_of(output_name: str) -> str:
    """The feature store label an output column is scored on."""
    if output_name.startswith(EXPRESSION_PREFIX):
        return "expression"
    return output_name.removeprefix(AU_PREFIX)


def cnn_baseline(
    store: FeatureStore, config: ml_collections.ConfigDict, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The store CNN's outputs in the RNN's column order, and the labels to score them on.

    Heads the CNN lacks (a VA CNN's store under a multitask RNN) get zeros and
    their labels become sentinels, so the task's metrics leave them out; None
    when the CNN has none of the RNN's heads. Stores written before
    `cnn_output_names` hold a VA CNN's outputs in the order of their labels.
    """
    cnn_names = store.metadata.get("cnn_output_names", store.label_names)
    wanted = registry.output_names(config)
    heads = task_columns(wanted)
    present = {h: cols for h, cols in heads.items() if {wanted[c] for c in cols} <= set(cnn_names)}
    if not present:
        return None
    cnn_outputs = np.asarray(store.cnn_outputs)
    outputs = np.zeros((len(store), len(wanted)), np.float32)
    for columns in present.values():
        outputs[:, columns] = cnn_outputs[:, [cnn_names.index(wanted[c]) for c in columns]]
    target_names = label_names(tuple(config.targets))
    labels = np.array(labels, np.float32)
    for head, columns in heads.items():
        if head not in present:
            missing = {_label_of(wanted[c]) for c in columns}
            sentinel = -5.0 if head == "va" else -1.0
            labels[:, [i for i, n in enumerate(target_names) if n in missing]] = sentinel
    return outputs, labels


def _labelled_rows(labels: np.ndarray, names: list[str]) -> np.ndarray:
    """Rows with any label: VA above its -5 sentinel, classes and AUs >= 0."""
    low = np.array([losses.VA_ABSENT_BELOW if n in VALENCE_AROUSAL else -0.5 for n in names])
    return (labels > low).any(-1)


def compare_with_cnn(
    store: FeatureStore, predictions: np.ndarray, config: ml_collections.ConfigDict, task: Task
) -> dict[str, float]:
    """Whole-set metrics of the RNN (`frame_`) and of the CNN alone (`cnn_`) on the same frames.

    The task's own metrics (registry), over the frames each task labels; no
    `cnn_` keys for the heads the store's CNN lacks (a VA CNN's store under an
    expression RNN has none).
    """

    def targets_of(labels: np.ndarray) -> np.ndarray:
        return labels[:, 0] if task.classifies else labels

    labels = np.asarray(store.labels)[:, label_columns(store.label_names, tuple(config.targets))]
    rnn = task.metrics(predictions, targets_of(labels), config)
    result = {f"frame_{k}": v for k, v in rnn.items()}
    baseline = cnn_baseline(store, config, labels)
    if baseline is None:
        logging.info("The feature store's CNN lacks the RNN's heads: no cnn_ metrics.")
    else:
        cnn = task.metrics(baseline[0], targets_of(baseline[1]), config)
        result.update({f"cnn_{k}": v for k, v in cnn.items()})
    return result


def _au_parts(store: FeatureStore, config):
    """(AU output columns, AU names, their [rows, K] labels), or None without an AU head."""
    columns = task_columns(registry.output_names(config)).get("au")
    if not columns:
        return None
    names = tuple(registry.output_names(config)[c][len(AU_PREFIX) :] for c in columns)
    label_columns(store.label_names, names, store.directory)  # Raises naming what is missing.
    labels = np.asarray(store.labels)[:, [store.label_names.index(n) for n in names]]
    return columns, names, labels


def write_prediction_files(
    store: FeatureStore, frames: np.ndarray, config, out_dir: Path, chosen: dict | None
) -> int:
    """The challenge files of every head the run has (challenge_files.py); returns videos."""
    heads = task_columns(registry.output_names(config))
    count = 0
    if "va" in heads:
        names = tuple(registry.output_names(config)[c] for c in heads["va"])
        count = challenge_files.write_va(store, frames[:, heads["va"]], names, out_dir)
    if "expression" in heads:
        count = challenge_files.write_expressions(
            store, frames[:, heads["expression"]], out_dir / challenge_files.EXPRESSION_FOLDER
        )
    parts = _au_parts(store, config)
    if parts:
        columns, names, labels = parts
        annotated = [n for k, n in enumerate(names) if (labels[:, k] >= 0).any()]
        count = challenge_files.write_action_units(
            store, frames[:, columns], names, annotated, out_dir / challenge_files.AU_FOLDER, chosen
        )
    return count


def per_video_evaluation(
    store: FeatureStore,
    config: ml_collections.ConfigDict,
    task: Task,
    workdir: Path,
    predictions: dict,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Every validation frame predicted (gaps interpolated), the CNN alone beside it,
    AU thresholds (tasks/thresholds.py) and the challenge-format prediction files.

    `store` is the evaluation feature store the validation windows came from.

    Returns:
      The metrics, and the per-frame predictions of the labelled frames
      (`outputs` and the task's target key) for the run's figures.
    """
    outputs = predictions["outputs"]
    if outputs.ndim == 3:  # `every` target: a window's last output is causal.
        outputs = outputs[:, -1]
    frames, interpolated = frame_predictions(store, predictions["row"].astype(np.int64), outputs)
    result: dict[str, Any] = compare_with_cnn(store, frames, config, task)
    result["frames_interpolated"] = float(interpolated.mean())
    parts = _au_parts(store, config)
    chosen = None
    if parts:  # Chosen on the RNN's per-frame validation predictions.
        columns, names, labels = parts
        tuned = thresholds.best_f1_thresholds(frames[:, columns], labels, names)
        chosen = tuned[thresholds.THRESHOLDS_KEY]
        result.update(tuned)
        result["frame_au_f1_mean_at_thresholds"] = float(
            np.mean(list(tuned["au_f1_at_thresholds"].values()))
        )
    names = label_names(tuple(config.targets))
    labels = np.asarray(store.labels)[:, label_columns(store.label_names, tuple(config.targets))]
    keep = _labelled_rows(labels, names)
    figure_inputs = {
        "outputs": frames[keep],
        task.target_key: labels[keep, 0] if task.classifies else labels[keep],
    }
    if jax.process_index() == 0:
        folder = run.RunFolder(workdir)
        count = write_prediction_files(store, frames, config, folder.predictions, chosen)
        heads = task_columns(registry.output_names(config))
        if "va" in heads:
            va_names = tuple(registry.output_names(config)[c] for c in heads["va"])
            plot_store_timelines(
                store, frames[:, heads["va"]], va_names, folder.plots / "timelines.png"
            )
        logging.info("Wrote %d videos' prediction files to %s", count, folder.predictions)
    return result, figure_inputs

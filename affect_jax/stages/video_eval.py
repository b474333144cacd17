"""Per-frame predictions for whole videos from window predictions.

A window's last output predicts one frame (its target row). Frames that no
window predicts (the first frames of each gap-free run, frames of short runs)
get values by linear interpolation between the nearest predicted frames of the
same video, and the nearest value at either end (forward/backward fill).
Metrics are over every labelled frame of the split, so the RNN and the
single-frame CNN are compared on exactly the same frames.
"""

from pathlib import Path

import jax
import ml_collections
import numpy as np
from absl import logging

from affect_jax.data.feature_store import FeatureStore
from affect_jax.data.windows import fill_by_interpolation
from affect_jax.plots.timelines import Timeline, plot_timelines
from affect_jax.tasks import metrics


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


def compare_with_cnn(
    store: FeatureStore, predictions: np.ndarray, names: tuple[str, ...]
) -> dict[str, float]:
    """Whole-set metrics of the RNN and of the CNN alone on the same frames."""
    columns = [store.label_names.index(name) for name in names]
    labels = np.asarray(store.labels)[:, columns]
    rnn = metrics.regression_metrics(predictions, labels, names)
    cnn = metrics.regression_metrics(np.asarray(store.cnn_outputs)[:, columns], labels, names)
    return {**{f"frame_{k}": v for k, v in rnn.items()}, **{f"cnn_{k}": v for k, v in cnn.items()}}


def write_challenge_files(
    store: FeatureStore, predictions: np.ndarray, names: tuple[str, ...], out_dir: Path
) -> int:
    """One `<video>.txt` per video: a `valence,arousal` header, then a line per frame.

    Lines cover frames 1..last frame of the video in the store; frames absent
    from the store (no face, no label) are interpolated like the rest.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    video_ids = np.asarray(store.video_ids)
    frames = np.asarray(store.frames)
    for video in np.unique(video_ids):
        members = np.flatnonzero(video_ids == video)
        every_frame = np.arange(1, frames[members].max() + 1)
        values = np.clip(
            fill_by_interpolation(frames[members], predictions[members], every_frame),
            -1.0,
            1.0,
        )
        lines = [",".join(names)] + [",".join(f"{v:.4f}" for v in row) for row in values]
        (out_dir / f"{store.video_names[video]}.txt").write_text("\n".join(lines) + "\n")
    return len(np.unique(video_ids))


def plot_store_timelines(
    store: FeatureStore,
    predictions: np.ndarray,
    names: tuple[str, ...],
    path: Path,
    max_videos: int = 4,
) -> Path:
    """Prediction vs label over time for the first `max_videos` videos of the store."""
    columns = [store.label_names.index(name) for name in names]
    video_ids = np.asarray(store.video_ids)
    timelines = []
    for video in np.unique(video_ids)[:max_videos]:
        rows = np.flatnonzero(video_ids == video)
        timelines.append(
            Timeline(
                store.video_names[video],
                np.asarray(store.frames)[rows],
                predictions[rows],
                label=np.asarray(store.labels)[rows][:, columns],
            )
        )
    return plot_timelines(timelines, names, path)


def per_video_evaluation(
    config: ml_collections.ConfigDict, workdir: Path, predictions: dict
) -> dict[str, float]:
    """Every validation frame predicted (gaps interpolated), the CNN alone beside it,
    and the challenge-format prediction files."""
    store = FeatureStore(Path(config.rnn.features_dir) / config.dataset.eval_split)
    outputs = predictions["outputs"]
    if outputs.ndim == 3:  # `every` target: a window's last output is causal.
        outputs = outputs[:, -1]
    frames, interpolated = frame_predictions(store, predictions["row"].astype(np.int64), outputs)
    names = tuple(config.targets)
    result = compare_with_cnn(store, frames, names)
    result["frames_interpolated"] = float(interpolated.mean())
    if jax.process_index() == 0:
        count = write_challenge_files(store, frames, names, workdir / "predictions")
        plot_store_timelines(store, frames, names, workdir / "plots" / "timelines.png")
        logging.info("Wrote %d prediction files to %s/predictions", count, workdir)
    return result

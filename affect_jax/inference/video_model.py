"""A trained run restored for prediction: face crops in, valence/arousal per frame out.

`load_video_model(path)` takes a train_rnn or train_cnn run (its workdir, its
checkpoints/ folder, or one checkpoints/<step> folder) and rebuilds the model
from the config saved in the checkpoint. An RNN run finds its CNN through an
explicit `cnn_path`, else its feature store, else its `config.rnn.cnn_workdir`
(training/run.cnn_of_rnn).

Which frames the RNN predicts: the frames that would be window targets in
training (data/windows.py), with frames that have no face breaking runs as
missing frames do in the feature store. With `rnn.target=next` a frame is
predicted when it and the W frames before it all have a face; with `every`,
when it and the W-1 before it do. Every other frame (no face, or too soon
after a gap) is interpolated linearly between predicted frames, constant
beyond the first and last (data/windows.py, as in the validation figures).
A video with faces but no full window gets the CNN head's values on its face
frames instead (a warning says so); a video with no face gets none.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import numpy as np
from absl import logging

from affect_jax.data import pipeline, windows
from affect_jax.data.windows import fill_by_interpolation
from affect_jax.inference import heads
from affect_jax.tasks import registry, thresholds
from affect_jax.tasks.labels import VALENCE_AROUSAL
from affect_jax.training import sharding, steps
from affect_jax.training.run import RunFolder, cnn_of_rnn, find_checkpoint, restore_run_state

RNN_BATCH_SIZE = 256  # Windows per RNN call: fixed, so the RNN compiles once.


@dataclasses.dataclass
class VideoModel:
    """A CNN (and optionally an RNN over its features) ready to predict.

    Attributes:
      cnn_path / rnn_path: the checkpoints restored (rnn_path "" for a CNN run).
      cnn_columns / rnn_columns: the output columns holding `value_names`
        (-1: the CNN of an RNN run lacks that value).
      value_names: what `values` gives per frame (inference/heads.py).
      au_thresholds: per AU, the probability above which it is active (the
        run's, chosen on validation; 0.5 for AUs it has none for).
      window, target: the RNN's config.rnn.window and .target.
      feature_dtype: features are rounded to the store's dtype, as in training.
    """

    cnn_state: Any
    cnn_path: str
    cnn_columns: tuple[int, ...]
    mesh: Any
    batch_size: int
    rnn_state: Any = None
    rnn_path: str = ""
    rnn_columns: tuple[int, ...] = (0, 1)
    window: int = 0
    target: str = "next"
    feature_dtype: str = "float32"
    value_names: tuple[str, ...] = VALENCE_AROUSAL
    au_thresholds: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        self._cnn = steps.make_predict_step(self.mesh, return_features=True)
        self._rnn = steps.make_predict_step(self.mesh)

    def submit(self, crops: np.ndarray) -> tuple[Any, int]:
        """Starts the CNN on uint8 crops [n, 96, 96]; `collect` gets the results.

        JAX dispatches asynchronously, so the caller can find the next faces
        while the CNN runs.
        """
        padded = pipeline.pad_batch({"inputs": crops[..., None]}, self.batch_size)["inputs"]
        batch = sharding.to_global_batch({"inputs": padded}, self.mesh)
        return self._cnn(self.cnn_state, batch), len(crops)

    @staticmethod
    def collect(pending: tuple[Any, int]) -> tuple[np.ndarray, np.ndarray]:
        """CNN head outputs [n, K] and features [n, D] of a `submit`ted batch."""
        result, count = jax.device_get(pending[0]), pending[1]
        outputs, features = result["outputs"], result["features"]
        return np.asarray(outputs[:count], np.float32), np.asarray(features[:count], np.float32)

    def _rnn_outputs(self, features: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """The RNN's prediction for the window starting at each row of `starts`."""
        features = features.astype(self.feature_dtype).astype(np.float32)
        offsets = np.arange(self.window)
        results = []
        for first in range(0, len(starts), RNN_BATCH_SIZE):
            chunk = starts[first : first + RNN_BATCH_SIZE]
            # Gathered per batch: all windows at once would be W times the features.
            batch = pipeline.pad_batch(
                {"inputs": features[chunk[:, None] + offsets]}, RNN_BATCH_SIZE
            )
            batch.pop("mask")
            outputs = jax.device_get(
                self._rnn(self.rnn_state, sharding.to_global_batch(batch, self.mesh))["outputs"]
            )
            if outputs.ndim == 3:  # target=every: the last output is the causal one.
                outputs = outputs[:, -1]
            results.append(outputs[: len(chunk)])
        return np.concatenate(results)[:, list(self.rnn_columns)]

    def _cnn_values(self, cnn_outputs: np.ndarray) -> np.ndarray:
        columns = np.asarray(self.cnn_columns)
        values = cnn_outputs[:, np.maximum(columns, 0)].astype(np.float64)
        values[:, columns < 0] = np.nan
        return values

    def values(
        self, face: np.ndarray, features: np.ndarray, cnn_outputs: np.ndarray, name: str = ""
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every frame's `value_names`, and whether each frame was interpolated.

        Args:
          face: bool [frames], whether the frame has a face.
          features, cnn_outputs: CNN results of the face frames, in order.

        Returns:
          values float [frames, len(value_names)]: valence and arousal in
          [-1, 1], expression and AU probabilities (NaN everywhere if no face);
          interpolated bool [frames].
        """
        face_frames = np.flatnonzero(face)
        all_frames = np.arange(len(face))
        if len(face_frames) == 0:
            return np.full((len(face), len(self.value_names)), np.nan), np.zeros(len(face), bool)
        known, known_values = face_frames, self._cnn_values(cnn_outputs)
        if self.rnn_state is not None:
            starts = windows.window_starts(
                np.zeros(len(face_frames)), face_frames, self.window, 1, self.target
            )
            if len(starts):
                rows = windows.predicted_rows(starts, self.window, self.target)
                known, known_values = face_frames[rows], self._rnn_outputs(features, starts)
            else:
                logging.warning(
                    "%s: no run of %d frames with a face, so the RNN predicts nothing; "
                    "values are the CNN's, frame by frame.",
                    name,
                    self.window + (self.target == "next"),
                )
        interpolated = ~np.isin(all_frames, known)
        # Probabilities, not logits, are interpolated: labels derive from them.
        known_values = registry.probabilities(known_values, self.value_names)
        values = fill_by_interpolation(known, known_values, all_frames)
        return heads.clip_values(values, self.value_names), interpolated


def load_video_model(
    path: str | Path,
    *,
    cnn_path: str | Path | None = None,
    which: str = "best",
    batch_size: int = 64,
) -> VideoModel:
    """Restores the run at `path` (RNN or CNN) for `VideoModel` prediction.

    Raises:
      NotACheckpointError: `path` (or the RNN's CNN) is not a usable checkpoint.
    """
    mesh = sharding.make_data_mesh()
    batch_size = sharding.per_process_batch_size(batch_size, "batch_size (--batch_size)")
    workdir, step, config = find_checkpoint(path, which)
    where = str(RunFolder(workdir).step_dir(step))
    names, columns = heads.predicted_columns(config, where)
    outputs = dict(value_names=names, au_thresholds=_au_thresholds(workdir))
    if config.model.name == "cnn":
        if cnn_path:
            logging.warning("%s is a CNN run; --cnn_checkpoint is ignored.", where)
        state = restore_run_state(workdir, step, config, mesh)
        return VideoModel(state, where, columns, mesh, batch_size, **outputs)
    cnn_workdir, cnn_step, cnn_config, info = cnn_of_rnn(config, where, cnn_path)
    cnn_where = str(RunFolder(cnn_workdir).step_dir(cnn_step))
    if info and Path(info["checkpoint"]).resolve() != Path(cnn_where):
        logging.warning(
            "The RNN %s learned from the features of %s; predicting with those of %s.",
            where,
            info["checkpoint"],
            cnn_where,
        )
    logging.info("RNN %s over the features of CNN %s", where, cnn_where)
    return VideoModel(
        restore_run_state(cnn_workdir, cnn_step, cnn_config, mesh),
        cnn_where,
        tuple(heads.columns_for(names, cnn_config)),
        mesh,
        batch_size,
        rnn_state=restore_run_state(workdir, step, config, mesh, cnn_config.model.feature_dim),
        rnn_path=where,
        rnn_columns=columns,
        window=int(config.rnn.window),
        target=config.rnn.target,
        feature_dtype=info.get("feature_dtype", "float32"),
        **outputs,
    )


def _au_thresholds(workdir: Path) -> dict[str, float]:
    """The AU thresholds a run chose on validation (results.json), or {} (0.5 each)."""
    return dict(RunFolder(workdir).read_results().get(thresholds.THRESHOLDS_KEY) or {})

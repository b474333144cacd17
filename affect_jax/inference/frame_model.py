"""What a restored model predicts for each frame of a face's track, whoever runs it.

`FrameModel` holds what prediction needs besides the networks: which output
columns hold which values, the RNN's window and target rule, the AU
thresholds. Its subclasses run the networks: `video_model.VideoModel` with JAX
(a training run) and `exported_model.ExportedModel` with ONNX Runtime (a folder
from `python -m affect_jax.export`). This module imports neither.

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
from typing import Any

import numpy as np
from absl import logging

from affect_jax.data import provenance, windows
from affect_jax.data.windows import fill_by_interpolation
from affect_jax.tasks.columns import probabilities
from affect_jax.tasks.labels import VALENCE_AROUSAL

RNN_BATCH_SIZE = 256  # Windows per RNN call: fixed, so the RNN compiles once.


@dataclasses.dataclass(kw_only=True)
class FrameModel:
    """A CNN (and optionally an RNN over its features) ready to predict.

    Attributes:
      cnn_path / rnn_path: where the networks came from (rnn_path "": no RNN).
      cnn_columns / rnn_columns: the output columns holding `value_names`
        (-1: the CNN of an RNN run lacks that value).
      batch_size: face crops per CNN call.
      value_names: what `values` gives per frame (inference/heads.py).
      au_thresholds: per AU, the probability above which it is active (the
        run's, chosen on validation; 0.5 for AUs it has none for).
      window, target: the RNN's config.rnn.window and .target.
      feature_dtype: features are rounded to the store's dtype, as in training.
      training_data: where each network's training faces came from (its run's
        results.json record, data/provenance.py; None where unrecorded).
    """

    cnn_path: str
    cnn_columns: tuple[int, ...]
    batch_size: int
    rnn_path: str = ""
    rnn_columns: tuple[int, ...] = (0, 1)
    window: int = 0
    target: str = "next"
    feature_dtype: str = "float32"
    value_names: tuple[str, ...] = VALENCE_AROUSAL
    au_thresholds: dict = dataclasses.field(default_factory=dict)
    training_data: tuple[dict | None, ...] = ()

    @property
    def has_rnn(self) -> bool:
        return bool(self.rnn_path)

    @property
    def synthetic_only(self) -> bool:
        """Whether every network learned from synthetic faces only."""
        return provenance.learned_only_from_synthetic(list(self.training_data))

    def description(self) -> dict[str, Any]:
        """What a prediction's sidecar JSON says of the model."""
        return {
            "cnn": self.cnn_path,
            "rnn": self.rnn_path or None,
            "training_data": list(self.training_data),
            "synthetic_only": self.synthetic_only,
            "note": provenance.SYNTHETIC_NOTE if self.synthetic_only else "",
        }

    def submit(self, crops: np.ndarray) -> Any:
        """Starts the CNN on uint8 crops [n, 96, 96] (n <= batch_size); `collect` ends it."""
        raise NotImplementedError

    def collect(self, pending: Any) -> tuple[np.ndarray, np.ndarray]:
        """CNN head outputs [n, K] and features [n, D] (float32) of a `submit`ted batch."""
        raise NotImplementedError

    def run_rnn(self, windows_batch: np.ndarray) -> np.ndarray:
        """RNN outputs of RNN_BATCH_SIZE windows [B, W, D] float32: [B, K], or
        [B, W, K] with target=every."""
        raise NotImplementedError

    def _rnn_outputs(self, features: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """The RNN's prediction for the window starting at each row of `starts`."""
        features = features.astype(self.feature_dtype).astype(np.float32)
        offsets = np.arange(self.window)
        results = []
        for first in range(0, len(starts), RNN_BATCH_SIZE):
            chunk = starts[first : first + RNN_BATCH_SIZE]
            # Gathered per batch: all windows at once would be W times the features.
            batch = np.zeros((RNN_BATCH_SIZE, self.window, features.shape[1]), np.float32)
            batch[: len(chunk)] = features[chunk[:, None] + offsets]
            outputs = np.asarray(self.run_rnn(batch))
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
        if self.has_rnn:
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
        known_values = probabilities(known_values, self.value_names)
        values = fill_by_interpolation(known, known_values, all_frames)
        return clip_values(values, self.value_names), interpolated


def clip_values(values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Valence and arousal clipped to [-1, 1] (the labels' range); probabilities as they are."""
    values = values.copy()
    va = [c for c, name in enumerate(names) if name in VALENCE_AROUSAL]
    values[:, va] = np.clip(values[:, va], -1.0, 1.0)
    return values

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

from affect_jax.data import provenance
from affect_jax.inference.track_values import RnnBatches, TrackValues
from affect_jax.tasks.labels import VALENCE_AROUSAL


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
      photometric: the CNN's config.input.photometric (faces/photometric.py);
        cnn_batches.CnnBatches applies it to every crop before `submit`.
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
    photometric: str = "none"

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
            "photometric": self.photometric,
            "synthetic_only": self.synthetic_only,
            "note": provenance.SYNTHETIC_NOTE if self.synthetic_only else "",
        }

    def submit(self, crops: np.ndarray) -> Any:
        """Starts the CNN on uint8 crops [n, 96, 96] (n <= batch_size); `collect` ends it.

        The crops are taken as given: CnnBatches normalises them (`photometric`) first.
        """
        raise NotImplementedError

    def collect(self, pending: Any) -> tuple[np.ndarray, np.ndarray]:
        """CNN head outputs [n, K] and features [n, D] (float32) of a `submit`ted batch."""
        raise NotImplementedError

    def run_rnn(self, windows_batch: np.ndarray) -> np.ndarray:
        """RNN outputs of track_values.RNN_BATCH_SIZE windows [B, W, D] float32: [B, K], or
        [B, W, K] with target=every."""
        raise NotImplementedError

    def cnn_head_values(self, cnn_outputs: np.ndarray) -> np.ndarray:
        """The CNN head's `value_names` [n, len(value_names)] (NaN where it lacks one)."""
        columns = np.asarray(self.cnn_columns)
        values = cnn_outputs[:, np.maximum(columns, 0)].astype(np.float64)
        values[:, columns < 0] = np.nan
        return values

    def values(
        self, face: np.ndarray, features: np.ndarray, cnn_outputs: np.ndarray, name: str = ""
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every frame's `value_names`, and whether each frame was interpolated.

        The whole video's results at once; prediction streams them instead
        (track_values.py, which says what the values are).

        Args:
          face: bool [frames], whether the frame has a face.
          features, cnn_outputs: CNN results of the face frames, in order.
        """
        batches = RnnBatches(self)
        track = TrackValues(self, face, batches, name)
        if len(cnn_outputs):
            track.add(cnn_outputs, features)
        batches.flush()
        return track.finish()

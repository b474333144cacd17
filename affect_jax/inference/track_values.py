"""One face's values, built while its CNN results arrive: memory that does not grow with the video.

The RNN windows a face will have depend only on which frames have the face
(frame_model.py), and those are known from its track before any crop is cut.
So each face keeps only its last W feature rows; a window goes to the RNN, in
batches of RNN_BATCH_SIZE shared by all faces, as soon as its last row
arrives. What is kept for every face frame is a few floats: the CNN's values
(the fallback when no full window exists) and the RNN's, which the CSV and the
timeline need anyway. Holding every face frame's features instead grew peak
memory by ~45 KB a frame (benchmarks/predict_memory.py).

    batches = RnnBatches(model)
    faces = [TrackValues(model, present, batches) for present in ...]
    faces[t].add(cnn_outputs, features)  # Rows in frame order, any number at a time.
    batches.flush()
    values, interpolated = faces[t].finish()
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from absl import logging

from affect_jax.data import windows
from affect_jax.data.windows import fill_by_interpolation
from affect_jax.tasks.columns import probabilities
from affect_jax.tasks.labels import VALENCE_AROUSAL


class FrameModel(Protocol):
    """What this module needs of a frame_model.FrameModel (which imports this module)."""

    value_names: tuple[str, ...]
    rnn_columns: tuple[int, ...]
    window: int
    target: str
    feature_dtype: str

    @property
    def has_rnn(self) -> bool: ...

    def cnn_head_values(self, cnn_outputs: np.ndarray) -> np.ndarray: ...

    def run_rnn(self, windows_batch: np.ndarray) -> np.ndarray: ...


RNN_BATCH_SIZE = 256  # Windows per RNN call: fixed, so the RNN compiles once.


class RnnBatches:
    """Windows of every face, sent to the RNN RNN_BATCH_SIZE at a time.

    Windows are copied straight into one batch buffer that lives as long as
    this object: a new 30 MB batch (and 256 window copies) per call fragmented
    the heap enough to grow peak memory with the video's length.
    """

    def __init__(self, model: FrameModel):
        self.model = model
        self._batch: np.ndarray | None = None
        self._owners: list[tuple[TrackValues, int]] = []

    def add(self, ring: np.ndarray, rows: np.ndarray, owner: TrackValues, index: int) -> None:
        """Queues `owner`'s window number `index`: `rows` of its feature ring [W, D], in order."""
        if self._batch is None:
            self._batch = np.zeros((RNN_BATCH_SIZE, *ring.shape), np.float32)
        np.take(ring, rows, axis=0, out=self._batch[len(self._owners)])
        self._owners.append((owner, index))
        if len(self._owners) == RNN_BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        """Runs the queued windows (padded to a full batch) and hands each face its outputs."""
        if not self._owners:
            return
        count = len(self._owners)
        self._batch[count:] = 0.0  # Padding: what a previous batch left there is not sent.
        outputs = np.asarray(self.model.run_rnn(self._batch))
        if outputs.ndim == 3:  # target=every: the last output is the causal one.
            outputs = outputs[:, -1]
        outputs = outputs[:count, list(self.model.rnn_columns)]
        for (owner, index), row in zip(self._owners, outputs, strict=True):
            owner.rnn_values[index] = row
        self._owners = []


class TrackValues:
    """One face's values over a video, from its CNN results given in frame order."""

    def __init__(self, model: FrameModel, present: np.ndarray, batches: RnnBatches, name: str = ""):
        """
        Args:
          present: bool [frames], whether the face is in each frame.
          batches: where this face's RNN windows go (shared by a video's faces).
          name: for the warning when the face has no full window.
        """
        self.model, self.batches, self.name = model, batches, name
        self.num_frames = len(present)
        self.face_frames = np.flatnonzero(present)
        self.cnn_values = np.full((len(self.face_frames), len(model.value_names)), np.nan)
        self.starts = np.zeros(0, np.int64)
        if model.has_rnn and len(self.face_frames):
            self.starts = windows.window_starts(
                np.zeros(len(self.face_frames)), self.face_frames, model.window, 1, model.target
            )
        self.rnn_values = np.full((len(self.starts), len(model.rnn_columns)), np.nan)
        self._ring: np.ndarray | None = None  # The last W feature rows, row r at r % W.
        self._received = 0
        self._next_window = 0

    def add(self, cnn_outputs: np.ndarray, features: np.ndarray) -> None:
        """The CNN's outputs [m, K] and features [m, D] of this face's next m face frames."""
        first, self._received = self._received, self._received + len(cnn_outputs)
        if self._received > len(self.face_frames):
            raise ValueError(f"{self.name}: more CNN rows than the face's {len(self.face_frames)}")
        self.cnn_values[first : self._received] = self.model.cnn_head_values(cnn_outputs)
        if not len(self.starts):
            return
        window = self.model.window
        if self._ring is None:
            self._ring = np.zeros((window, features.shape[1]), np.float32)
        # Rounded to the feature store's dtype, as the RNN saw features in training.
        rounded = features.astype(self.model.feature_dtype).astype(np.float32)
        for row in range(first, self._received):
            self._ring[row % window] = rounded[row - first]
            while (
                self._next_window < len(self.starts)
                and self.starts[self._next_window] + window - 1 == row
            ):
                rows = np.arange(row - window + 1, row + 1) % window
                self.batches.add(self._ring, rows, self, self._next_window)
                self._next_window += 1

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """Every frame's `value_names`, and whether each frame was interpolated.

        Call after the shared RnnBatches were flushed. Valence and arousal are
        in [-1, 1], expression and AU are probabilities; NaN everywhere if the
        face is in no frame.
        """
        model, names = self.model, self.model.value_names
        all_frames = np.arange(self.num_frames)
        if len(self.face_frames) == 0:
            return np.full((self.num_frames, len(names)), np.nan), np.zeros(self.num_frames, bool)
        if self._received != len(self.face_frames):
            raise ValueError(
                f"{self.name}: CNN results for {self._received} of {len(self.face_frames)} frames"
            )
        known, known_values = self.face_frames, self.cnn_values
        if len(self.starts):
            rows = windows.predicted_rows(self.starts, model.window, model.target)
            known, known_values = self.face_frames[rows], self.rnn_values
        elif model.has_rnn:
            logging.warning(
                "%s: no run of %d frames with a face, so the RNN predicts nothing; "
                "values are the CNN's, frame by frame.",
                self.name,
                model.window + (model.target == "next"),
            )
        interpolated = ~np.isin(all_frames, known)
        # Probabilities, not logits, are interpolated: labels derive from them.
        known_values = probabilities(known_values, names)
        values = fill_by_interpolation(known, known_values, all_frames)
        return clip_values(values, names), interpolated


def clip_values(values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Valence and arousal clipped to [-1, 1] (the labels' range); probabilities as they are."""
    values = values.copy()
    va = [c for c, name in enumerate(names) if name in VALENCE_AROUSAL]
    values[:, va] = np.clip(values[:, va], -1.0, 1.0)
    return values

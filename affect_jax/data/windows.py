"""Windows of consecutive frames over the feature store, as index ranges.

A window is never materialized ahead of time: it is a start row into the
store's [frames, feature_dim] array (1.5M windows x 100 x 300 floats would be
180 GB; the store itself is under 2 GB). Windows only cover runs of
consecutive frames of one video: a frame with no face image or no label is
absent from the store, and that gap breaks the run.

Targets, by name:
  next   rows [t - W, t - 1] predict row t (the reference code);
  every  rows [t, t + W - 1] predict each of their own frames.
"""

import dataclasses
import mmap
from typing import Any

import numpy as np

from affect_jax.runtime import ConfigError

TARGET_MODES = ("next", "every")


def run_starts(video_ids: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Row indices where a run of consecutive frames begins, plus the end row.

    Rows must be sorted by video, then frame (the builders keep that order).
    """
    video_ids = np.asarray(video_ids)
    frames = np.asarray(frames)
    breaks = (video_ids[1:] != video_ids[:-1]) | (frames[1:] != frames[:-1] + 1)
    return np.concatenate([[0], np.flatnonzero(breaks) + 1, [len(frames)]]).astype(np.int64)


def window_starts(
    video_ids: np.ndarray, frames: np.ndarray, length: int, stride: int = 1, target: str = "next"
) -> np.ndarray:
    """First rows of every window of `length` rows inside a gap-free run.

    With target `next`, the row after the window (its target) must be in the
    same run too. Videos or runs shorter than that give no window.
    """
    if target not in TARGET_MODES:
        raise ConfigError(
            f"Unknown window target {target!r} (config key rnn.target); valid: "
            f"{', '.join(TARGET_MODES)}."
        )
    if length < 1 or stride < 1:
        raise ValueError(f"Window length ({length}) and stride ({stride}) must be >= 1.")
    span = length + 1 if target == "next" else length
    bounds = run_starts(video_ids, frames)
    starts = [
        np.arange(begin, end - span + 1, stride)
        for begin, end in zip(bounds[:-1], bounds[1:], strict=True)
        if end - begin >= span
    ]
    return np.concatenate(starts).astype(np.int64) if starts else np.zeros(0, np.int64)


def count_windows(video_ids: np.ndarray, starts: np.ndarray) -> dict[str, int]:
    """Windows, videos, and videos too short (or too gappy) to give any window."""
    videos = np.unique(np.asarray(video_ids))
    with_windows = np.unique(np.asarray(video_ids)[starts]) if len(starts) else []
    return {
        "windows": int(len(starts)),
        "videos": int(len(videos)),
        "videos_without_windows": int(len(videos) - len(with_windows)),
    }


def predicted_rows(starts: np.ndarray, length: int, target: str) -> np.ndarray:
    """The row whose frame each window's last output predicts (causal)."""
    return starts + (length if target == "next" else length - 1)


@dataclasses.dataclass(frozen=True)
class _MappedArray:
    """Where a read-only memory-mapped array lies, to map it again in another process."""

    filename: str
    offset: int
    shape: tuple[int, ...]
    dtype: str

    def open(self) -> np.memmap:
        return np.memmap(self.filename, self.dtype, "r", self.offset, self.shape)


class WindowSource:
    """Random access to (feature window, targets) pairs, for Grain.

    Element i: `inputs` float32 [length, feature_dim]; `targets` float32 [D]
    (next) or [length, D] (every); `row` the predicted row (of its last output);
    with `with_label` also `label`, int32 [] or [length]: the first target
    column as a class index (-1: unlabelled), for a task whose loss reads one.
    """

    def __init__(
        self,
        features: np.ndarray,
        labels: np.ndarray,
        starts: np.ndarray,
        length: int,
        target: str,
        with_label: bool = False,
    ):
        self._features, self._labels = features, labels
        self._starts, self._length, self._target = starts, length, target
        self._with_label = with_label

    def __len__(self) -> int:
        return len(self._starts)

    def __getstate__(self) -> dict[str, Any]:
        # A memory-mapped store would pickle as a copy of all its rows (~1 GB at the
        # paper's size, once per Grain worker): send where it lies instead.
        state = dict(self.__dict__)
        features = self._features
        # Only a whole-file mapping (np.load's): a view's offset attribute is its base's.
        if isinstance(features, np.memmap) and isinstance(features.base, mmap.mmap):
            state["_features"] = _MappedArray(
                str(features.filename), features.offset, features.shape, features.dtype.str
            )
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if isinstance(self._features, _MappedArray):
            self._features = self._features.open()

    def scored_labels(self) -> np.ndarray:
        """The label rows the windows' outputs are scored on (all frames, with `every`)."""
        if self._target == "every":
            rows = (self._starts[:, None] + np.arange(self._length)).reshape(-1)
        else:
            rows = predicted_rows(self._starts, self._length, self._target)
        return np.asarray(self._labels)[rows]

    def __getitem__(self, index: int) -> dict[str, Any]:
        start = int(self._starts[index])
        stop = start + self._length
        if self._target == "next":
            targets, row = self._labels[stop], stop
        else:
            targets, row = self._labels[start:stop], stop - 1
        element = {
            "inputs": np.asarray(self._features[start:stop], np.float32),
            "targets": np.asarray(targets, np.float32),
            "row": np.asarray(row, np.int64),
        }
        if self._with_label:
            element["label"] = np.asarray(targets, np.float32)[..., 0].astype(np.int32)
        return element


def fill_by_interpolation(known: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Values at `query` frames from `values` at the `known` frames.

    Linear between neighbours, constant beyond the first and last known frame.
    `values` is [len(known), D]; returns [len(query), D].
    """
    order = np.argsort(known)
    known, values = known[order], values[order]
    return np.stack([np.interp(query, known, values[:, d]) for d in range(values.shape[1])], axis=1)

"""Valence-arousal bin balancing of the Aff-Wild2 training split (the paper's subsets).

Frames labelled exactly (0, 0) are dropped; the rest are counted on a 40x40
valence-arousal grid, and a frame in a bin with k frames is kept with a
probability that depends on k and on a cap k_max. See REFERENCE.md, "Balancing
Aff-Wild2 by valence-arousal bins". What differs from the authors' code, on
purpose: the draw is seeded, arousal is binned with its own edges (theirs reused
the valence edges), and the rule is a choice:

  reference  p = 1 - k/k_max   what their code does; bins with k >= k_max vanish.
  flatten    p = min(1, k_max/k)   what the paper's words intend: bins are cut
             down to about k_max frames and smaller bins are kept whole.
  none       p = 1   only the (0, 0) frames go.

k_max modes: `max` (subset 1, the largest bin), `mean` (subset 2, the mean over
all bins, empty ones included), `max_mean` (subset 3, their average). Note that
`flatten` with `max` keeps every frame.

Everything here works on the label arrays only; `label_reader.read_labels`
gets them from the ArrayRecord files without decoding a single image.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from absl import logging

from affect_jax.data import label_reader
from affect_jax.data.sources import SubsetSource
from affect_jax.runtime import ConfigError

KEEP_RULES = ("reference", "flatten", "none")
K_MAX_MODES = ("max", "mean", "max_mean")
LABEL_RANGE = (-1.0, 1.0)  # Aff-Wild2 valence and arousal.


@dataclasses.dataclass(frozen=True)
class BalancingResult:
    """Which training frames a balancing rule keeps, and why.

    Attributes:
      indices: sorted positions (into the input arrays) of the kept frames.
      rule, k_max_mode, seed: how they were chosen.
      k_max: the cap the rule used.
      num_frames: frames given.
      num_zero_dropped: frames dropped for being exactly (0, 0).
      valence_edges, arousal_edges: bin edges, bins + 1 each.
      hist_before: [valence bin, arousal bin] counts after dropping (0, 0).
      hist_after: the same counts over the kept frames.
      keep_probability: p per bin (the formula's value, empty bins included).
    """

    indices: np.ndarray
    rule: str
    k_max_mode: str
    seed: int
    k_max: float
    num_frames: int
    num_zero_dropped: int
    valence_edges: np.ndarray
    arousal_edges: np.ndarray
    hist_before: np.ndarray
    hist_after: np.ndarray
    keep_probability: np.ndarray

    @property
    def num_kept(self) -> int:
        return len(self.indices)

    def summary(self) -> dict[str, Any]:
        """The JSON-friendly facts of the subset (no arrays)."""
        return {
            "subset_size": self.num_kept,
            "rule": self.rule,
            "k_max_mode": self.k_max_mode,
            "k_max": self.k_max,
            "seed": self.seed,
            "bins": [len(self.valence_edges) - 1, len(self.arousal_edges) - 1],
            "num_frames": self.num_frames,
            "num_zero_dropped": self.num_zero_dropped,
            "kept_fraction": self.num_kept / self.num_frames,
            "largest_bin_before": int(self.hist_before.max()),
            "largest_bin_after": int(self.hist_after.max()),
        }


def _check_name(value: str, valid: Sequence[str], what: str) -> None:
    if value not in valid:
        raise ValueError(f"Unknown {what} {value!r}; valid: {', '.join(valid)}.")


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each value, as np.histogram counts it (last bin closed)."""
    index = np.searchsorted(edges, values, side="right") - 1
    # Values on the upper edge belong to the last bin, not past it.
    return np.minimum(index, len(edges) - 2)


def keep_probability(counts: np.ndarray, k_max: float, rule: str) -> np.ndarray:
    """p for bins holding `counts` frames under `rule` (see the module docstring)."""
    _check_name(rule, KEEP_RULES, "balancing rule")
    counts = np.asarray(counts, np.float64)
    if rule == "reference":
        return np.clip(1.0 - counts / k_max, 0.0, 1.0)
    if rule == "flatten":
        # An empty bin has no frame to keep; 1 keeps the formula finite there.
        ratio = np.divide(k_max, counts, out=np.ones_like(counts), where=counts > 0)
        return np.minimum(1.0, ratio)
    return np.ones_like(counts)


def select_indices(
    valence: np.ndarray,
    arousal: np.ndarray,
    *,
    rule: str,
    k_max_mode: str,
    seed: int,
    bins: int = 40,
    valence_range: tuple[float, float] = LABEL_RANGE,
    arousal_range: tuple[float, float] = LABEL_RANGE,
) -> BalancingResult:
    """Draws the balanced subset of a training split from its labels.

    Args:
      valence, arousal: per-frame labels, same length, inside their ranges.
      rule: "reference", "flatten" or "none".
      k_max_mode: "max", "mean" or "max_mean".
      seed: the draw is a numpy Generator from this seed: same seed, same subset.
      bins: bins per axis.
      valence_range, arousal_range: histogram extent per axis (each axis gets
        its own edges).

    Returns:
      The kept indices (sorted) with the histograms and probabilities behind them.

    Raises:
      ValueError: an unknown rule or mode, mismatched or out-of-range labels,
        or a subset with no frame left.
    """
    _check_name(rule, KEEP_RULES, "balancing rule")
    _check_name(k_max_mode, K_MAX_MODES, "k_max mode")
    valence = np.asarray(valence, np.float64)
    arousal = np.asarray(arousal, np.float64)
    if valence.ndim != 1 or valence.shape != arousal.shape:
        raise ValueError(
            f"valence and arousal must be 1-D and equally long; got {valence.shape} "
            f"and {arousal.shape}."
        )
    for name, values, (lo, hi) in (
        ("valence", valence, valence_range),
        ("arousal", arousal, arousal_range),
    ):
        outside = ~((values >= lo) & (values <= hi))  # NaN counts as outside.
        if outside.any():
            first = int(np.flatnonzero(outside)[0])
            raise ValueError(
                f"{outside.sum()} {name} labels lie outside [{lo}, {hi}] (first: "
                f"frame {first}, {values[first]}); balancing expects clean labels."
            )
    valence_edges = np.linspace(*valence_range, bins + 1)
    arousal_edges = np.linspace(*arousal_range, bins + 1)

    candidates = np.flatnonzero(~((valence == 0.0) & (arousal == 0.0)))
    if len(candidates) == 0:
        raise ValueError(f"All {len(valence)} frames are labelled (0, 0): nothing to balance.")
    v_bin = bin_index(valence[candidates], valence_edges)
    a_bin = bin_index(arousal[candidates], arousal_edges)
    hist_before = np.zeros((bins, bins), np.int64)
    np.add.at(hist_before, (v_bin, a_bin), 1)

    k_max = {
        "max": float(hist_before.max()),
        "mean": float(hist_before.mean()),
        "max_mean": (float(hist_before.max()) + float(hist_before.mean())) / 2,
    }[k_max_mode]
    probability = keep_probability(hist_before, k_max, rule)
    # One uniform per candidate frame, in frame order: reproducible for a seed.
    draws = np.random.default_rng(seed).random(len(candidates))
    kept = draws < probability[v_bin, a_bin]
    indices = candidates[kept]
    if len(indices) == 0:
        raise ConfigError(
            f"Balancing with rule={rule!r}, k_max_mode={k_max_mode!r} (k_max={k_max:.1f}) "
            f"keeps none of the {len(candidates)} frames; choose another rule or mode."
        )
    hist_after = np.zeros_like(hist_before)
    np.add.at(hist_after, (v_bin[kept], a_bin[kept]), 1)
    return BalancingResult(
        indices=indices,
        rule=rule,
        k_max_mode=k_max_mode,
        seed=seed,
        k_max=k_max,
        num_frames=len(valence),
        num_zero_dropped=len(valence) - len(candidates),
        valence_edges=valence_edges,
        arousal_edges=arousal_edges,
        hist_before=hist_before,
        hist_after=hist_after,
        keep_probability=probability,
    )


def write_summary(result: BalancingResult, path: str | Path) -> Path:
    """Writes `result.summary()` as JSON to `path`."""
    path = Path(path)
    path.write_text(json.dumps(result.summary(), indent=2) + "\n")
    return path


def balanced_training_source(source: Any, config: Any) -> tuple[SubsetSource, BalancingResult]:
    """The balanced subset of the training `source`, per `config.balancing`.

    Args:
      source: the training split's data source (never an evaluation split).
      config: the run config; reads `dataset.train_split` and `balancing`.

    Returns:
      The subset as a source for `grain.MapDataset.source`, and how it was drawn
      (`write_summary` and plots/balancing.py report it).
    """
    if str(source.split) != str(config.dataset.train_split):
        raise ConfigError(
            f"Balancing samples only the training split ({config.dataset.train_split!r}), "
            f"not {source.split!r}."
        )
    settings = config.balancing
    labels = label_reader.read_labels(source)
    result = select_indices(
        labels["valence"],
        labels["arousal"],
        rule=settings.rule,
        k_max_mode=settings.k_max_mode,
        seed=settings.seed,
        bins=settings.bins,
    )
    logging.info("VA balancing: %s", result.summary())
    return SubsetSource(source, result.indices), result

"""AU decision thresholds chosen on validation: per AU, the one with the best F1.

A sigmoid output of 0.5 is the default decision, but F1 rewards predicting a
rare AU more often than that: ABAW entries tune one threshold per AU on the
validation set. A run saves them in results.json under `THRESHOLDS_KEY`
({AU name: probability}); prediction reads them back (AUs missing there,
e.g. not annotated in validation, keep 0.5).
"""

import numpy as np

from affect_jax.tasks import activations

THRESHOLDS_KEY = "au_thresholds"
DEFAULT_THRESHOLD = 0.5
# Candidate probabilities: a fixed grid, so the choice does not chase single frames.
CANDIDATES = np.round(np.arange(0.05, 0.951, 0.05), 2)


def _f1(predicted: np.ndarray, active: np.ndarray) -> float:
    true_pos = np.sum(predicted & active)
    denominator = predicted.sum() + active.sum()
    return float(2 * true_pos / denominator) if denominator else 0.0


def best_f1_thresholds(
    logits: np.ndarray, targets: np.ndarray, names: tuple[str, ...]
) -> dict[str, dict[str, float]]:
    """Per AU with any labelled entry: the grid threshold maximizing its F1.

    Args:
      logits: [N, K] AU logits; targets: [N, K], 1 / 0, negative = not annotated.
      names: the K AU names.

    Returns:
      {"au_thresholds": {name: threshold}, "au_f1_at_thresholds": {name: F1}};
      ties keep the threshold nearest 0.5.
    """
    probabilities = activations.sigmoid(logits)
    targets = np.asarray(targets)
    chosen, scores = {}, {}
    by_distance = sorted(CANDIDATES, key=lambda t: abs(t - DEFAULT_THRESHOLD))
    for k, name in enumerate(names):
        labelled = targets[:, k] >= 0
        if not labelled.any():
            continue
        active = targets[labelled, k] > 0
        f1 = {t: _f1(probabilities[labelled, k] > t, active) for t in by_distance}
        best = max(by_distance, key=lambda t: f1[t])  # max keeps the first (nearest 0.5).
        chosen[name], scores[name] = float(best), f1[best]
    return {THRESHOLDS_KEY: chosen, "au_f1_at_thresholds": scores}


def decisions(
    probabilities: np.ndarray, names: tuple[str, ...], thresholds: dict[str, float] | None
) -> np.ndarray:
    """0/1 [N, K] AU decisions at a run's thresholds (0.5 for AUs it has none for)."""
    thresholds = thresholds or {}
    cuts = np.array([thresholds.get(name, DEFAULT_THRESHOLD) for name in names])
    return (np.asarray(probabilities) > cuts).astype(np.int64)

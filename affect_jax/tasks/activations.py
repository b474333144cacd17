"""Logits to probabilities on the host (NumPy, float64): the package's one softmax
and one sigmoid; tasks/registry.py applies them by output column."""

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis; the max is subtracted first, so large logits
    do not overflow."""
    logits = np.asarray(logits, np.float64)
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))

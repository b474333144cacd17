"""EXPR and AU labels for the synthetic Aff-Wild2 videos, derived from valence-arousal.

A fixed rule, so the labels agree with what the faces show: the expression
classes and action units follow the written (valence, arousal) of each frame.
Headers as in the ABAW 2020 release.
"""

import numpy as np

EXPR_HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise"
AU_HEADER = "AU1,AU2,AU4,AU6,AU12,AU15,AU20,AU25"


def expression_classes(labels: np.ndarray) -> np.ndarray:
    """Basic expression (EXPR_HEADER index) of each (valence, arousal) row.

    Near the centre: Neutral. Positive valence: Happiness, or Surprise when
    also aroused. Negative valence, from high to low arousal: Fear, Anger,
    Disgust, Sadness. The weakly valenced rest: Surprise or Sadness.
    """
    v, a = labels[:, 0], labels[:, 1]
    conditions = [
        np.maximum(np.abs(v), np.abs(a)) < 0.2,
        (v >= 0.2) & (a >= 0.6),
        v >= 0.2,
        (v <= -0.2) & (a >= 0.5),
        (v <= -0.2) & (a >= 0.1),
        (v <= -0.2) & (a >= -0.3),
        v <= -0.2,
        a > 0,
    ]
    return np.select(conditions, [0, 6, 4, 3, 1, 2, 5, 6], default=5)


def action_units(labels: np.ndarray) -> np.ndarray:
    """0/1 per AU of AU_HEADER for each (valence, arousal) row."""
    v, a = labels[:, 0], labels[:, 1]
    active = [
        a > 0.4,  # AU1 inner brow raiser
        a > 0.6,  # AU2 outer brow raiser
        v < -0.3,  # AU4 brow lowerer
        v > 0.5,  # AU6 cheek raiser
        v > 0.25,  # AU12 lip corner puller
        (v < -0.3) & (a < 0),  # AU15 lip corner depressor
        (v < -0.3) & (a > 0.4),  # AU20 lip stretcher
        a > 0.2,  # AU25 lips part
    ]
    return np.stack(active, axis=1).astype(np.int64)

"""What each output column of a head means, by its name, and its probabilities.

A head's columns are named "valence" / "arousal" (values in [-1, 1]),
"expression_<class>" (softmax logits over those columns) and "au_<AU>"
(sigmoid logits). This module reads those names with NumPy alone, so that
prediction from an exported model (inference/exported_model.py) needs no JAX;
tasks/registry.py says which names a config's head has.
"""

import numpy as np

from affect_jax.tasks import activations
from affect_jax.tasks.labels import VALENCE_AROUSAL

EXPRESSION_PREFIX = "expression_"
AU_PREFIX = "au_"


def task_columns(names: tuple[str, ...]) -> dict[str, list[int]]:
    """{"va" | "expression" | "au": the columns of `names` that task owns}.

    A task the head lacks is absent; "va" lists the valence and/or arousal columns.
    """
    found: dict[str, list[int]] = {}
    for column, name in enumerate(names):
        if name in VALENCE_AROUSAL:
            found.setdefault("va", []).append(column)
        elif name.startswith(EXPRESSION_PREFIX):
            found.setdefault("expression", []).append(column)
        elif name.startswith(AU_PREFIX):
            found.setdefault("au", []).append(column)
    return found


def probabilities(outputs: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Outputs [N, K] named `names` (float64): expression logits as one softmax over
    their columns, AU logits each as a sigmoid, valence/arousal as they are."""
    values = np.asarray(outputs, np.float64).copy()
    groups = task_columns(names)
    if "expression" in groups:
        values[:, groups["expression"]] = activations.softmax(values[:, groups["expression"]])
    if "au" in groups:
        values[:, groups["au"]] = activations.sigmoid(values[:, groups["au"]])
    return values

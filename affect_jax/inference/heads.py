"""Which values a run predicts per frame, read from its config: VA, expression and AU heads.

A run's output columns are named by tasks/registry.py (`output_names`):
"valence" / "arousal" (values in [-1, 1]), "expression_<class>" (softmax
logits over those columns) and "au_<AU>" (sigmoid logits). Prediction keeps
every column of a head it knows, turns logits into probabilities before they
are interpolated between frames, and derives labels afterwards (outputs.py).
"""

from __future__ import annotations

import ml_collections

from affect_jax.tasks import registry
from affect_jax.tasks.columns import task_columns
from affect_jax.training.checkpoints import NotACheckpointError


def predicted_columns(
    config: ml_collections.ConfigDict, where: str
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """(names, output columns) of the values a run's head gives, in output order."""
    names = registry.output_names(config)
    owned = task_columns(names)
    columns = tuple(sorted(c for group in owned.values() for c in group))
    if not columns:
        raise NotACheckpointError(
            f"{where} predicts {names or registry.task_name(config)}: none of valence/arousal, "
            "expressions or action units, so it cannot predict on videos."
        )
    return tuple(names[c] for c in columns), columns


def columns_for(names: tuple[str, ...], config: ml_collections.ConfigDict) -> list[int]:
    """Output columns of `config`'s head holding `names` (-1 where it has none)."""
    own = registry.output_names(config)
    return [own.index(name) if name in own else -1 for name in names]

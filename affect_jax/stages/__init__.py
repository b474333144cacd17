"""What a `--config` runs: its `stage` picks a row of STAGES, called as run(config, workdir).

Here: the training loop (train.py), the extract stage (extract.py), what each
stage reads (inputs.py), evaluation (evaluate.py, video_eval.py; the
cross-dataset table in cross_dataset.py), the RNN stage's challenge-format
files (challenge_files.py) and a run's results.json and figures (outputs.py).
May import plots/, training/ and below.
"""

from collections.abc import Callable
from typing import Any

import ml_collections

from affect_jax.runtime import ConfigError


def _train(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
    from affect_jax.stages import train  # Imports JAX: after the process's XLA flags.

    return train.train_and_evaluate(config, workdir)


def _extract(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
    from affect_jax.stages import extract

    return extract.extract(config, workdir)


# config.stage -> the function that runs it; each returns what it made (JSON-able).
STAGES: dict[str, Callable[[ml_collections.ConfigDict, str], dict[str, Any]]] = {
    "train_cnn": _train,
    "extract": _extract,
    "train_rnn": _train,
}


class UnknownStageError(ConfigError):
    """config.stage names no stage."""


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
    """Runs `config.stage` in `workdir` (resuming what is there); returns its result.

    Training stages return the final validation metrics, the extract stage the
    feature store folder of each split.
    """
    if config.stage not in STAGES:
        raise UnknownStageError(
            f"Unknown config.stage {config.stage!r}; valid: {', '.join(STAGES)}."
        )
    return STAGES[config.stage](config, workdir)

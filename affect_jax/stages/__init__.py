"""What a `--config` runs: its `stage` picks a row of STAGES, called as run(config, workdir).

A row says what the stage runs, what it trains on and what it evaluates after
its last step; no other module looks at a stage's name. Here: the training
loop (train.py), the extract stage (extract.py), what each stage reads
(inputs.py), the whole-split evaluation during training (evaluate.py), the
evaluators run after it (evaluators.py: AU thresholds, per-video scoring in
video_eval.py, the cross-dataset table in cross_dataset.py), the RNN stage's
challenge-format files (challenge_files.py) and a run's results.json and
figures (outputs.py). May import plots/, training/ and below.
"""

import dataclasses
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


@dataclasses.dataclass(frozen=True)
class Stage:
    """What a `config.stage` does: the function that runs it and what it trains on.

    Attributes:
      run: (config, workdir) -> what it made (JSON-able).
      reads: what a training stage trains and evaluates on: "frames" (TFDS
        records, one face each) or "windows" (of the feature store the
        extract stage wrote); "" for a stage that does not train.
      evaluators: what it evaluates after its last step, in order
        (stages/evaluators.py; `config.evals` replaces the list).
    """

    run: Callable[[ml_collections.ConfigDict, str], dict[str, Any]]
    reads: str = ""
    evaluators: tuple[str, ...] = ()

    @property
    def trains(self) -> bool:
        return bool(self.reads)


# The one place a stage's name means something.
STAGES: dict[str, Stage] = {
    "train_cnn": Stage(_train, reads="frames", evaluators=("au_thresholds", "cross_dataset")),
    "extract": Stage(_extract),
    # Scored frame by frame over whole videos (AU thresholds included), with
    # the challenge-format files.
    "train_rnn": Stage(_train, reads="windows", evaluators=("per_video",)),
}


class UnknownStageError(ConfigError):
    """config.stage names no stage."""


def stage_of(config: ml_collections.ConfigDict) -> Stage:
    """The row of `config.stage`."""
    if config.stage not in STAGES:
        raise UnknownStageError(
            f"Unknown config.stage {config.stage!r}; valid: {', '.join(STAGES)}."
        )
    return STAGES[config.stage]


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
    """Runs `config.stage` in `workdir` (resuming what is there); returns its result.

    Training stages return the final validation metrics, the extract stage the
    feature store folder of each split.
    """
    return stage_of(config).run(config, workdir)

"""Runs one stage of an experiment: `python -m affect_jax.main --config=... --workdir=...`.

  python -m affect_jax.main --config=configs/affwild2_cnn.py \
      --workdir=runs/cnn --config.dataset.data_dir=DATA [--config.key=value ...]

Rerunning with the same workdir resumes from its latest checkpoint.
"""

import json
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from affect_jax import runtime, stages, startup

_CONFIG = config_flags.DEFINE_config_file(
    "config",
    None,
    "Experiment config file, e.g. configs/affwild2_cnn.py:tiny.",
    lock_config=True,
)
_WORKDIR = flags.DEFINE_string(
    "workdir",
    None,
    "Folder for checkpoints, metrics and plots; resumed if it holds a checkpoint.",
)
flags.mark_flags_as_required(["config", "workdir"])


def main(argv: list[str]) -> None:
    del argv
    config = _CONFIG.value
    if config.stage not in stages.STAGES:
        raise app.UsageError(
            f"Unknown config.stage {config.stage!r}; valid: {', '.join(stages.STAGES)}."
        )
    # Kept freed memory speeds up train steps; a stage that trains nothing (the
    # extraction's forward passes) grew its heap with the frames it passed, 770 vs
    # 558 MB at 4% of the paper's size in the same time, so it hands memory back.
    trains = stages.STAGES[config.stage].trains
    logging.info(startup.describe(startup.start_process(config, keeps_freed_memory=trains)))
    with runtime.one_line_errors():
        result = stages.run(config, _WORKDIR.value)
    print(json.dumps(result, indent=2))
    if trains:
        # Imports JAX: after the process's XLA flags.
        from affect_jax.training.run import CHECKPOINTS, METRICS, PLOTS, RESULTS, TENSORBOARD

        print(
            f"Workdir: {_WORKDIR.value} ({CHECKPOINTS}/, {METRICS}, {TENSORBOARD}/, {PLOTS}/, "
            f"{RESULTS})"
        )


def _parse_flags(argv: list[str]) -> list[str]:
    """absl's parser, with an unknown `--config.<key>` as one clear line.

    ml_collections raises a bare AttributeError (a traceback) for a key the
    config does not have; its "Did you mean" suggestion is kept.
    """
    try:
        return app.parse_flags_with_usage(argv)
    except AttributeError as error:
        # The message arrives as the repr of a string: undo its escaping.
        detail = str(error).strip("'\"").replace("\\'", "'").replace("\\n", " ")
        sys.exit(
            f"FATAL Flags parsing error: unknown config key {detail} Fix the --config.<key> "
            "override; the config file lists every key it has."
        )


def run() -> None:
    """Console-script entry point."""
    app.run(main, flags_parser=_parse_flags)


if __name__ == "__main__":
    run()

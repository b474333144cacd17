"""Configs and subprocess runs shared by the training tests."""

import os
import subprocess
import sys
from pathlib import Path

from affect_jax.config import load_config  # noqa: F401 (re-exported)

REPO = Path(__file__).resolve().parents[2]


def tiny_config(data_dir: str, **overrides):
    config = load_config("affwild2_cnn", "tiny")
    config.dataset.data_dir = data_dir
    for key, value in overrides.items():
        config[key] = value
    return config


def resumed_from(caplog) -> list[str]:
    """The checkpoint paths that runs logged (to `caplog`) resuming from."""
    prefix = "Resuming from "
    messages = (record.getMessage() for record in caplog.records)
    return [m[len(prefix) :] for m in messages if m.startswith(prefix)]


def main_command(workdir, data_dir: str, *flags: str) -> list[str]:
    """`python -m affect_jax.main` on the tiny config, as a user runs it."""
    return [
        sys.executable,
        "-m",
        "affect_jax.main",
        "--config=configs/affwild2_cnn.py:tiny",
        f"--workdir={workdir}",
        f"--config.dataset.data_dir={data_dir}",
        *flags,
    ]


def run_main(workdir, data_dir: str, *flags: str, check: bool = True):
    return subprocess.run(
        main_command(workdir, data_dir, *flags),
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=check,
    )

"""The launch/ scripts install the package as they should whatever arguments they get.

Each script runs here against a stand-in virtual environment whose `python`
only records its arguments, so nothing is installed or trained: the test sees
which pip target a script asked for and what it passed on.
"""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def recording_venv(tmp_path):
    """A venv folder whose bin/python appends its arguments to calls.log."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    log = tmp_path / "calls.log"
    python = venv / "bin" / "python"
    python.write_text(f'#!/usr/bin/env bash\necho "$*" >> "{log}"\n')
    python.chmod(0o755)
    return venv, log


def _run(script, args, venv):
    env = {**os.environ, "AFFECT_JAX_VENV": str(venv)}
    return subprocess.run(
        ["bash", f"launch/{script}", *args], cwd=REPO, env=env, capture_output=True, text=True
    )


def _pip_targets(log: Path) -> list[str]:
    calls = log.read_text().splitlines()
    return [
        call.split(" -e ", 1)[1]
        for call in calls
        if call.startswith("-m pip install") and " -e " in call
    ]


@pytest.mark.parametrize(
    "script, args",
    [
        ("quickstart.sh", ["RUN_DIR"]),
        ("reproduce_paper.sh", ["--workdir_root=runs/paper", "--preset=tiny"]),
        ("train_tpu_vm.sh", ["configs/affwild2_cnn.py", "gs://b/runs", "--config.seed=3"]),
    ],
)
def test_script_arguments_never_become_pip_extras(script, args, recording_venv, tmp_path):
    venv, log = recording_venv
    if script == "quickstart.sh":
        args = [str(tmp_path / "run")]
        (tmp_path / "run" / "raw_affwild2").mkdir(parents=True)
        (tmp_path / "run" / "raw_affwild2" / ".complete").touch()
    result = _run(script, args, venv)
    assert result.returncode == 0, result.stderr
    assert _pip_targets(log) == [str(REPO)], log.read_text()
    # The script's own arguments still reach the program it runs.
    assert args[-1] in log.read_text()


def test_test_script_installs_the_test_extras(recording_venv):
    venv, log = recording_venv
    result = _run("test.sh", ["--co", "-q", "tests/test_launch_scripts.py"], venv)
    assert result.returncode == 0, result.stderr
    assert _pip_targets(log) == [f"{REPO}[test]"]

"""The launch/ scripts install the package as they should whatever arguments they get.

Each script runs here against a stand-in virtual environment whose `python`
only records its arguments, so nothing is installed or trained: the test sees
which pip target a script asked for and what it passed on.
"""

import os
import subprocess
import time
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


def test_gpu_check_installs_the_cuda_extras_and_passes_its_flags_with_a_deadline(recording_venv):
    venv, log = recording_venv
    result = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", "--out=/tmp/report.md"],
        cwd=REPO,
        env={**os.environ, "AFFECT_JAX_VENV": str(venv)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert _pip_targets(log) == [f"{REPO}[cuda12,test]"]
    check = log.read_text().splitlines()[-1].split()
    assert check[0] == "benchmarks/gpu_check.py" and check[-1] == "--out=/tmp/report.md", check
    deadline = next(arg for arg in check if arg.startswith("--deadline_at="))
    # The whole script stops within 9 minutes; the check plans to end 20 s before.
    assert 0 < int(deadline.split("=")[1]) - time.time() <= 540 - 20

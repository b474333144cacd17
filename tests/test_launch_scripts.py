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


@pytest.mark.parametrize(
    "args, expected", [([], ["tests"]), (["tests/models", "-x"], ["tests/models", "-x"])]
)
def test_newest_script_upgrades_everything_and_runs_the_paths_given(recording_venv, args, expected):
    venv, log = recording_venv
    env = {
        **os.environ,
        "AFFECT_JAX_NEWEST_VENV": str(venv),
        "AFFECT_JAX_NEWEST_PYTHON": str(venv / "bin" / "python"),  # Passes the 3.12 check.
    }
    result = subprocess.run(
        ["bash", "launch/test_newest.sh", *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    install = next(call for call in calls if " -e " in call)
    assert "--upgrade --upgrade-strategy eager" in install and install.endswith(f"{REPO}[test]")
    pytest_args = calls[-1].split()
    assert pytest_args[:2] == ["-m", "pytest"] and pytest_args[-len(expected) :] == expected


def test_gpu_check_machine_mode_installs_only_the_carried_wheels(recording_venv, tmp_path):
    venv, log = recording_venv
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    wheels.mkdir()
    (wheels / "grain-0.2.18-cp312-cp312-manylinux_2_28_x86_64.whl").touch()
    python = venv / "bin" / "python"
    python.write_text(f'#!/usr/bin/env bash\necho "$* PYTHONPATH=$PYTHONPATH" >> "{log}"\n')
    env = {
        **os.environ,
        "AFFECT_JAX_MACHINE": "1",
        "AFFECT_JAX_PYTHON": str(python),
        "AFFECT_JAX_MACHINE_WHEELS": str(wheels),
        "AFFECT_JAX_MACHINE_SITE": str(site),
    }
    result = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", "--cpu_smoke"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    install, build, check = log.read_text().splitlines()
    assert install.startswith("-m pip install") and "--no-index --no-deps" in install
    assert f"--target {site}" in install and "grain-0.2.18" in install
    assert build.startswith("build_onednn.py")  # Builds oneDNN only where it can.
    assert check.startswith("benchmarks/gpu_check.py") and "--cpu_smoke" in check
    assert f"PYTHONPATH={REPO}:{site}" in check

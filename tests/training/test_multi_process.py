"""Two processes joined by jax.distributed on loopback train like one process."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from affect_jax.training import run, sharding
from tests.helpers import trees

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(process_id: int, count: int, port: int, data_dir: str, workdir: Path):
    command = [
        sys.executable,
        "-m",
        "tests.helpers.distributed_train",
        str(process_id),
        str(count),
        str(port),
        data_dir,
        str(workdir),
    ]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _result(process: subprocess.Popen) -> dict:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    line = next(line for line in stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def _trained_params(workdir: Path) -> dict:
    """The parameters of the run's last checkpoint, restored in this process."""
    run_dir, step, config = run.find_checkpoint(workdir, "latest")
    state = run.restore_run_state(run_dir, step, config, sharding.make_data_mesh())
    return jax.device_get(state.params)


@pytest.mark.long(32)
def test_two_processes_equal_one_with_the_same_global_batch(tiny_affwild2, tmp_path):
    port = _free_port()
    workers = [_start(i, 2, port, tiny_affwild2, tmp_path / "two") for i in range(2)]
    two = [_result(worker) for worker in workers]
    one = _result(_start(0, 1, port, tiny_affwild2, tmp_path / "one"))

    assert [r["process"] for r in two] == [0, 1]
    assert two[0]["step"] == two[1]["step"] == one["step"] == 6
    for key in ("loss", "ccc_valence", "ccc_arousal", "rmse_valence", "rmse_arousal"):
        assert two[1][key] == two[0][key]
    # Same examples in the same rows of every global batch, the same dropout
    # masks on them: after 6 steps, the same parameters, leaf by leaf, up to
    # float summation order (measured: up to 6e-5, as much with dropout off).
    # Examples in other rows, under other masks, move them by ~1e-2.
    trees.assert_trees_equal(
        _trained_params(tmp_path / "two"), _trained_params(tmp_path / "one"), atol=2e-4
    )
    assert (tmp_path / "two" / "checkpoints" / "6").is_dir()
    assert (tmp_path / "two" / "results.json").exists()
    # Written by process 0 only (the helper records each process's own writes).
    assert "results.json" in two[0]["wrote"] and "results.json" not in two[1]["wrote"]

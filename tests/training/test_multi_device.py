"""The data-parallel step gives the same result on 1 and 2 (fake) devices."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _one_step(device_count: int) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={device_count}"
    )
    env["PYTHONPATH"] = str(REPO)
    output = subprocess.run(
        [sys.executable, "-m", "tests.helpers.one_step_loss"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def test_two_devices_match_one():
    single, double = _one_step(1), _one_step(2)
    assert (single["devices"], double["devices"]) == (1, 2)
    assert double["loss"] == pytest.approx(single["loss"], rel=1e-5)
    assert double["param_checksum"] == pytest.approx(single["param_checksum"], rel=1e-5)


def test_batch_must_split_over_devices(monkeypatch):
    from affect_jax.training import sharding

    monkeypatch.setattr(sharding.jax, "device_count", lambda: 3)
    with pytest.raises(ValueError, match="multiple of 3"):
        sharding.per_process_batch_size(64)

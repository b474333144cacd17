"""The data-parallel step gives the same result on 1 and 2 (fake) devices."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import trees

REPO = Path(__file__).resolve().parents[2]


def _one_step(device_count: int, out: Path) -> tuple[dict, dict[str, np.ndarray]]:
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={device_count}"
    )
    env["PYTHONPATH"] = str(REPO)
    output = subprocess.run(
        [sys.executable, "-m", "tests.helpers.one_step_loss", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    with np.load(out) as saved:
        params = dict(saved)
    return json.loads(output.stdout.strip().splitlines()[-1]), params


def _step(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the step changed, per parameter."""
    return {
        name[len("after/") :]: value - params["before/" + name[len("after/") :]]
        for name, value in params.items()
        if name.startswith("after/")
    }


@pytest.mark.long(18)
@pytest.mark.cpu_only  # Two devices: XLA:CPU's forced host-device count.
def test_two_devices_match_one(tmp_path):
    (single, one), (double, two) = (
        _one_step(1, tmp_path / "1.npz"),
        _one_step(2, tmp_path / "2.npz"),
    )
    assert (single["devices"], double["devices"]) == (1, 2)
    assert double["loss"] == pytest.approx(single["loss"], rel=1e-5)
    # Leaf by leaf: the same start, and the same update of every parameter (the
    # sum of |params| that one SGD step moves by ~1e-6 of itself proves nothing).
    before = {k: v for k, v in one.items() if k.startswith("before/")}
    trees.assert_trees_equal({k: two[k] for k in before}, before)
    moved = _step(one)
    assert all(np.abs(update).max() > 0 for update in moved.values()), "a parameter did not move"
    # atol: float32 rounding of `after - before` (params ~0.1, updates ~1e-5-1e-3).
    trees.assert_trees_equal(_step(two), moved, rtol=1e-4, atol=1e-7)


def test_batch_must_split_over_devices(monkeypatch):
    from affect_jax.training import sharding

    monkeypatch.setattr(sharding.jax, "device_count", lambda: 3)
    with pytest.raises(ValueError, match="multiple of 3"):
        sharding.per_process_batch_size(64)

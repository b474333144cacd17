"""A full disk while writing gives a clear error, and what was written before survives."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import orbax.checkpoint as ocp
import pytest

from affect_jax.data.feature_store import FeatureStore
from affect_jax.stages import train
from affect_jax.training import checkpoints
from tests.helpers import train_helpers

REPO = Path(__file__).resolve().parents[2]

# Runs the extract stage with every file capped at 16 KB (RLIMIT_FSIZE), as if
# the disk filled up: writes past the cap fail with EFBIG instead of succeeding.
_EXTRACT_WITH_FULL_DISK = """
import resource, signal, sys
from absl import flags
flags.FLAGS.mark_as_parsed()
from affect_jax.stages import extract
from affect_jax.config import load_config
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (16_000, 16_000))
config = load_config("affwild2_extract", f"tiny,cnn_workdir={sys.argv[1]}")
try:
    extract.extract(config, sys.argv[2])
except Exception as error:
    print(f"ERROR {type(error).__name__}: {error}")
"""


def test_full_disk_during_extraction_is_named_and_resumable(tiny_cnn_run, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", _EXTRACT_WITH_FULL_DISK, tiny_cnn_run[0], str(tmp_path)],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("ERROR"))
    assert "FeatureStoreError" in line
    assert str(tmp_path / "features" / "train") in line and "Free space" in line
    assert not (tmp_path / "features" / "train" / "complete.json").exists()

    # With space again, the same command finishes the store.
    config = train_helpers.load_config("affwild2_extract", f"tiny,cnn_workdir={tiny_cnn_run[0]}")
    from affect_jax.stages import extract

    extract.extract(config, str(tmp_path))
    assert len(FeatureStore(tmp_path / "features" / "train")) > 0


def test_failed_checkpoint_write_keeps_the_previous_one(tiny_affwild2, tmp_path, monkeypatch):
    real_save = ocp.CheckpointManager.save
    calls = {"n": 0}

    def save_fails_the_second_time(self, step, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, step, *args, **kwargs)

    monkeypatch.setattr(ocp.CheckpointManager, "save", save_fails_the_second_time)
    config = train_helpers.tiny_config(tiny_affwild2, num_train_steps=20)
    with pytest.raises(checkpoints.CheckpointWriteError) as failure:
        train.train_and_evaluate(config, str(tmp_path))
    message = str(failure.value)
    assert str(tmp_path / "checkpoints") in message
    assert "No space left" in message and "resumes from checkpoint 5" in message

    monkeypatch.setattr(ocp.CheckpointManager, "save", real_save)
    result = train.train_and_evaluate(config, str(tmp_path))
    uninterrupted = train.train_and_evaluate(config, str(tmp_path / "fresh"))
    assert result == uninterrupted

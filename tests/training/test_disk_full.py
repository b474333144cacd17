"""A full disk while writing gives a clear error, and what was written before survives.

The disk fills up for real, in a subprocess: RLIMIT_FSIZE caps how far into a
file anything may write, so writes past the cap fail with EFBIG (as ENOSPC
would) after the earlier ones went through, inside the project's own writers
and Orbax's, wherever the bytes happen to fall.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from affect_jax.data.feature_store import ARRAYS, FeatureStore
from affect_jax.stages import extract, train
from tests.helpers import train_helpers

REPO = Path(__file__).resolve().parents[2]
CAP_BYTES = 16_000

# Runs the extract stage and fills the disk once its arrays are sized (they are
# sparse until rows land): rows past 16 KB into a file fail, midway through the
# training split's features, after some batches' progress was recorded.
_EXTRACT_WITH_FULL_DISK = """
import resource, signal, sys
from absl import flags
flags.FLAGS.mark_as_parsed()
from affect_jax import runtime
runtime.apply_fast_cpu_flags()  # As the command line and the tests' process do.
from affect_jax.config import load_config
from affect_jax.data import feature_store
from affect_jax.stages import extract
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
extract._SYNC_EVERY_S = 0.0  # Progress recorded after every batch.
real_write = feature_store.NpyRowWriter.write
def write_on_a_filling_disk(self, first_row, rows):
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), resource.RLIM_INFINITY))
    real_write(self, first_row, rows)
feature_store.NpyRowWriter.write = write_on_a_filling_disk
config = load_config("affwild2_extract", f"tiny,cnn_workdir={sys.argv[1]}")
try:
    extract.extract(config, sys.argv[2])
except Exception as error:
    print(f"ERROR {type(error).__name__}: {error}")
"""

# Trains the tiny CNN for 20 steps (checkpoints at 5, 10, 15, 20) once per
# (workdir, step) pair in sys.argv[2:-1], filling the disk just before the save
# of that step: Orbax writes it in the background, its small files land and its
# array files fail past 16 KB. Space comes back (the soft limit is lifted)
# before the next run.
_TRAIN_WITH_FULL_DISK = """
import resource, signal, sys
from absl import flags
flags.FLAGS.mark_as_parsed()
from affect_jax import runtime
runtime.apply_fast_cpu_flags()
from affect_jax.stages import train
from affect_jax.training import checkpoints
from tests.helpers import train_helpers
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
real_save = checkpoints.save
cap, runs = int(sys.argv[-1]), sys.argv[2:-1]
for workdir, full_at in zip(runs[::2], map(int, runs[1::2])):
    def save_on_a_filling_disk(manager, step, *args, full_at=full_at, **kwargs):
        if step == full_at:
            resource.setrlimit(resource.RLIMIT_FSIZE, (cap, resource.RLIM_INFINITY))
        real_save(manager, step, *args, **kwargs)
    checkpoints.save = save_on_a_filling_disk
    config = train_helpers.tiny_config(sys.argv[1], num_train_steps=20)
    try:
        train.train_and_evaluate(config, workdir)
    except Exception as error:
        print(f"ERROR {type(error).__name__}: {error}")
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
"""


def _run(script: str, *args) -> list[str]:
    """The ERROR lines the script printed, one per failed run."""
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, args), str(CAP_BYTES)],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR")]
    assert errors, result.stderr[-3000:]
    return errors


def test_full_disk_during_extraction_is_named_and_resumes_to_the_same_store(
    tiny_cnn_run, tiny_features, tmp_path
):
    (line,) = _run(_EXTRACT_WITH_FULL_DISK, tiny_cnn_run[0], tmp_path)
    train_dir = tmp_path / "features" / "train"
    assert "FeatureStoreError" in line
    assert str(train_dir) in line and "Free space" in line
    assert not (train_dir / "complete.json").exists()
    # The disk filled midway: some rows were written and recorded.
    rows_done = json.loads((train_dir / "progress.json").read_text())["rows_done"]
    assert 0 < rows_done < len(FeatureStore(tiny_features / "train"))

    # With space again, the same command finishes the store: the one an
    # uninterrupted extraction wrote, array by array.
    config = train_helpers.load_config("affwild2_extract", f"tiny,cnn_workdir={tiny_cnn_run[0]}")
    extract.extract(config, str(tmp_path))
    for split in ("train", "validation"):
        resumed = FeatureStore(tmp_path / "features" / split)
        reference = FeatureStore(tiny_features / split)
        for name in ARRAYS:
            np.testing.assert_array_equal(
                getattr(resumed, name), getattr(reference, name), err_msg=f"{split} {name}"
            )
        assert resumed.video_names == reference.video_names


@pytest.mark.long(30)
def test_checkpoint_write_failing_midway_keeps_the_previous_one(
    tiny_affwild2, tiny_cnn_20_steps, tmp_path, caplog
):
    # At step 10 the failure shows at the next save (15), which must not take
    # it; at step 20, the last save, when the run waits for it at the end.
    cases = {10: 5, 20: 15}  # Step whose write fails: the intact one before it.
    runs = [part for step in cases for part in (tmp_path / str(step), step)]
    lines = _run(_TRAIN_WITH_FULL_DISK, tiny_affwild2, *runs)
    assert len(lines) == len(cases), lines
    for line, (full_at, intact) in zip(lines, cases.items(), strict=True):
        workdir = tmp_path / str(full_at)
        assert "CheckpointWriteError" in line
        assert f"Writing checkpoint {full_at} in {workdir / 'checkpoints'} failed" in line
        assert "File too large" in line and f"resumes from checkpoint {intact}," in line
        # Orbax had begun that checkpoint: some of its files are on disk.
        (partial,) = (workdir / "checkpoints").glob(f"{full_at}.orbax-checkpoint-tmp*")
        assert [p for p in partial.rglob("*") if p.is_file() and p.stat().st_size > 0]
        committed = (workdir / "checkpoints").glob("*/commit_success.txt")
        assert max(int(marker.parent.name) for marker in committed) == intact
        assert not (workdir / "results.json").exists()

    # With space again, the rerun resumes from the intact checkpoint (after
    # the second failure: 15) and ends where an uninterrupted run does.
    caplog.set_level("INFO")
    config = train_helpers.tiny_config(tiny_affwild2, num_train_steps=20)
    result = train.train_and_evaluate(config, str(tmp_path / "20"))
    assert train_helpers.resumed_from(caplog) == [f"{tmp_path}/20/checkpoints/15"]
    assert result == tiny_cnn_20_steps[1]

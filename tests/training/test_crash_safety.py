"""A crash mid-write never leaves a checkpoint that a rerun would load."""

import shutil
from pathlib import Path

from affect_jax.stages import train
from tests.helpers import train_helpers


def test_partial_checkpoint_is_never_loaded(tiny_affwild2, tmp_path, caplog):
    config = train_helpers.tiny_config(tiny_affwild2, num_train_steps=10)
    train.train_and_evaluate(config, str(tmp_path))
    checkpoints = Path(tmp_path) / "checkpoints"
    # What a kill -9 in the middle of writing step 15 leaves: Orbax's temporary
    # folder, without its commit marker and with a truncated array file.
    partial = checkpoints / "15.orbax-checkpoint-tmp-1234567890"
    shutil.copytree(checkpoints / "10", partial)
    for marker in partial.rglob("commit_success.txt"):
        marker.unlink()
    for array_file in (partial / "state").rglob("ocdbt.process_0/d/*"):
        array_file.write_bytes(array_file.read_bytes()[:7])

    caplog.set_level("INFO")
    longer = train_helpers.tiny_config(tiny_affwild2, num_train_steps=20)
    result = train.train_and_evaluate(longer, str(tmp_path))
    assert f"Resuming from {tmp_path}/checkpoints/10" in caplog.text
    assert result["step"] == 20
    uninterrupted = train.train_and_evaluate(
        train_helpers.tiny_config(tiny_affwild2, num_train_steps=20), str(tmp_path / "fresh")
    )
    assert result == uninterrupted

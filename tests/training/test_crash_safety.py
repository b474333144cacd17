"""A crash mid-write never leaves a checkpoint that a rerun would load."""

import shutil

import pytest

from affect_jax.stages import train
from tests.helpers import train_helpers


@pytest.mark.parametrize("arrays", ["intact", "truncated"])
def test_step_folder_without_commit_marker_is_never_loaded(
    arrays, tiny_affwild2, tiny_cnn_20_steps, tmp_path, caplog
):
    finished, expected = tiny_cnn_20_steps
    shutil.copytree(finished, tmp_path, dirs_exist_ok=True)
    checkpoints = tmp_path / "checkpoints"
    # What a kill -9 in the middle of writing step 25 leaves on GCS (where
    # launch/train_tpu_vm.sh writes, Orbax writes in place and the commit marker
    # last): a folder with the final name and no marker. Its arrays intact (the
    # marker alone must decide; they are step 15's, so loading them shows) or
    # truncated (what the write really left).
    partial = checkpoints / "25"
    shutil.copytree(checkpoints / "15", partial)
    markers = list(partial.rglob("commit_success.txt"))
    assert markers
    for marker in markers:
        marker.unlink()
    if arrays == "truncated":
        array_files = list((partial / "state").rglob("ocdbt.process_0/d/*"))
        assert array_files
        for array_file in array_files:
            array_file.write_bytes(array_file.read_bytes()[:7])

    # The rerun resumes from the newest whole checkpoint, 20; a 30-step run would
    # train on from there, this one (20 steps) only evaluates what it restored.
    caplog.set_level("INFO")
    config = train_helpers.tiny_config(tiny_affwild2, num_train_steps=20)
    result = train.train_and_evaluate(config, str(tmp_path))
    assert train_helpers.resumed_from(caplog) == [f"{tmp_path}/checkpoints/20"]
    assert result == expected

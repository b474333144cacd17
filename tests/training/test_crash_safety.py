"""A crash mid-write never leaves a checkpoint that a rerun would load."""

import shutil

import pytest

from affect_jax.stages import train
from affect_jax.training import checkpoints, resume, run, sharding
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


def _tree_bytes(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_committed_step_with_truncated_arrays_is_set_aside(
    tiny_affwild2, tiny_cnn_20_steps, tmp_path, caplog
):
    finished, expected = tiny_cnn_20_steps
    shutil.copytree(finished, tmp_path, dirs_exist_ok=True)
    checkpoints = tmp_path / "checkpoints"
    # Step 20 was committed whole, then its largest tensor file was cut short
    # (a copy off GCS interrupted, a disk error): the marker no longer vouches.
    damaged = checkpoints / "20"
    assert list(damaged.rglob("commit_success.txt"))
    array_file = max(
        (damaged / "state").rglob("ocdbt.process_0/d/*"), key=lambda p: p.stat().st_size
    )
    array_file.write_bytes(array_file.read_bytes()[: array_file.stat().st_size // 2])
    damaged_files = _tree_bytes(damaged)

    # The rerun restores 15, the newest intact step, and trains 16-20 again:
    # batch for batch the uninterrupted run, so its result is that run's.
    caplog.set_level("INFO")
    config = train_helpers.tiny_config(tiny_affwild2, num_train_steps=20)
    result = train.train_and_evaluate(config, str(tmp_path))
    assert train_helpers.resumed_from(caplog) == [f"{tmp_path}/checkpoints/15"]
    assert result == expected
    moved = tmp_path / "corrupt_checkpoints" / "20"
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any(
        f"Checkpoint {damaged} is damaged and was not loaded" in m and str(moved) in m
        for m in logged
    ), logged
    # Moved aside byte for byte, and a fresh, whole step 20 written in its place.
    assert _tree_bytes(moved) == damaged_files
    assert (checkpoints / "20" / "commit_success.txt").exists()
    assert sorted(int(p.name) for p in checkpoints.iterdir() if p.name.isdigit()) == [10, 15, 20]


def test_no_step_restores_nothing_is_moved(tiny_affwild2, tiny_cnn_20_steps, tmp_path):
    finished, _ = tiny_cnn_20_steps
    shutil.copytree(finished, tmp_path, dirs_exist_ok=True)
    # Every step unreadable: no intact step proves the others damaged (the
    # code's train state may have changed instead), so nothing is moved aside.
    for array_file in (tmp_path / "checkpoints").rglob("ocdbt.process_0/d/*"):
        array_file.write_bytes(array_file.read_bytes()[:7])
    before = _tree_bytes(tmp_path / "checkpoints")
    config = train_helpers.tiny_config(tiny_affwild2, num_train_steps=20)
    with pytest.raises(resume.UnreadableCheckpointsError, match="newest, 20.*Nothing was moved"):
        train.train_and_evaluate(config, str(tmp_path))
    assert _tree_bytes(tmp_path / "checkpoints") == before
    assert not (tmp_path / "corrupt_checkpoints").exists()


def test_prediction_names_a_damaged_checkpoint_and_the_steps_to_use(tiny_cnn_20_steps, tmp_path):
    finished, _ = tiny_cnn_20_steps
    shutil.copytree(finished, tmp_path, dirs_exist_ok=True)
    damaged = tmp_path / "checkpoints" / "20"
    array_file = max(
        (damaged / "state").rglob("ocdbt.process_0/d/*"), key=lambda p: p.stat().st_size
    )
    array_file.write_bytes(array_file.read_bytes()[: array_file.stat().st_size // 2])
    mesh = sharding.make_data_mesh()
    # Not "another model's checkpoint": the folder, the damage and the steps that are whole.
    with pytest.raises(
        checkpoints.DamagedCheckpointError, match=r"checkpoints/20 is damaged.*10, 15"
    ):
        run.restore_cnn(tmp_path, "latest", mesh)
    state, _, where = run.restore_cnn(tmp_path, "15", mesh)
    assert where.endswith("checkpoints/15") and state.step == 15

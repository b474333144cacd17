"""Keras files -> run folders that predict as Keras does; fine-tuning from a run (init_from).

The Keras files are written with h5py (tests/helpers/keras_files.py) and the
expected numbers come from the NumPy Keras of tests/helpers/keras_reference.py.
"""

import hashlib
import json
import subprocess
import sys

import jax
import numpy as np
import pytest

from affect_jax.inference import video_model
from affect_jax.keras_import import hdf5 as keras_hdf5
from affect_jax.keras_import.hdf5 import KerasImportError
from affect_jax.keras_import.runs import RunExistsError, import_keras_run
from affect_jax.models.registry import create_model, input_spec
from affect_jax.stages import train
from affect_jax.training import checkpoints, init_from, sharding, steps
from affect_jax.training.run import find_checkpoint, restore_run_state
from tests.helpers import train_helpers
from tests.helpers.keras_files import cnn_file, edit_config, layer, rnn_file
from tests.helpers.keras_reference import np_cnn, np_rnn

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}
PADDINGS = ("same", "valid", "valid")  # The reference variant's.
FEATURE_DIM = 6


def _import_command(keras_file, workdir, *flags):
    command = [sys.executable, "-m", "affect_jax.import_keras", f"--keras_file={keras_file}"]
    return subprocess.run(
        [*command, f"--workdir={workdir}", *flags],
        cwd=train_helpers.REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    """A narrow reference CNN file imported by the command line: (file, run, Keras arrays)."""
    root = tmp_path_factory.mktemp("imported_cnn")
    keras_file = root / "cnn.hdf5"
    _, arrays = cnn_file(
        keras_file, np.random.default_rng(0), features=(4, 8, 8), feature_dim=FEATURE_DIM
    )
    result = _import_command(keras_file, root / "run")
    assert result.returncode == 0, result.stderr
    assert "Run folder:" in result.stdout
    return keras_file, root / "run", arrays


def test_imported_cnn_predicts_what_keras_does(cnn_run):
    keras_file, run, arrays = cnn_run
    results = json.loads((run / "results.json").read_text())
    assert results["sha256"] == hashlib.sha256(keras_file.read_bytes()).hexdigest()
    assert (results["imported_from"], results["kind"], results["step"]) == (
        str(keras_file.resolve()),
        "cnn",
        0,
    )
    assert (results["keras_version"], results["backend"]) == ("2.3.0-tf", "tensorflow")
    assert sorted(p.name for p in run.iterdir()) == ["checkpoints", "results.json"]
    model = video_model.load_video_model(run)
    assert model.cnn_path == f"{run.resolve()}/checkpoints/0" and model.rnn_state is None
    crops = np.random.default_rng(1).integers(0, 256, (3, 96, 96), dtype=np.uint8)
    outputs, features = model.collect(model.submit(crops))
    want_outputs, want_features = np_cnn(crops[..., None], arrays, PADDINGS, "linear", 9)
    np.testing.assert_allclose(features, want_features, **TOLERANCE)
    np.testing.assert_allclose(outputs, want_outputs, **TOLERANCE)


def test_imported_gru_finds_its_cnn_through_its_config(cnn_run, tmp_path):
    window = 4
    gru_file = tmp_path / "gru.hdf5"
    _, arrays, head = rnn_file(
        gru_file, np.random.default_rng(2), sizes=(5, 6, 3), window=window, feature_dim=FEATURE_DIM
    )
    results = import_keras_run(gru_file, tmp_path / "gru", cnn_workdir=cnn_run[1])
    assert results["cnn_workdir"] == str(cnn_run[1].resolve())
    model = video_model.load_video_model(tmp_path / "gru")  # No feature store, no cnn_path.
    assert model.cnn_path == f"{cnn_run[1].resolve()}/checkpoints/0"
    assert (model.window, model.target) == (window, "next")
    frames = 12
    features = np.random.default_rng(3).normal(0, 1, (frames, FEATURE_DIM)).astype(np.float32)
    values, interpolated = model.values(
        np.ones(frames, bool), features, np.zeros((frames, 2), np.float32)
    )
    # target=next: frames t-W..t-1 predict frame t; the first W frames have no window.
    windows = np.stack([features[t - window : t] for t in range(window, frames)])
    want = np.clip(np_rnn(windows, arrays, head, "GRU", every=False), -1, 1)
    assert np.mean(np.abs(want) < 1) > 0.5  # Mostly unclipped: the numbers are compared.
    np.testing.assert_allclose(values[window:], want, **TOLERANCE)
    assert interpolated.tolist() == [True] * window + [False] * (frames - window)


def test_command_line_refuses_a_lambda_layer_in_one_line(tmp_path):
    keras_file = tmp_path / "lambda.hdf5"
    cnn_file(keras_file, np.random.default_rng(4), features=(4, 8, 8))
    lambda_layer = layer("Lambda", "lambda", function="f")
    edit_config(keras_file, lambda layers: layers.insert(3, lambda_layer))
    result = _import_command(keras_file, tmp_path / "run")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error (KerasImportError): ")
    assert "lambda.hdf5: layer 3 'lambda' (Lambda)" in lines[0]
    assert [p.name for p in tmp_path.iterdir()] == ["lambda.hdf5"]  # Nothing written.


def test_what_is_refused_writes_nothing(cnn_run, tmp_path):
    keras_file, run, _ = cnn_run
    before = sorted(str(p) for p in run.rglob("*"))
    with pytest.raises(RunExistsError, match=r"already holds checkpoints/.*new --workdir"):
        import_keras_run(keras_file, run)
    assert sorted(str(p) for p in run.rglob("*")) == before
    gru_file = tmp_path / "gru.hdf5"
    rnn_file(gru_file, np.random.default_rng(5), sizes=(3,), feature_dim=FEATURE_DIM + 1)
    with pytest.raises(KerasImportError, match=r"gru\.hdf5: an RNN.*--cnn_workdir=CNN_RUN"):
        import_keras_run(gru_file, tmp_path / "gru")
    with pytest.raises(KerasImportError, match=rf"reads {FEATURE_DIM + 1}-wide.*{FEATURE_DIM}"):
        import_keras_run(gru_file, tmp_path / "gru", cnn_workdir=run)
    one_unit = tmp_path / "one_unit.hdf5"
    cnn_file(one_unit, np.random.default_rng(6), features=(4, 8, 8), head_units=1)
    with pytest.raises(KerasImportError, match=r"1 unit.*--target=valence\|arousal"):
        import_keras_run(one_unit, tmp_path / "one")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gru.hdf5", "one_unit.hdf5"]
    import_keras_run(one_unit, tmp_path / "one", target="arousal")
    assert tuple(find_checkpoint(tmp_path / "one", "best")[2].targets) == ("arousal",)


def test_a_failed_write_leaves_nothing_and_a_folder_without_a_run_is_used(tmp_path, monkeypatch):
    keras_file = tmp_path / "models" / "cnn.hdf5"
    keras_file.parent.mkdir()
    cnn_file(keras_file, np.random.default_rng(8), features=(4, 8, 8), feature_dim=FEATURE_DIM)

    def disk_full(*args, **kwargs):
        raise checkpoints.CheckpointWriteError("No space left on device")

    monkeypatch.setattr(checkpoints, "save", disk_full)
    with pytest.raises(checkpoints.CheckpointWriteError):
        import_keras_run(keras_file, tmp_path / "run")
    assert [p.name for p in tmp_path.iterdir()] == ["models"]  # No run, no staging folder.
    monkeypatch.undo()
    import_keras_run(keras_file, tmp_path / "models")  # Where the file was saved.
    names = sorted(p.name for p in (tmp_path / "models").iterdir())
    assert names == ["checkpoints", "cnn.hdf5", "results.json"]
    assert find_checkpoint(tmp_path / "models", "best")[1] == 0


def _fresh_state(config):
    mesh = sharding.make_data_mesh()
    model = create_model(config)
    return steps.create_train_state(model, config, mesh, input_spec(config)), mesh


@pytest.mark.long(19)
def test_fine_tuning_starts_from_the_imported_cnn_then_resumes(tiny_affwild2, cnn_run, tmp_path):
    keras_file = tmp_path / "tiny_widths.hdf5"  # configs/affwild2_cnn.py:tiny's widths.
    cnn_file(keras_file, np.random.default_rng(7), features=(8, 16, 16), feature_dim=32)
    import_keras_run(keras_file, tmp_path / "imported")
    config = train_helpers.tiny_config(tiny_affwild2, num_train_steps=2)
    config.init_from = str(tmp_path / "imported")
    state, mesh = _fresh_state(config)
    state = init_from.initialize_from(state, config.init_from, config, mesh)
    want = keras_hdf5.to_flax_variables(keras_hdf5.read_keras_file(keras_file))
    got = jax.device_get({"params": state.params, "batch_stats": state.batch_stats})
    jax.tree.map(np.testing.assert_array_equal, got, want)
    assert int(state.step) == 0

    # Learning rate 0: the run's parameters stay the ones it started from.
    config.optimizer.learning_rate = 0.0
    workdir = tmp_path / "fine_tuned"
    assert train.train_and_evaluate(config, str(workdir))["step"] == 2
    trained = restore_run_state(workdir, 2, config, mesh)
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(trained.params), want["params"])
    # A rerun resumes from its own checkpoint: init_from is not read (this one does not fit).
    config.init_from = str(cnn_run[1])
    assert train.train_and_evaluate(config, str(workdir))["step"] == 2


def test_init_from_a_run_of_other_widths_names_the_path_and_shapes(tiny_affwild2, cnn_run):
    config = train_helpers.tiny_config(tiny_affwild2, num_train_steps=2)
    state, mesh = _fresh_state(config)
    with pytest.raises(
        checkpoints.CheckpointMismatchError,
        match=r"checkpoints/0 does not fit.*params/conv1/kernel: \(5, 5, 1, 4\) in init_from, "
        r"\(5, 5, 1, 8\) in this run",
    ):
        init_from.initialize_from(state, str(cnn_run[1]), config, mesh)
    with pytest.raises(init_from.ImportedWorkdirError, match=r"imported run.*init_from="):
        train.train_and_evaluate(config, str(cnn_run[1]))


def test_init_from_weights_trained_on_other_pixels_is_said(tiny_affwild2, tmp_path, caplog):
    keras_file = tmp_path / "tiny_widths.hdf5"
    cnn_file(keras_file, np.random.default_rng(7), features=(8, 16, 16), feature_dim=32)
    import_keras_run(keras_file, tmp_path / "imported")  # The paper's pixels: "none".
    config = train_helpers.tiny_config(tiny_affwild2, num_train_steps=2)
    state, mesh = _fresh_state(config)
    with caplog.at_level("WARNING"):
        init_from.initialize_from(state, str(tmp_path / "imported"), config, mesh)
    assert "normalises them" not in caplog.text
    config.input.photometric = "standardize"
    with caplog.at_level("WARNING"):
        init_from.initialize_from(state, str(tmp_path / "imported"), config, mesh)
    assert "config.input.photometric='none'; this run normalises them with 'standardize'" in (
        caplog.text
    )

"""Extract stage and RNN training on the tiny synthetic Aff-Wild2."""

import json
from pathlib import Path

import jax
import numpy as np
import pytest

from affect_jax.data import sources, windows
from affect_jax.data.feature_store import FeatureStore, FeatureStoreError
from affect_jax.stages import extract, train
from affect_jax.tasks.metrics import concordance_correlation
from affect_jax.training import checkpoints, run, sharding, steps
from tests.helpers import train_helpers


def test_feature_store_size_and_index(tiny_features, tiny_affwild2):
    store = FeatureStore(tiny_features / "validation")
    source = sources.open_split("affwild2/va", tiny_affwild2, "validation")
    assert len(store) == len(source)
    expected_bytes = len(store) * store.features.shape[1] * np.dtype("float16").itemsize
    actual = (tiny_features / "validation" / "features.npy").stat().st_size
    assert abs(actual - expected_bytes) <= 0.05 * expected_bytes + 128  # 128: .npy header.
    assert store.features.dtype == np.float16
    for row in (0, len(store) // 2, len(store) - 1):
        record = source[row]
        assert store.video_names[store.video_ids[row]] == record["video"].decode()
        assert store.frames[row] == record["frame"]
        np.testing.assert_allclose(store.labels[row], [record["valence"], record["arousal"]])


def test_restored_cnn_gives_the_live_models_features(tiny_affwild2, tmp_path, monkeypatch):
    # The live model: the state training holds when it saves its last step.
    live_states = {}
    real_save = checkpoints.save

    def save(manager, step, state, *args, **kwargs):
        live_states[step] = jax.device_get(state)
        return real_save(manager, step, state, *args, **kwargs)

    monkeypatch.setattr(checkpoints, "save", save)
    workdir = tmp_path / "cnn"
    config = train_helpers.tiny_config(tiny_affwild2, num_train_steps=10)
    train.train_and_evaluate(config, str(workdir))
    monkeypatch.setattr(checkpoints, "save", real_save)

    mesh = sharding.make_data_mesh()
    source = sources.open_split("affwild2/va", tiny_affwild2, "validation")
    images = np.stack([source[i]["image"] for i in range(32)])  # Extraction's batch size.
    predict = steps.make_predict_step(mesh, return_features=True)
    live = np.asarray(predict(live_states[10], {"inputs": jax.device_put(images)})["features"])
    restored_state, restored_config, _ = run.restore_cnn(workdir, "best", mesh)
    assert restored_config.model.name == "cnn"
    restored = predict(restored_state, {"inputs": jax.device_put(images)})["features"]
    # Same parameters, statistics, program and batch: the same bits.
    np.testing.assert_array_equal(np.asarray(restored), live)
    # The extract stage stores them as float16.
    extraction = train_helpers.load_config("affwild2_extract", f"tiny,cnn_workdir={workdir}")
    extraction.extract.splits = ("validation",)
    extract.extract(extraction, str(tmp_path / "extract"))
    stored = FeatureStore(tmp_path / "extract" / "features" / "validation").features[:32]
    np.testing.assert_allclose(stored.astype(np.float32), live, rtol=2e-3, atol=2e-3)


def test_interrupted_extraction_resumes_to_the_same_store(
    tiny_cnn_run, tiny_features, tmp_path, monkeypatch
):
    config = train_helpers.load_config("affwild2_extract", f"tiny,cnn_workdir={tiny_cnn_run[0]}")
    config.extract.splits = ("validation",)
    # Batch size left at the tiny config's, as `tiny_features` ran: on some CPUs
    # (AVX2 AMD) the batch size changes a convolution's last bits, so only runs
    # at the same batch size can be compared bit for bit. 32 rows a batch and
    # about 80 validation rows: the crash below falls inside the third, last batch.
    monkeypatch.setattr(extract, "_SYNC_EVERY_S", 0.0)  # Record progress every batch.
    real_write = extract.NpyRowWriter.write
    calls = {"n": 0}

    def crash_in_third_batch(self, first_row, rows):
        calls["n"] += 1
        if calls["n"] > 12:  # 5 arrays per batch: dies inside the third.
            raise KeyboardInterrupt("simulated crash")
        real_write(self, first_row, rows)

    monkeypatch.setattr(extract.NpyRowWriter, "write", crash_in_third_batch)
    with pytest.raises(KeyboardInterrupt):
        extract.extract(config, str(tmp_path))
    with pytest.raises(FeatureStoreError, match="complete.json"):
        FeatureStore(tmp_path / "features" / "validation")
    progress = json.loads((tmp_path / "features" / "validation" / "progress.json").read_text())
    assert 0 < progress["rows_done"] < len(FeatureStore(tiny_features / "validation"))

    monkeypatch.setattr(extract.NpyRowWriter, "write", real_write)
    extract.extract(config, str(tmp_path))
    resumed = FeatureStore(tmp_path / "features" / "validation")
    reference = FeatureStore(tiny_features / "validation")
    for name in ("features", "cnn_outputs", "video_ids", "frames", "labels"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(reference, name))


def _train_gru(features_dir, workdir, window: int) -> dict:
    config = train_helpers.load_config("affwild2_rnn", f"tiny,features_dir={features_dir}")
    config.rnn.window = window
    # Each window's last output predicts its own last frame: frame t is seen
    # with window 1 too, and a longer window adds only frames before it.
    config.rnn.target = "every"
    config.num_train_steps = 300
    config.eval_every_steps = config.checkpoint_every_steps = 300
    config.optimizer.learning_rate = 0.05
    return train.train_and_evaluate(config, str(workdir))


def _predicted(workdir: Path, store: FeatureStore) -> np.ndarray:
    """Every store row's prediction, read from the run's challenge-format files."""
    predictions = np.zeros((len(store), 2))
    for video, name in enumerate(store.video_names):
        lines = (workdir / "predictions" / f"{name}.txt").read_text().splitlines()[1:]
        values = np.array([[float(x) for x in line.split(",")] for line in lines])
        rows = np.flatnonzero(store.video_ids == video)
        predictions[rows] = values[store.frames[rows] - 1]  # Line i: frame i.
    return predictions


@pytest.mark.long(35)
def test_gru_beats_the_cnn_alone_on_the_same_frames(tiny_features, tmp_path):
    result = _train_gru(tiny_features, tmp_path, window=3)
    # Per-frame noise in the rendered expressions is what temporal context removes.
    assert result["frame_ccc_mean"] > result["cnn_ccc_mean"] + 0.05, result
    # The control: the same GRU, features and training over frame t alone, a
    # head retrained on the features (most of the gain over the CNN's own head:
    # 0.59 / 0.56 -> 0.96 / 0.91). On the frames with two before them in their
    # run, which both predict themselves, the context of those two must add to
    # it (measured: +0.005 valence, +0.03 arousal).
    control_dir = tmp_path / "window_1"
    _train_gru(tiny_features, control_dir, window=1)
    store = FeatureStore(tiny_features / "validation")
    starts = windows.window_starts(store.video_ids, store.frames, 3, target="every")
    rows = windows.predicted_rows(starts, 3, "every")
    columns = [store.label_names.index(name) for name in ("valence", "arousal")]
    labels = np.asarray(store.labels)[rows][:, columns]
    with_context = concordance_correlation(_predicted(tmp_path, store)[rows], labels)
    frame_alone = concordance_correlation(_predicted(control_dir, store)[rows], labels)
    assert np.all(with_context >= frame_alone), (with_context, frame_alone)
    assert with_context.mean() > frame_alone.mean() + 0.01, (with_context, frame_alone)
    files = sorted((tmp_path / "predictions").glob("*.txt"))
    store = FeatureStore(tiny_features / "validation")
    assert len(files) == len(store.video_names)
    lines = files[0].read_text().splitlines()
    assert lines[0] == "valence,arousal"
    video = store.video_names.index(files[0].stem)
    assert len(lines) - 1 == store.frames[store.video_ids == video].max()
    values = np.array([[float(x) for x in line.split(",")] for line in lines[1:]])
    assert np.abs(values).max() <= 1.0


def test_extract_refuses_a_workdir_without_cnn_checkpoints(tmp_path):
    config = train_helpers.load_config("affwild2_extract", f"tiny,cnn_workdir={tmp_path}")
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "checkpoints")):
        extract.extract(config, str(tmp_path / "out"))


def test_extract_refuses_an_rnn_checkpoint(tiny_features, tmp_path):
    config = train_helpers.load_config("affwild2_rnn", f"tiny,features_dir={tiny_features}")
    config.num_train_steps = 5
    rnn_workdir = tmp_path / "rnn"
    train.train_and_evaluate(config, str(rnn_workdir))
    extract_config = train_helpers.load_config(
        "affwild2_extract", f"tiny,cnn_workdir={rnn_workdir}"
    )
    with pytest.raises(checkpoints.CheckpointMismatchError, match="not a CNN"):
        extract.extract(extract_config, str(tmp_path / "out"))


def test_missing_feature_store_and_too_long_window_are_named(tiny_features, tmp_path):
    config = train_helpers.load_config("affwild2_rnn", f"tiny,features_dir={tmp_path}")
    with pytest.raises(FeatureStoreError, match=str(tmp_path / "train")):
        train.train_and_evaluate(config, str(tmp_path / "work"))
    config = train_helpers.load_config("affwild2_rnn", f"tiny,features_dir={tiny_features}")
    config.rnn.window = 1000
    with pytest.raises(ValueError, match="Lower config.rnn.window"):
        train.train_and_evaluate(config, str(tmp_path / "work2"))
    assert Path(tiny_features / "train" / "complete.json").exists()


@pytest.mark.parametrize("config_name", ["affwild2_expr", "affwild2_au", "ck_plus_cnn"])
def test_extract_names_a_cnn_that_does_not_regress_valence_arousal(config_name):
    config = train_helpers.load_config(config_name)
    with pytest.raises(ValueError, match=r"runs/x/checkpoints/5 is a .* serve valence-arousal"):
        extract.check_extractable(config, "runs/x/checkpoints/5")


@pytest.mark.parametrize("arg", ["", "target=valence", "loss=mse"])
def test_extract_takes_valence_arousal_cnns(arg):
    extract.check_extractable(train_helpers.load_config("affwild2_cnn", arg), "runs/x")


def test_extract_takes_a_multitask_cnn():
    # Its features serve the RNN of every task, its outputs their CNN baseline.
    extract.check_extractable(train_helpers.load_config("affwild2_multitask"), "runs/x")

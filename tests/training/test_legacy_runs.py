"""Run folders written by earlier code still work.

tests/fixtures/legacy_run_2026_12_01 holds a tiny VA CNN run and a tiny GRU run
over its features, written by the code of commit 30678a7 (before the package
layout changed), with the CNN's outputs on fixed inputs at that time.
tests/fixtures/run_2026_12_06 holds a tiny multitask CNN and an expression GRU
written by commit 3efddab (configs naming the task `loss`, by its old names),
with both runs' outputs (tests/helpers/record_run_fixture.py). They must still
predict the same numbers, extract features, and resume training.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from absl import logging

from affect_jax.inference import video_model
from affect_jax.stages import extract, train
from affect_jax.tasks.labels import VALENCE_AROUSAL
from affect_jax.training import checkpoints
from tests.helpers import train_helpers

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_run_2026_12_01"
BEFORE_TASK_KEY = LEGACY.parent / "run_2026_12_06"


def _crops(seed: int, shape: list[int]) -> np.ndarray:
    """The fixed uint8 crops a fixture's outputs were recorded on."""
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _fixed_crops() -> tuple[np.ndarray, dict]:
    expected = json.loads((LEGACY / "expected_cnn_outputs.json").read_text())
    return _crops(expected["seed"], expected["shape"]), expected


def test_a_legacy_cnn_run_predicts_what_it_predicted_then():
    model = video_model.load_video_model(LEGACY / "cnn")
    crops, expected = _fixed_crops()
    outputs, features = model.collect(model.submit(crops))
    np.testing.assert_allclose(outputs, expected["cnn_outputs"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(features.sum(1), expected["features_sum"], rtol=1e-4, atol=1e-4)


def test_a_legacy_gru_run_predicts_over_its_cnn():
    # Its feature store (and so the CNN path in it) stayed on the machine that wrote it.
    model = video_model.load_video_model(LEGACY / "gru", cnn_path=LEGACY / "cnn")
    assert model.rnn_state is not None and model.window == 3
    crops, _ = _fixed_crops()
    outputs, features = model.collect(model.submit(np.concatenate([crops] * 2)))
    values, interpolated = model.values(np.ones(8, bool), features, outputs)
    assert values.shape == (8, len(VALENCE_AROUSAL))
    # What commit 30678a7's code predicted (tests/helpers/record_legacy_gru_values.py).
    recorded = json.loads((LEGACY / "expected_gru_values.json").read_text())
    np.testing.assert_allclose(values, recorded["values_on_crops_twice"], rtol=1e-5, atol=1e-5)
    # Window 3, target next: frames 3..7 are the GRU's own, 0..2 filled.
    assert interpolated.tolist() == recorded["interpolated"] == [True] * 3 + [False] * 5


def test_a_legacy_cnn_run_extracts_and_resumes(tiny_affwild2, tmp_path, caplog):
    config = train_helpers.load_config("affwild2_extract", f"tiny,cnn_workdir={LEGACY / 'cnn'}")
    config.dataset.data_dir = tiny_affwild2  # The one saved in the run is gone.
    config.extract.splits = ("validation",)
    stores = extract.extract(config, str(tmp_path / "features"))
    complete = json.loads((Path(stores["validation"]) / "complete.json").read_text())
    assert complete["checkpoint"].endswith("legacy_run_2026_12_01/cnn/checkpoints/10")

    workdir = tmp_path / "cnn"
    shutil.copytree(LEGACY / "cnn", workdir)
    resumed = train_helpers.tiny_config(tiny_affwild2, num_train_steps=12)
    caplog.set_level(logging.INFO)
    result = train.train_and_evaluate(resumed, str(workdir))
    assert f"Resuming from {workdir}/checkpoints/10" in caplog.text
    assert result["step"] == 12


def _recorded() -> tuple[np.ndarray, dict]:
    expected = json.loads((BEFORE_TASK_KEY / "expected_outputs.json").read_text())
    return _crops(expected["crops_seed"], expected["crops_shape"]), expected


def test_a_multitask_cnn_written_with_loss_predicts_what_it_predicted_then():
    model = video_model.load_video_model(BEFORE_TASK_KEY / "cnn")
    crops, expected = _recorded()
    assert list(model.value_names) == expected["cnn_value_names"]  # VA, 8 expressions, 13 AUs.
    outputs, features = model.collect(model.submit(crops))
    np.testing.assert_allclose(outputs, expected["cnn_outputs"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(features.sum(1), expected["cnn_features_sum"], rtol=1e-4, atol=1e-4)


def test_an_expression_gru_written_with_loss_predicts_what_it_predicted_then():
    model = video_model.load_video_model(BEFORE_TASK_KEY / "gru", cnn_path=BEFORE_TASK_KEY / "cnn")
    crops, expected = _recorded()
    assert list(model.value_names) == expected["gru_value_names"]
    frames = np.concatenate([crops] * 2)
    outputs, features = model.collect(model.submit(frames))
    values, interpolated = model.values(np.ones(len(frames), bool), features, outputs)
    # Expression probabilities of the GRU's windows (softmax), interpolated at the start.
    np.testing.assert_allclose(values, expected["gru_values_on_crops_twice"], rtol=1e-5, atol=1e-6)
    assert interpolated.tolist() == expected["gru_interpolated"]


def test_runs_written_with_loss_match_todays_configs_of_their_task_only():
    for run, config_arg, other in (
        ("cnn", ("affwild2_multitask", "tiny"), ("affwild2_expr", "tiny")),
        ("gru", ("affwild2_rnn", "tiny,task=expr"), ("affwild2_rnn", "tiny,task=au")),
    ):
        manager = checkpoints.make_manager(BEFORE_TASK_KEY / run / "checkpoints", 1)
        saved = checkpoints.saved_config(manager, manager.latest_step())
        assert "task" not in saved and saved.loss in ("multitask", "cross_entropy")
        today = train_helpers.load_config(*config_arg)
        checkpoints.check_compatible(saved, today, run)
        with pytest.raises(checkpoints.CheckpointMismatchError, match="config.task"):
            checkpoints.check_compatible(saved, train_helpers.load_config(*other), run)
        manager.close()


def test_a_multitask_cnn_written_with_loss_resumes(tiny_multitask_affwild2, tmp_path, caplog):
    workdir = tmp_path / "cnn"
    shutil.copytree(BEFORE_TASK_KEY / "cnn", workdir)
    config = train_helpers.load_config(
        "affwild2_multitask", f"tiny,data_dir={tiny_multitask_affwild2}"
    )
    config.num_train_steps = 12
    caplog.set_level(logging.INFO)
    result = train.train_and_evaluate(config, str(workdir))
    assert f"Resuming from {workdir}/checkpoints/10" in caplog.text
    assert result["step"] == 12 and set(result["au_thresholds"]) >= {"AU1", "AU12"}

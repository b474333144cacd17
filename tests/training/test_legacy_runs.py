"""Run folders written before the package layout changed (2026-12-01) still work.

tests/fixtures/legacy_run_2026_12_01 holds a tiny CNN run and a tiny GRU run
over its features, written by the code of commit 30678a7, with the CNN's
outputs on fixed inputs at that time. They must still predict the same
numbers, extract features, and resume training.
"""

import json
import shutil
from pathlib import Path

import numpy as np
from absl import logging

from affect_jax.inference import video_model
from affect_jax.stages import extract, train
from affect_jax.tasks.labels import VALENCE_AROUSAL
from tests.helpers import train_helpers

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_run_2026_12_01"


def _fixed_crops() -> tuple[np.ndarray, dict]:
    expected = json.loads((LEGACY / "expected_cnn_outputs.json").read_text())
    rng = np.random.default_rng(expected["seed"])
    return rng.integers(0, 256, expected["shape"], dtype=np.uint8), expected


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
    assert values.shape == (8, len(VALENCE_AROUSAL)) and np.isfinite(values).all()
    # Window 3, target next: frames 3..7 are the GRU's own, 0..2 filled.
    assert interpolated.tolist() == [True] * 3 + [False] * 5


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

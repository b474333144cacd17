"""Files written by Keras itself import and predict what Keras did, in JAX and in ONNX.

tests/fixtures/keras_written holds a narrow reference CNN and a 3-layer GRU
saved by tf-keras 2.21 (`model.save(..., save_format="h5")`, the authors'
format), with fixed inputs and Keras's own outputs for them
(tests/helpers/make_keras_written_files.py made them once, outside CI).
"""

from pathlib import Path

import numpy as np
import pytest

from affect_jax.inference import video_model
from affect_jax.keras_import.runs import import_keras_run

KERAS_WRITTEN = Path(__file__).resolve().parents[1] / "fixtures" / "keras_written"
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    root = tmp_path_factory.mktemp("keras_written")
    import_keras_run(KERAS_WRITTEN / "cnn.h5", root / "cnn")
    import_keras_run(KERAS_WRITTEN / "gru.h5", root / "gru", cnn_workdir=root / "cnn")
    return root


def test_a_keras_written_cnn_predicts_what_keras_did(imported):
    reference = np.load(KERAS_WRITTEN / "reference.npz")
    model = video_model.load_video_model(imported / "cnn")
    outputs, features = model.collect(model.submit(reference["crops"][..., 0]))
    np.testing.assert_allclose(features, reference["features"], **TOLERANCE)
    np.testing.assert_allclose(outputs, reference["cnn_outputs"], **TOLERANCE)


def test_a_keras_written_gru_predicts_what_keras_did(imported):
    reference = np.load(KERAS_WRITTEN / "reference.npz")
    model = video_model.load_video_model(imported / "gru")
    assert model.window == reference["windows"].shape[1]
    outputs = model.run_rnn(reference["windows"])
    np.testing.assert_allclose(outputs, reference["gru_outputs"], **TOLERANCE)


def test_an_imported_keras_pair_exports_to_onnx_that_predicts_what_keras_did(imported, tmp_path):
    from affect_jax.inference.exported_model import load_exported_model
    from affect_jax.onnx_export.export_run import export_run

    reference = np.load(KERAS_WRITTEN / "reference.npz")
    export_run(imported / "gru", tmp_path / "exported")
    model = load_exported_model(tmp_path / "exported")
    outputs, features = model.collect(model.submit(reference["crops"][..., 0]))
    np.testing.assert_allclose(features, reference["features"], **TOLERANCE)
    np.testing.assert_allclose(
        model.run_rnn(reference["windows"]), reference["gru_outputs"], **TOLERANCE
    )

"""An exported folder names the photometric normalisation its CNN expects; predict applies it."""

import json

import pytest

from affect_jax.inference import exported_model
from affect_jax.inference.exported_folder import MODEL_JSON, ExportedFolderError
from affect_jax.onnx_export.export_run import export_run
from tests.helpers.photometric_runs import LEGACY_CNN, legacy_cnn_with


def test_the_folder_names_the_normalisation_and_prediction_reads_it(tmp_path):
    spec = export_run(legacy_cnn_with(tmp_path, "standardize"), tmp_path / "exported")
    assert spec.input["photometric"] == "standardize"
    # ONNX holds no normalisation: the folder says so and gives the recipe.
    assert "not in the graph" in spec.input["photometric_note"]
    assert "128 + 48" in spec.input["photometric_note"]
    assert exported_model.load_exported_model(tmp_path / "exported").photometric == "standardize"


def test_a_folder_of_a_run_without_normalisation_says_none(tmp_path):
    folder = tmp_path / "exported"
    spec = export_run(LEGACY_CNN, folder)
    assert spec.input["photometric"] == "none"
    assert exported_model.load_exported_model(folder).photometric == "none"
    # Folders exported before the key: none; a value this version lacks: a clear error.
    written = json.loads((folder / MODEL_JSON).read_text())
    del written["input"]["photometric"]
    (folder / MODEL_JSON).write_text(json.dumps(written))
    assert exported_model.load_exported_model(folder).photometric == "none"
    written["input"]["photometric"] = "gamma"
    (folder / MODEL_JSON).write_text(json.dumps(written))
    with pytest.raises(ExportedFolderError, match="'gamma'.*upgrade affect-jax"):
        exported_model.load_exported_model(folder)

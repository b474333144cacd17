"""A model that learned from synthetic faces says so wherever its numbers appear.

Builds record whether their raw folder is a synthetic release; runs copy the
record into results.json; predict (on a run or an exported folder) and export
read it back. A model imported from the authors' Keras files learned from real
faces and says nothing of the kind.
"""

import fnmatch
import json
from pathlib import Path

import numpy as np
import pytest

from affect_jax.data import provenance, sources
from affect_jax.inference import outputs as prediction_outputs
from affect_jax.inference import predict_videos
from affect_jax.keras_import.runs import import_keras_run
from affect_jax.onnx_export.export_run import export_run
from affect_jax.synthetic import (
    affwild2_layout,
    ck_plus_layout,
    face_folders_layout,
    jaffe_layout,
    portrait_video,
)
from data_builders.affwild2 import make_dummy_data
from tests.helpers.keras_files import cnn_file

SYNTHETIC = {"dataset": "affwild2/va", "synthetic": True}


def test_every_synthetic_release_is_recognised_as_one():
    for layout in (affwild2_layout, ck_plus_layout, jaffe_layout, face_folders_layout):
        assert fnmatch.fnmatch(layout.MARKER_FILENAME, provenance.SYNTHETIC_MARKER_GLOB)


def test_builds_and_runs_record_where_their_faces_came_from(tiny_affwild2, tiny_rnn_run, tmp_path):
    built = sources.open_builder("affwild2/va", tiny_affwild2).data_dir
    source = provenance.read_source(built)
    assert source["synthetic"] is True
    assert source["synthetic_marker"] == affwild2_layout.MARKER_FILENAME
    # The repository's dummy data has no marker: taken for real files.
    assert provenance.write_source(tmp_path, make_dummy_data.DUMMY_DATA)["synthetic"] is False
    results = json.loads((Path(tiny_rnn_run) / "results.json").read_text())
    assert results[provenance.TRAINING_DATA_KEY] == SYNTHETIC  # Through the feature store.


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("video") / "talk.avi"
    portrait_video.write_portrait_video(path, 10, no_face=[], seed=6)
    return str(path)


def _predict(checkpoint, video, out, monkeypatch) -> tuple[list[str], dict, list[str]]:
    """(summary lines, the sidecar JSON, the timeline panels' titles)."""
    titles = []
    real_plot = prediction_outputs.plot_timelines

    def recording_plot(timelines, *args, **kwargs):
        titles.extend(timeline.title for timeline in timelines)
        return real_plot(timelines, *args, **kwargs)

    monkeypatch.setattr(prediction_outputs, "plot_timelines", recording_plot)
    summary = predict_videos.predict_videos(str(checkpoint), [video], str(out))
    assert summary.written == ["talk"], summary.lines()
    return summary.lines(), json.loads((out / "talk.json").read_text()), titles


def test_a_synthetic_trained_model_says_so_and_an_imported_one_does_not(
    tiny_rnn_run, video, tmp_path, monkeypatch
):
    lines, sidecar, titles = _predict(tiny_rnn_run, video, tmp_path / "run", monkeypatch)
    assert lines[0] == provenance.SYNTHETIC_NOTE
    assert sidecar["model"]["synthetic_only"] is True
    assert sidecar["model"]["training_data"] == [SYNTHETIC, SYNTHETIC]
    assert titles == ["talk" + prediction_outputs.SYNTHETIC_TITLE]
    # Exported, the folder carries the record to machines without the runs.
    spec = export_run(tiny_rnn_run, tmp_path / "exported")
    assert provenance.learned_only_from_synthetic(spec.source["training_data"])
    lines, sidecar, _ = _predict(tmp_path / "exported", video, tmp_path / "onnx", monkeypatch)
    assert lines[0] == provenance.SYNTHETIC_NOTE and sidecar["model"]["synthetic_only"]

    keras_file = tmp_path / "cnn.hdf5"
    cnn_file(keras_file, np.random.default_rng(0), features=(4, 8, 8), feature_dim=6)
    import_keras_run(keras_file, tmp_path / "imported")
    lines, sidecar, titles = _predict(tmp_path / "imported", video, tmp_path / "keras", monkeypatch)
    assert provenance.SYNTHETIC_NOTE not in lines
    assert sidecar["model"]["synthetic_only"] is False
    assert sidecar["model"]["training_data"][0]["synthetic"] is False
    assert titles == ["talk"]

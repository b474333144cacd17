"""The Colab notebook runs headless against runs trained on the embedded default.

Each test executes the whole notebook in a kernel and checks what it produced:
the CSV of the sample video, the figure it drew and displayed, the CCC it
printed (recomputed here from the CSV and the sample's known trajectory), and
the same sample predicted by the run exported to ONNX.
"""

import base64
import csv
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from affect_jax.data import provenance
from affect_jax.inference import outputs as prediction_outputs
from affect_jax.synthetic import face_crop_video
from affect_jax.tasks.metrics import concordance_correlation

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "predict_video.ipynb"
SAMPLE_FRAMES = 150  # The notebook's sample: face crops at 25 frames/s.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What the notebook reads; unset, each takes the notebook's default.
_NOTEBOOK_ENV = (
    "AFFECT_JAX_CHECKPOINT",
    "AFFECT_JAX_OUTPUT",
    "AFFECT_JAX_MY_VIDEO",
    "AFFECT_JAX_PAPER_CNN",
    "AFFECT_JAX_PAPER_GRU",
)


def _run_notebook(cwd: Path, monkeypatch, **env: str) -> tuple[str, list[bytes]]:
    """Executes the notebook in `cwd`: (printed text, displayed PNGs)."""
    for name in _NOTEBOOK_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    pngs = [
        base64.b64decode(o["data"]["image/png"])
        for o in outputs
        if o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
    ]
    return text, pngs


def _check_sample_outputs(out: Path, text: str, pngs: list[bytes], window: int) -> np.ndarray:
    """The sample's CSV, figures and printed CCC; returns the [150, 2] predictions."""
    assert "1 written, 0 failed." in text, text
    # Runs trained on the embedded default say their faces were synthetic.
    assert provenance.SYNTHETIC_NOTE in text
    with open(out / "sample.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == list(prediction_outputs.CSV_COLUMNS)
    assert [int(r["frame"]) for r in rows] == list(range(SAMPLE_FRAMES))
    np.testing.assert_allclose([float(r["time_s"]) for r in rows], np.arange(SAMPLE_FRAMES) / 25)
    assert all(r["face_found"] == "1" for r in rows)  # Crops: every frame is a face.
    # A model's own output once `window` frames precede (GRU, target next: its
    # window; the CNN alone: every frame); before that, filled in.
    assert [int(r["interpolated"]) for r in rows] == [1] * window + [0] * (SAMPLE_FRAMES - window)
    predictions = np.array([[float(r["valence"]), float(r["arousal"])] for r in rows])
    assert np.all(np.isfinite(predictions)) and np.all(np.abs(predictions) <= 1.0)
    assert predictions.std(axis=0).min() > 0  # Not one constant answer.

    # The notebook's own figure, written and displayed (the same bytes).
    figure = (out / "sample_notebook.png").read_bytes()
    assert figure.startswith(PNG_SIGNATURE) and len(figure) > 10_000
    assert pngs == [figure]
    assert (out / "sample_timeline.png").read_bytes().startswith(PNG_SIGNATURE)

    # The CCC it printed is that of the CSV against the sample's trajectory.
    found = re.search(r"CCC against the truth: valence (\S+), arousal (\S+)", text)
    assert found, text
    truth = np.stack(face_crop_video.trajectory(SAMPLE_FRAMES), axis=1)
    expected = concordance_correlation(predictions, truth)
    np.testing.assert_allclose([float(found[1]), float(found[2])], expected, atol=5e-4)
    assert "No video of your own given" in text
    # The run exported to ONNX predicts the same sample alike (through onnxruntime).
    exported = re.search(r"Exported model \S+: at most (\S+) from the run's predictions", text)
    assert exported and float(exported[1]) <= 1e-4, text
    with open(out / "exported_predictions" / "sample.csv", newline="") as file:
        exported_rows = list(csv.DictReader(file))
    assert len(exported_rows) == SAMPLE_FRAMES
    return predictions


@pytest.mark.timeout(600)
def test_notebook_predicts_and_plots_with_a_cnn_run(tiny_cnn_run, tmp_path, monkeypatch):
    # The tiny CNN (150 steps) has learned: on a person it never saw its
    # predictions follow the truth (a constant answer scores CCC 0).
    checkpoint = tiny_cnn_run[0]
    text, pngs = _run_notebook(
        tmp_path, monkeypatch, AFFECT_JAX_CHECKPOINT=checkpoint, AFFECT_JAX_OUTPUT="out"
    )
    assert f"checkpoint: {checkpoint} | outputs: {tmp_path.resolve() / 'out'}" in text
    predictions = _check_sample_outputs(tmp_path / "out", text, pngs, window=0)
    truth = np.stack(face_crop_video.trajectory(SAMPLE_FRAMES), axis=1)
    assert concordance_correlation(predictions, truth).min() > 0.4


@pytest.mark.timeout(600)
def test_notebook_default_path_predicts_with_the_gru_run(tiny_rnn_run, tmp_path, monkeypatch):
    # Nothing set: the notebook's defaults, the GRU workdir runs/quickstart/gru
    # (as launch/quickstart.sh leaves it) and outputs in notebook_predictions/.
    # The tiny GRU (10 steps) has not learned: its CCC is checked for being
    # what the CSV says, not for size.
    shutil.copytree(tiny_rnn_run, tmp_path / "runs" / "quickstart" / "gru")
    text, pngs = _run_notebook(tmp_path, monkeypatch)
    out = tmp_path.resolve() / "notebook_predictions"
    assert f"checkpoint: runs/quickstart/gru | outputs: {out}" in text
    assert "using runs/quickstart/gru." in text  # No paper models here.
    # Window 3, target next: the first 3 frames are filled in, so the GRU predicted.
    _check_sample_outputs(out, text, pngs, window=3)

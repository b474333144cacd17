"""The Colab notebook runs headless against a checkpoint trained on the embedded default."""

import csv
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "predict_video.ipynb"


@pytest.mark.timeout(600)
def test_notebook_predicts_and_plots(tiny_cnn_run, tmp_path, monkeypatch):
    # The tiny CNN (150 steps) has learned; the tiny GRU (10 steps) has not,
    # and test_predict.py covers the RNN path.
    checkpoint = tiny_cnn_run[0]
    monkeypatch.setenv("AFFECT_JAX_CHECKPOINT", checkpoint)
    monkeypatch.setenv("AFFECT_JAX_OUTPUT", str(tmp_path / "out"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()

    with open(tmp_path / "out" / "sample.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 150
    assert (tmp_path / "out" / "sample_timeline.png").stat().st_size > 10_000
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert any(
        o.get("output_type") == "display_data" and "image/png" in o.get("data", {}) for o in outputs
    ), "the timeline figure was not displayed"
    text = "".join(o.get("text", "") for o in outputs)
    assert "1 written, 0 failed." in text
    # The sample is a person the model never saw: its predictions follow the truth.
    found = re.search(r"CCC against the truth: valence (\S+), arousal (\S+)", text)
    assert found, text
    assert float(found[1]) > 0.4 and float(found[2]) > 0.4, found[0]
    assert "No video of your own given" in text
    assert os.environ["AFFECT_JAX_CHECKPOINT"] == checkpoint

"""The Colab notebook runs headless against a checkpoint trained on the embedded default."""

import csv
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "predict_video.ipynb"


@pytest.mark.timeout(600)
def test_notebook_predicts_and_plots(tiny_rnn_run, tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_JAX_CHECKPOINT", str(tiny_rnn_run))
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
    assert len(rows) == 120
    assert (tmp_path / "out" / "sample_timeline.png").stat().st_size > 10_000
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert any(
        o.get("output_type") == "display_data" and "image/png" in o.get("data", {}) for o in outputs
    ), "the timeline figure was not displayed"
    text = "".join(o.get("text", "") for o in outputs)
    assert "1 written, 0 failed." in text
    assert "No video of your own given" in text
    assert os.environ["AFFECT_JAX_CHECKPOINT"] == str(tiny_rnn_run)

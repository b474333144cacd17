"""The Colab notebook runs headless against runs trained on the embedded default.

Each of the first two tests executes the whole notebook in a kernel and checks
what it produced: the CSV of the sample video, the figure it drew and
displayed, the CCC it printed (recomputed here from the CSV and the sample's
known trajectory), the same sample predicted by the run exported to ONNX, and
(CNN) a whole-frame video of "your own". A third executes it with Keras files
standing in for the paper's models; the install cell, which cannot run without
affect_jax in a kernel here, is run on its own with affect_jax hidden.
"""

import base64
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from affect_jax.data import provenance
from affect_jax.inference import outputs as prediction_outputs
from affect_jax.synthetic import face_crop_video, portrait_video
from affect_jax.tasks.metrics import concordance_correlation

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "predict_video.ipynb"
KERAS_WRITTEN = Path(__file__).resolve().parent / "fixtures" / "keras_written"
SAMPLE_FRAMES = 150  # The notebook's sample: face crops at 25 frames/s.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NO_VIDEO_OF_YOUR_OWN = "No video of your own given"
# What the notebook reads; unset, each takes the notebook's default.
_NOTEBOOK_ENV = (
    "AFFECT_JAX_CHECKPOINT",
    "AFFECT_JAX_OUTPUT",
    "AFFECT_JAX_MY_VIDEO",
    "AFFECT_JAX_PAPER_CNN",
    "AFFECT_JAX_PAPER_GRU",
)


def _run_notebook(
    cwd: Path, monkeypatch, *, again: str = "", **env: str
) -> tuple[str, list[bytes]]:
    """Executes the notebook in `cwd`: (printed text, displayed PNGs).

    `again`: text of a code cell that is then executed once more in the same
    kernel, as a user reruns it; its output comes last in the text.
    """
    for name in _NOTEBOOK_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    if again:
        cell = next(c for c in notebook.cells if c.cell_type == "code" and again in c.source)
        notebook.cells.append(nbformat.v4.new_code_cell(cell.source))
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


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def _check_sample_outputs(out: Path, text: str, pngs: list[bytes], window: int) -> np.ndarray:
    """The sample's CSV, first figure and printed CCC; returns the [150, 2] predictions."""
    assert "1 written, 0 failed." in text, text
    # Runs trained on the embedded default say their faces were synthetic.
    assert provenance.SYNTHETIC_NOTE in text
    rows = _read_csv(out / "sample.csv")
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

    # The notebook's own figure, written and displayed (the same bytes), first.
    figure = (out / "sample_notebook.png").read_bytes()
    assert figure.startswith(PNG_SIGNATURE) and len(figure) > 10_000
    assert pngs[0] == figure
    assert (out / "sample_timeline.png").read_bytes().startswith(PNG_SIGNATURE)

    # The CCC it printed is that of the CSV against the sample's trajectory.
    found = re.search(r"CCC against the truth: valence (\S+), arousal (\S+)", text)
    assert found, text
    truth = np.stack(face_crop_video.trajectory(SAMPLE_FRAMES), axis=1)
    expected = concordance_correlation(predictions, truth)
    np.testing.assert_allclose([float(found[1]), float(found[2])], expected, atol=5e-4)
    _check_exported_prediction(out, text)
    return predictions


def _check_exported_prediction(out: Path, text: str) -> None:
    """The run exported to ONNX predicts the same sample alike (through onnxruntime)."""
    exported = re.search(r"Exported model \S+: at most (\S+) from the run's predictions", text)
    assert exported and float(exported[1]) <= 1e-4, text
    assert len(_read_csv(out / "exported_predictions" / "sample.csv")) == SAMPLE_FRAMES


def _check_own_video(out: Path, stem: str, num_frames: int, text: str, pngs: list[bytes]):
    """What the own-video cell promises: a CSV, an annotated video and the figure shown."""
    assert NO_VIDEO_OF_YOUR_OWN not in text
    assert text.count("1 written, 0 failed.") == 2, text  # The sample, then this video.
    rows = _read_csv(out / f"{stem}.csv")
    # Whole frames, so the face was detected and tracked: one face on every frame,
    # predicted there by the CNN (nothing filled in).
    assert [int(r["frame"]) for r in rows] == list(range(num_frames))
    assert all(r["face_found"] == "1" and r["face_id"] == "0" for r in rows)
    assert all(int(r["box_w"]) > 0 and r["interpolated"] == "0" for r in rows)
    values = np.array([[float(r["valence"]), float(r["arousal"])] for r in rows])
    assert np.all(np.isfinite(values)) and np.all(np.abs(values) <= 1.0)

    annotated = cv2.VideoCapture(str(out / f"{stem}_annotated.mp4"))
    frames = 0
    while annotated.read()[0]:
        frames += 1
    annotated.release()
    assert frames == num_frames

    figure = (out / f"{stem}_notebook.png").read_bytes()
    assert figure.startswith(PNG_SIGNATURE)
    assert pngs[1:] == [figure]  # Shown after the sample's.


@pytest.mark.timeout(600)
def test_notebook_predicts_and_plots_with_a_cnn_run(tiny_cnn_run, tmp_path, monkeypatch):
    # The tiny CNN (150 steps) has learned: on a person it never saw its
    # predictions follow the truth (a constant answer scores CCC 0). Your own
    # video: whole frames of a rendered person, so faces must be detected.
    checkpoint = tiny_cnn_run[0]
    my_video = tmp_path / "my_clip.avi"
    portrait_video.write_portrait_video(my_video, 12, no_face=[], seed=3)
    text, pngs = _run_notebook(
        tmp_path,
        monkeypatch,
        AFFECT_JAX_CHECKPOINT=checkpoint,
        AFFECT_JAX_OUTPUT="out",
        AFFECT_JAX_MY_VIDEO=str(my_video),
    )
    assert f"checkpoint: {checkpoint} | outputs: {tmp_path.resolve() / 'out'}" in text
    predictions = _check_sample_outputs(tmp_path / "out", text, pngs, window=0)
    truth = np.stack(face_crop_video.trajectory(SAMPLE_FRAMES), axis=1)
    assert concordance_correlation(predictions, truth).min() > 0.4
    _check_own_video(tmp_path / "out", "my_clip", 12, text, pngs)


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
    assert NO_VIDEO_OF_YOUR_OWN in text and len(pngs) == 1


@pytest.mark.timeout(600)
def test_notebook_imports_and_predicts_with_the_paper_models(tmp_path, monkeypatch):
    # Keras-written stand-ins for the authors' pair (a narrow CNN, a 3-layer GRU
    # over its 6 features, window 4: tests/helpers/make_keras_written_files.py).
    # No trained run at all: the default CHECKPOINT does not exist. The paper
    # cell runs again at the end, as when the notebook is run a second time.
    for name in ("cnn", "gru"):
        shutil.copy(KERAS_WRITTEN / f"{name}.h5", tmp_path / f"paper_{name}.h5")
    text, _ = _run_notebook(
        tmp_path,
        monkeypatch,
        again="PAPER_RUNS",
        AFFECT_JAX_OUTPUT="out",
        AFFECT_JAX_PAPER_CNN=str(tmp_path / "paper_cnn.h5"),
        AFFECT_JAX_PAPER_GRU=str(tmp_path / "paper_gru.h5"),
    )
    out = tmp_path.resolve() / "out"
    paper_runs = out / "paper_runs"
    assert "No paper models" not in text
    assert text.count("Using the paper's models: out/paper_runs/gru\n") == 2, text
    # Each file imported once, into its folder, the GRU reading the imported CNN.
    assert sorted(os.listdir(paper_runs)) == ["cnn", "gru"]
    results = {}
    for name in ("cnn", "gru"):
        assert os.listdir(paper_runs / name / "checkpoints") == ["0"]
        results[name] = json.loads((paper_runs / name / "results.json").read_text())
        assert results[name]["imported_from"] == str(tmp_path / f"paper_{name}.h5")
    assert results["gru"]["cnn_workdir"] == str(paper_runs / "cnn")

    # The sample was predicted with the imported pair: its sidecar names them,
    # they learned from real faces, and the GRU's window 4 is filled in.
    model = json.loads((out / "sample.json").read_text())["model"]
    assert model["cnn"] == str(paper_runs / "cnn" / "checkpoints" / "0")
    assert model["rnn"] == str(paper_runs / "gru" / "checkpoints" / "0")
    assert model["synthetic_only"] is False and provenance.SYNTHETIC_NOTE not in text
    window = np.load(KERAS_WRITTEN / "reference.npz")["windows"].shape[1]
    rows = _read_csv(out / "sample.csv")
    assert [int(r["interpolated"]) for r in rows] == [1] * window + [0] * (SAMPLE_FRAMES - window)
    assert "1 written, 0 failed." in text
    _check_exported_prediction(out, text)

    # The second run reused the folders: nothing in them is newer than the
    # last file the first run wrote.
    last_written = (out / "exported_predictions" / "sample.csv").stat().st_mtime_ns
    assert max(p.stat().st_mtime_ns for p in paper_runs.rglob("*")) < last_written


# The install cell, run on its own by a Python that is told affect_jax is not
# installed (or is), with subprocess.run recorded instead of run.
_HIDE_AFFECT_JAX = """
import importlib.abc
import sys


class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "affect_jax":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
"""
_RECORD_SUBPROCESS_RUN = """
import json
import subprocess

subprocess.run = lambda args, **kwargs: print("RAN", json.dumps([args, kwargs]), flush=True)
"""


def _run_install_cell(tmp_path: Path, *, installed: bool, source: str | None):
    """The notebook's first code cell in `python -I`: (exit status, stdout, stderr)."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code")  # Runs before all others.
    prelude = _RECORD_SUBPROCESS_RUN + ("" if installed else _HIDE_AFFECT_JAX)
    env = {k: v for k, v in os.environ.items() if k != "AFFECT_JAX_SOURCE"}
    if source is not None:
        env["AFFECT_JAX_SOURCE"] = source
    done = subprocess.run(
        [sys.executable, "-I", "-c", prelude + cell.source],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout, done.stderr


def test_install_cell_installs_affect_jax_from_the_given_source(tmp_path):
    source = "git+https://example.invalid/you/affect-jax"
    status, stdout, stderr = _run_install_cell(tmp_path, installed=False, source=source)
    assert status == 0, stderr
    ran = [
        json.loads(line[len("RAN ") :]) for line in stdout.splitlines() if line.startswith("RAN ")
    ]
    assert ran == [[[sys.executable, "-m", "pip", "install", "-q", source], {"check": True}]]


def test_install_cell_without_affect_jax_or_a_source_says_what_to_set(tmp_path):
    status, stdout, stderr = _run_install_cell(tmp_path, installed=False, source=None)
    assert status != 0
    assert "affect_jax is not installed: set AFFECT_JAX_SOURCE" in stderr
    assert "RAN" not in stdout  # Nothing installed.
    # An empty value is no source either.
    status, stdout, stderr = _run_install_cell(tmp_path, installed=False, source="")
    assert status != 0 and "set AFFECT_JAX_SOURCE" in stderr and "RAN" not in stdout


def test_install_cell_with_affect_jax_installed_installs_nothing(tmp_path):
    status, stdout, stderr = _run_install_cell(tmp_path, installed=True, source=None)
    assert (status, stdout) == (0, ""), stderr

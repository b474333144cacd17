"""The paper reproduction script end to end on tiny synthetic data."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_jax.paper import report as report_lib
from affect_jax.paper.report import PAPER_TABLE_3

REPO = Path(__file__).resolve().parents[2]


def _run(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, AFFECT_JAX_NO_SETUP="1")
    # The script calls `python`: the interpreter running these tests.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        ["bash", "launch/reproduce_paper.sh", f"--workdir_root={root}", "--preset=tiny"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )


def _ours(row: str) -> list[float | None]:
    """The numbers of a Table III row's last column ("ours"), None for a dash."""
    cell = row.rstrip(" |").rsplit("|", 1)[1]
    return [None if part.strip() == "—" else float(part) for part in cell.split("/")]


def _from_results(root: Path, name: str, kind: str) -> list[float | None]:
    """What the row must show, read from the run's own results.json."""
    result = json.loads((root / name / "results.json").read_text())
    keys = {
        "ccc": ("ccc_valence", "ccc_arousal"),
        "frame": ("frame_ccc_valence", "frame_ccc_arousal"),
        "valence": ("ccc_valence", None),
        "arousal": (None, "ccc_arousal"),
    }[kind]
    return [None if key is None else round(result[key], 3) for key in keys]


def _check_table_3(root: Path, report: str) -> None:
    """Table III shows each run's own numbers, and the runs that learn, learned."""
    rows = {row.split(" | ")[0][2:]: row for row in report.splitlines() if row.startswith("| ")}
    ours = {}
    for name, (label, _, kind) in PAPER_TABLE_3.items():
        ours[name] = _ours(rows[label])
        assert ours[name] == _from_results(root, name, kind), (name, rows[label])
    # Trained on CCC for 60 steps, every CNN row beats a constant prediction
    # (CCC 0); the MSE one has not moved off it yet (~0.004) and is not asked to.
    for name in ("cnn_whole", "cnn_subset1", "cnn_subset2", "cnn_subset3"):
        assert min(ours[name]) > 0, (name, ours[name])
    assert ours["cnn_valence_only"][0] > 0 and ours["cnn_arousal_only"][1] > 0
    # Each RNN reads cnn_whole's features: it beats that CNN on the challenge's
    # metric, the mean of the two CCCs (a head retrained on the features does most
    # of it; tests/stages/test_temporal.py checks what context adds). Not on each
    # dimension: after 60 CNN steps the features carry little valence (CCC ~0.05),
    # and an RNN's valence then moves with float rounding (measured with the fused
    # first block through oneDNN: SimpleRNN 0.028 at 150 RNN steps, 0.507 at 300,
    # where the 3-layer GRU fell from 0.409 to 0.029).
    for name in ("simple_rnn_1", "gru_1", "gru_3"):
        assert np.mean(ours[name]) > np.mean(ours["cnn_whole"]), (name, ours, ours["cnn_whole"])


@pytest.mark.long(166)
def test_reproduction_fills_every_table_row_and_figure(tmp_path):
    _run(tmp_path)
    report = (tmp_path / "REPORT.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| ") and "---" not in line]
    table_rows = [row for row in rows if not row.startswith(("| experiment", "| ABAW"))]
    assert len(table_rows) == 3 + 10  # Table I: 3 rows; Table III: 10 rows.
    # Table I: accuracies as the runs recorded them, the last on faces aligned by the eyes.
    for name, label in report_lib.CK_PLUS_ROWS:
        result = json.loads((tmp_path / name / "results.json").read_text())
        row = next(row for row in table_rows if row.startswith(f"| {label} |"))
        expected = f"| 0.95 / {result['accuracy']:.3f} | 0.50 / {result['jaffe_accuracy']:.3f} |"
        assert expected in row, row
        # The paper's Haar boxes, but for the row that aligns the faces on both sides.
        framing = "aligned" if name == "ck_plus_aligned" else "haar_box"
        assert result["training_data"]["framing"] == framing, name
    _check_table_3(tmp_path, report)

    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    expected = {
        "ck_plus/plots/confusion_validation.png",
        "ck_plus/plots/confusion_jaffe.png",
        "cnn_subset1/balancing.png",
        "cnn_subset2/balancing.png",
        "cnn_subset3/balancing.png",
        "cnn_whole/plots/training_curves.png",
        "gru_3/plots/timelines.png",
    }
    assert expected <= set(figures)
    for figure in figures:
        image = cv2.imread(str(tmp_path / figure))
        assert image is not None and image.shape[0] > 200 and image.shape[1] > 300, figure
        assert float(np.std(image)) > 5.0, f"{figure} is blank"

    # A rerun skips every finished experiment.
    start = time.monotonic()
    rerun = _run(tmp_path)
    assert rerun.stderr.count("finished earlier, skipped") == 14
    assert time.monotonic() - start < 120

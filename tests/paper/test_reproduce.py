"""The paper reproduction script end to end on tiny synthetic data."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

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


def test_reproduction_fills_every_table_row_and_figure(tmp_path):
    _run(tmp_path)
    report = (tmp_path / "REPORT.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| ") and "---" not in line]
    table_rows = [row for row in rows if not row.startswith(("| experiment", "| ABAW"))]
    assert len(table_rows) == 2 + 10  # Table I: 2 rows; Table III: 10 rows.
    number = r"-?\d\.\d{3}"
    for row in table_rows:
        if "valence only" in row:
            assert re.search(rf"\| {number} / — \|$", row), row
        elif "arousal only" in row:
            assert re.search(rf"\| — / {number} \|$", row), row
        elif row.startswith("| CNN |") or "class-weighted" in row:
            assert re.search(rf"/ {number} \| \d\.\d\d / {number} \| {number} \|$", row), row
        else:
            assert re.search(rf"\| {number} / {number} \|$", row), row

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
    assert rerun.stderr.count("finished earlier, skipped") == 13
    assert time.monotonic() - start < 120

"""Prediction's memory does not grow with the video, and its CSV appears only when complete.

Each length is predicted by the command line in a process of its own, which
reports the peak RSS of its prediction (counted from after the model was
loaded: loading peaks higher than prediction, and would hide any growth):
472 and 4,720 frames of one face (the lengths of the real clip the growth was
measured on, issue 33), through the CNN and the GRU.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from affect_jax.faces.detect import Box, Detection
from affect_jax.faces.track import Track
from affect_jax.inference import outputs as prediction_outputs
from affect_jax.synthetic import face_crop_video, portrait_video

_PEAK_RSS_PRINTER = """
import atexit, runpy, sys
from affect_jax import host_memory
from affect_jax.inference import predict_videos

predict_with = predict_videos.predict_with

def from_a_fresh_peak(*args, **kwargs):
    assert host_memory.reset_peak_rss()
    return predict_with(*args, **kwargs)

predict_videos.predict_with = from_a_fresh_peak
atexit.register(lambda: print("peak_rss_mb", host_memory.peak_rss_mb()))
sys.argv = ["predict", *sys.argv[1:]]
runpy.run_module("affect_jax.predict", run_name="__main__")
"""
_MOST_GROWTH_MB = 20  # The bound, from 472 to 4,720 frames.


def _peak_rss_mb(rnn_run: Path, video: Path, out: Path) -> float:
    command = [
        sys.executable,
        "-c",
        _PEAK_RSS_PRINTER,
        f"--checkpoint={rnn_run}",
        f"--input={video}",
        f"--output={out}",
        "--cropped_faces",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = (out / f"{video.stem}.csv").read_text().splitlines()
    assert len(rows) == 1 + int(video.stem.split("_")[1])  # Header + one row per frame.
    line = [x for x in done.stdout.splitlines() if x.startswith("peak_rss_mb")][-1]
    return float(line.split()[1])


def test_peak_memory_is_the_same_for_a_video_ten_times_longer(tiny_rnn_run, tmp_path):
    frames, _ = face_crop_video.face_crop_frames(472, seed=5)
    short, long = tmp_path / "face_472.avi", tmp_path / "face_4720.avi"
    portrait_video.write_video(frames, short, 25.0, "MJPG")
    portrait_video.write_video(frames * 10, long, 25.0, "MJPG")
    peaks = [_peak_rss_mb(tiny_rnn_run, video, tmp_path / "out") for video in (short, long)]
    assert peaks[1] - peaks[0] <= _MOST_GROWTH_MB, peaks


def test_a_csv_interrupted_part_way_never_looks_complete(tmp_path, monkeypatch):
    track = Track()
    for frame in range(3):
        track.add(frame, Detection(Box(0, 0, 10, 10), 1.0), None)
    track.face_id = 0
    face = prediction_outputs.FacePrediction(
        track, np.ones(3, bool), np.zeros((3, 2)), np.zeros(3, bool)
    )
    prediction = prediction_outputs.VideoPrediction("clip", 25.0, 3, [face])
    path = tmp_path / "clip.csv"
    path.write_text("an earlier run's complete file\n")
    cells, calls = prediction_outputs._cells, []

    def fail_on_the_third_row(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return cells(*args)

    monkeypatch.setattr(prediction_outputs, "_cells", fail_on_the_third_row)
    with pytest.raises(KeyboardInterrupt):
        prediction_outputs.write_csv(prediction, path)
    assert path.read_text() == "an earlier run's complete file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["clip.csv"]  # Nothing half-written left.
    monkeypatch.setattr(prediction_outputs, "_cells", cells)
    prediction_outputs.write_csv(prediction, path)
    rows = path.read_text().splitlines()
    assert rows[0].split(",") == list(prediction_outputs.CSV_COLUMNS) and len(rows) == 4

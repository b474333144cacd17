"""Prediction on new videos (affect_jax.predict) with the tiny CNN and a tiny RNN.

The test videos show a rendered portrait that the Haar cascade finds in every
frame where one was drawn (checked exactly: no detector misses are allowed),
and plain background in the frames listed as `no_face`.
"""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import ml_collections
import numpy as np
import pytest
from absl.testing import flagsaver

from affect_jax import predict
from affect_jax.faces import video_io
from affect_jax.inference import outputs as prediction_outputs
from affect_jax.inference import predict_videos, video_faces, video_model
from affect_jax.inference.track_values import RNN_BATCH_SIZE
from affect_jax.synthetic import face_crop_video, portrait_video
from affect_jax.synthetic.scene_video import Person, scene_frames
from affect_jax.tasks.metrics import concordance_correlation
from affect_jax.training.checkpoints import NotACheckpointError
from affect_jax.training.run import cnn_of_rnn
from tests.helpers import train_helpers


def _read_csv(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def _check_rows(rows, face: np.ndarray, window_after_gap: int) -> None:
    """One row per frame; faces where drawn; values in [-1, 1]; the window rule."""
    assert [int(r["frame"]) for r in rows] == list(range(len(face)))
    assert list(rows[0]) == list(prediction_outputs.CSV_COLUMNS)
    np.testing.assert_array_equal([int(r["face_found"]) for r in rows], face.astype(int))
    values = np.array([[float(r["valence"]), float(r["arousal"])] for r in rows])
    assert np.all(np.abs(values) <= 1.0)
    assert all((r["box_w"] != "") == bool(f) for r, f in zip(rows, face, strict=True))
    # A frame is the model's own output when it and the `window_after_gap`
    # frames before it have a face (RNN, target next: W; CNN alone: 0).
    run = 0
    expected = []
    for has_face in face:
        run = run + 1 if has_face else 0
        expected.append(int(run <= window_after_gap))
    assert [int(r["interpolated"]) for r in rows] == expected


def test_rnn_run_predicts_every_frame_of_avi_and_mp4(tiny_rnn_run, tmp_path):
    avi_face = portrait_video.write_portrait_video(
        tmp_path / "talk.avi", 36, no_face=[*range(10, 15), 30], seed=1
    )
    mp4_face = portrait_video.write_portrait_video(
        tmp_path / "walk.mp4", 20, no_face=range(3), fourcc="mp4v", fps=30.0, seed=2
    )
    out = tmp_path / "out"
    summary = predict_videos.predict_videos(
        str(tiny_rnn_run),
        [str(tmp_path / "talk.avi"), str(tmp_path / "walk.mp4")],
        str(out),
        batch_size=16,
        options=predict_videos.Options(write_video=True),
    )
    assert summary.exit_code == 0 and summary.written == ["talk", "walk"], summary
    _check_rows(_read_csv(out / "talk.csv"), avi_face, window_after_gap=3)
    walk = _read_csv(out / "walk.csv")
    _check_rows(walk, mp4_face, window_after_gap=3)
    assert float(walk[3]["time_s"]) == pytest.approx(0.1)  # 30 frames/s, from the file.
    for name in ("talk", "walk"):
        assert (out / f"{name}_timeline.png").stat().st_size > 10_000
    annotated, original = _frames(out / "talk_annotated.mp4"), _frames(tmp_path / "talk.avi")
    assert len(annotated) == len(original) == 36
    # Each found face's box is drawn in green on its frame; frames without one get none.
    talk = _read_csv(out / "talk.csv")
    for row, before, after in zip(talk, original, annotated, strict=True):
        if not row["box_w"]:
            continue
        x, y, w = int(row["box_x"]), int(row["box_y"]), int(row["box_w"])
        assert _greenness(after[y, x + 4 : x + w - 4]) > 100, row["frame"]
        assert _greenness(before[y, x + 4 : x + w - 4]) < 60, row["frame"]

    _check_model_frames_against_their_windows(tiny_rnn_run, tmp_path / "talk.avi", talk)

    # The GRU reads features rounded to its store's float16, as it was trained.
    model = video_model.load_video_model(tiny_rnn_run)
    assert model.feature_dtype == "float16"
    crops = np.random.default_rng(0).integers(0, 256, (12, 96, 96), dtype=np.uint8)
    outputs, features = model.collect(model.submit(crops))
    rounded = features.astype(np.float16).astype(np.float32)
    assert not np.array_equal(rounded, features)
    faces = np.ones(len(crops), bool)
    np.testing.assert_array_equal(
        model.values(faces, features, outputs)[0], model.values(faces, rounded, outputs)[0]
    )


def _check_model_frames_against_their_windows(run, video: Path, rows: list[dict]) -> None:
    """Each frame the GRU predicts holds its output over the W face frames before it.

    Recomputed here window by window (target next: frames t - W .. t - 1 predict
    t), from the same face crops, with features rounded to float16 as the GRU
    was trained on them.
    """
    model = video_model.load_video_model(run, batch_size=16)
    assert model.target == "next" and model.feature_dtype == "float16"
    source = video_io.FrameSource(video.stem, video)
    options = predict_videos.Options()
    _, _, tracks = video_faces.find_faces(source, options)
    crops = np.stack([crop for _, crop in video_faces.crops_by_frame(source, tracks, options)])
    features = np.concatenate(
        [model.collect(model.submit(chunk))[1] for chunk in np.array_split(crops, 3)]
    ).astype(np.float16)
    face_frames = [int(r["frame"]) for r in rows if r["face_found"] == "1"]
    assert len(face_frames) == len(crops)
    row_of = {frame: i for i, frame in enumerate(face_frames)}
    predicted = [r for r in rows if r["interpolated"] == "0"]
    windows_batch = np.zeros((RNN_BATCH_SIZE, model.window, features.shape[1]), np.float32)
    for k, r in enumerate(predicted):
        t = int(r["frame"])
        windows_batch[k] = features[[row_of[f] for f in range(t - model.window, t)]]
    outputs = np.asarray(model.run_rnn(windows_batch))[: len(predicted)]
    expected = np.clip(outputs[:, list(model.rnn_columns)], -1, 1)
    written = np.array([[float(r["valence"]), float(r["arousal"])] for r in predicted])
    assert len(written) >= 20
    # Different CNN batch sizes here and in prediction move the last bits only.
    np.testing.assert_allclose(written, expected, atol=2e-3)
    # Frames apart differ by far more than that: a window off by one would show.
    assert np.abs(np.diff(expected, axis=0)).max() > 0.02


def _frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while (read := capture.read())[0]:
        frames.append(read[1])
    return frames


def _greenness(pixels: np.ndarray) -> float:
    """Mean of green less the mean of blue and red (BGR pixels)."""
    pixels = pixels.astype(np.float64)
    return float(np.mean(pixels[..., 1] - (pixels[..., 0] + pixels[..., 2]) / 2))


def test_rnn_finds_its_cnn_or_takes_the_one_given(tiny_rnn_run, tiny_cnn_run, tmp_path):
    found = video_model.load_video_model(tiny_rnn_run)
    step_folder = found.cnn_path
    assert Path(step_folder).parent == Path(tiny_cnn_run[0]).resolve() / "checkpoints"
    given = video_model.load_video_model(f"{tiny_rnn_run}/checkpoints", cnn_path=step_folder)
    assert (given.cnn_path, given.window, given.target) == (step_folder, 3, "next")
    config = ml_collections.ConfigDict(
        {"rnn": {"features_dir": str(tmp_path)}, "dataset": {"train_split": "train"}}
    )
    with pytest.raises(NotACheckpointError, match="pass the CNN run with --cnn_checkpoint"):
        cnn_of_rnn(config, "the rnn")


def test_cnn_run_with_bad_inputs_named_and_the_others_processed(tiny_cnn_run, tmp_path, capsys):
    good = portrait_video.write_portrait_video(tmp_path / "good.avi", 8, seed=4)
    frames, shots = portrait_video.portrait_frames(12, no_face=[0, 5, 6], seed=3)
    (tmp_path / "shots").mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(tmp_path / "shots" / f"img_{i:03d}.png"), frame)
    portrait_video.write_portrait_video(tmp_path / "empty_room.avi", 6, no_face=range(6))
    (tmp_path / "corrupt.mp4").write_bytes(b"not a video" * 100)
    # A valid file with no frame at all.
    cv2.VideoWriter(
        str(tmp_path / "zero.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 64)
    ).release()
    (tmp_path / "no_images").mkdir()
    (tmp_path / "no_images" / "notes.txt").write_text("nothing to see")
    inputs = ["good.avi", "shots", "empty_room.avi", "corrupt.mp4", "zero.avi", "no_images"]
    inputs.append("gone.mov")
    flag_values = {
        "checkpoint": f"{tiny_cnn_run[0]}/checkpoints",
        "batch_size": 16,
        "input": [str(tmp_path / name) for name in inputs],
        "output": str(tmp_path / "out"),
    }
    with flagsaver.flagsaver(**flag_values), pytest.raises(SystemExit) as exit_info:
        predict.main(["predict"])
    assert exit_info.value.code == 1
    summary = capsys.readouterr().err
    assert "3 written, 4 failed." in summary
    for name in ("corrupt.mp4", "zero.avi", "no_images", "gone.mov"):
        assert f"FAILED: {tmp_path / name}" in summary
    assert "no face found: empty_room" in summary
    # The CNN alone: every face frame is its own prediction, the others interpolated.
    _check_rows(_read_csv(tmp_path / "out" / "good.csv"), good, window_after_gap=0)
    _check_rows(_read_csv(tmp_path / "out" / "shots.csv"), shots, window_after_gap=0)
    empty = _read_csv(tmp_path / "out" / "empty_room.csv")
    assert len(empty) == 6 and {r["face_found"] for r in empty} == {"0"}
    assert {r["valence"] for r in empty} == {""} and {r["arousal"] for r in empty} == {""}
    assert (tmp_path / "out" / "empty_room_timeline.png").exists()


def test_cropped_faces_are_used_whole_and_follow_a_held_out_trajectory(tiny_cnn_run, tmp_path):
    # A person the CNN never saw, 112x112 crops as in cropped_aligned/.
    truth = face_crop_video.write_face_crop_video(tmp_path / "crops.avi", 100, seed=11)
    flag_values = {
        "checkpoint": tiny_cnn_run[0],
        "input": [str(tmp_path / "crops.avi")],
        "output": str(tmp_path / "out"),
        "cropped_faces": True,
    }
    with flagsaver.flagsaver(**flag_values), pytest.raises(SystemExit) as exit_info:
        predict.main(["predict"])
    assert exit_info.value.code == 0
    rows = _read_csv(tmp_path / "out" / "crops.csv")
    _check_rows(rows, np.ones(100, bool), window_after_gap=0)
    boxes = {tuple(int(r[k]) for k in ("box_x", "box_y", "box_w", "box_h")) for r in rows}
    assert boxes == {(0, 0, 112, 112)}
    predicted = np.array([[float(r["valence"]), float(r["arousal"])] for r in rows])
    ccc = concordance_correlation(predicted, np.stack(truth, axis=1))
    # The tiny CNN reaches validation CCC > 0.4 (test_train.py); new footage of
    # a new person, predicted through video decoding and cropping, does too.
    assert np.all(ccc > 0.4), ccc


def test_a_path_that_is_not_a_checkpoint_is_named(tmp_path):
    with pytest.raises(NotACheckpointError, match=str(tmp_path)):
        predict_videos.predict_videos(str(tmp_path), ["x.mp4"], str(tmp_path / "out"))
    assert not (tmp_path / "checkpoints").exists()  # Nothing created in a wrong path.
    command = [sys.executable, "-m", "affect_jax.predict", f"--checkpoint={tmp_path}"]
    command += [f"--input={tmp_path}", f"--output={tmp_path / 'out'}"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=train_helpers.REPO)
    assert result.returncode == 1
    assert f"Cannot use --checkpoint: {tmp_path} is not a checkpoint" in result.stderr


def test_a_folder_of_videos_is_many_inputs_with_distinct_names(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        for name in ("x.avi", "y.mp4"):
            (tmp_path / folder / name).write_bytes(b"")
    sources, failures = video_io.find_inputs([tmp_path / "a", tmp_path / "b" / "x.avi"])
    assert [s.name for s in sources] == ["x", "y", "x_2"] and not failures


def _two_people(path: Path, second_from: int) -> Path:
    """14 frames: one person on the right throughout, a larger one on the left from
    `second_from` on."""
    people = [
        Person(5, range(0, 14), (470, 150), (470, 150), radius=50),
        Person(6, range(second_from, 14), (160, 170), (160, 170), radius=75),
    ]
    frames, _ = scene_frames(14, people, seed=9)
    portrait_video.write_video(frames, path, 25.0, "MJPG")
    return path


def _rows_by_face(rows: list[dict]) -> dict[str, list[dict]]:
    by_face = {}
    for row in rows:
        by_face.setdefault(row["face_id"], []).append(row)
    return by_face


def test_a_larger_face_coming_in_does_not_take_the_first_ones_id(tiny_cnn_run, tmp_path):
    # The first person alone for 6 frames, then a larger one joins on the left.
    video = _two_people(tmp_path / "two.avi", second_from=6)
    summary = predict_videos.predict_videos(
        tiny_cnn_run[0], [str(video)], str(tmp_path / "out"), batch_size=16
    )
    assert summary.written == ["two"]
    rows = _read_csv(tmp_path / "out" / "two.csv")
    assert len(rows) == 6 + 2 * 8  # One row per frame and face.
    by_face = _rows_by_face(rows)
    assert sorted(by_face) == ["0", "1"]
    assert [int(r["frame"]) for r in by_face["0"]] == list(range(14))
    assert all(int(r["box_x"]) > 300 for r in by_face["0"])  # Still the one on the right.
    assert [int(r["frame"]) for r in by_face["1"]] == list(range(6, 14))
    assert all(float(r["detector_score"]) > 0 for r in rows)
    # Each face's values are its own crop's: on every shared frame the second
    # face's differ from the first's (by 0.02-0.06 in valence here; a face given
    # another's crop would repeat its values exactly).
    first, second = (
        np.array([[float(r[name]) for name in ("valence", "arousal")] for r in by_face[face]])
        for face in ("0", "1")
    )
    assert np.all(np.abs(first[6:] - second).max(axis=1) > 0.005), (first[6:], second)


def test_a_moved_pair_of_runs_predicts_with_its_own_cnn(tiny_cnn_run, tiny_rnn_run, tmp_path):
    # The GRU's training feature store names the CNN by its old path; the moved
    # GRU finds the CNN moved beside it through its own cnn_link.json.
    cnn_dir, rnn_dir = Path(tiny_cnn_run[0]), Path(tiny_rnn_run)
    link = json.loads((rnn_dir / "cnn_link.json").read_text())
    assert link["checkpoint_from_run"].startswith(f"../{cnn_dir.name}/checkpoints/")
    moved = tmp_path / "elsewhere"
    shutil.copytree(cnn_dir, moved / cnn_dir.name)
    shutil.copytree(rnn_dir, moved / rnn_dir.name)
    model = video_model.load_video_model(moved / rnn_dir.name)
    assert model.cnn_path.startswith(str((moved / cnn_dir.name).resolve()))
    assert model.feature_dtype == link["feature_dtype"]
    video = tmp_path / "talk.avi"
    face = portrait_video.write_portrait_video(video, 12, no_face=[5], seed=3)
    summary = predict_videos.predict_videos(
        str(moved / rnn_dir.name), [str(video)], str(tmp_path / "out")
    )
    assert summary.exit_code == 0, summary.lines()
    _check_rows(_read_csv(tmp_path / "out" / "talk.csv"), face, window_after_gap=3)
    # Moved alone, the GRU still finds the CNN where it was (its absolute path).
    shutil.copytree(rnn_dir, tmp_path / "alone")
    alone = video_model.load_video_model(tmp_path / "alone")
    assert alone.cnn_path.startswith(str(cnn_dir.resolve()))


def test_each_face_of_a_scene_gets_its_own_gru_windows_and_max_faces_keeps_the_longest(
    tiny_rnn_run, tmp_path
):
    # A on the right in every frame; B, larger, on the left from frame 5 on.
    video = _two_people(tmp_path / "two.avi", second_from=5)
    summary = predict_videos.predict_videos(
        str(tiny_rnn_run), [str(video)], str(tmp_path / "out"), batch_size=16
    )
    assert summary.written == ["two"]
    by_face = _rows_by_face(_read_csv(tmp_path / "out" / "two.csv"))
    assert sorted(by_face) == ["0", "1"]
    # Window 3, target next, per face: its own first 3 frames are filled in, then
    # each frame is the GRU's output over that face's 3 frames before it.
    for face, first in (("0", 0), ("1", 5)):
        rows = by_face[face]
        assert [int(r["frame"]) for r in rows] == list(range(first, 14))
        assert [r["interpolated"] for r in rows] == ["1"] * 3 + ["0"] * (14 - first - 3)
    first_face, second_face = (
        np.array([[float(r["valence"]), float(r["arousal"])] for r in by_face[f][-6:]])
        for f in ("0", "1")
    )
    assert np.abs(first_face - second_face).max() > 1e-3  # Each GRU read its own face.

    # On the command line, --max_faces=1 keeps the face followed longest.
    flag_values = {
        "checkpoint": str(tiny_rnn_run),
        "input": [str(video)],
        "output": str(tmp_path / "one"),
        "max_faces": 1,
    }
    with flagsaver.flagsaver(**flag_values), pytest.raises(SystemExit) as exit_info:
        predict.main(["predict"])
    assert exit_info.value.code == 0
    rows = _read_csv(tmp_path / "one" / "two.csv")
    assert len(rows) == 14 and {r["face_id"] for r in rows} == {"0"}
    assert all(int(r["box_x"]) > 300 for r in rows)  # A, on the right.
    kept = np.array([[float(r["valence"]), float(r["arousal"])] for r in rows])
    # The same face's values (CNN batches differ in size: not bit for bit).
    np.testing.assert_allclose(kept[-6:], first_face, atol=1e-4)

"""A corpus of malformed inputs (issue 7): each gets one exact, documented outcome.

An input either stops the work with an error that names the offending file or
key and says what to do, or is skipped and counted/listed in the build report
or prediction summary. Every case also checks that what was already written
(a built dataset, a checkpoint, earlier prediction outputs) is undamaged.
"""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

from affect_jax.config import load_config
from affect_jax.data import building
from affect_jax.inference import predict_videos
from affect_jax.models.registry import create_model
from affect_jax.stages import train
from affect_jax.synthetic import portrait_video
from affect_jax.training import checkpoints, sharding
from affect_jax.training.checkpoints import NotACheckpointError
from data_builders.affwild2 import make_dummy_data as affwild2_dummy
from data_builders.ck_plus import make_dummy_data as ck_plus_dummy
from data_builders.jaffe import make_dummy_data as jaffe_dummy
from tests.helpers import train_helpers

# Built once from the intact dummy data; every failing build below writes into
# the same data_dir, next to them, and must leave them readable and complete.
_PREBUILT = {
    "affwild2/au": affwild2_dummy.DUMMY_DATA,
    "ck_plus/fold0": ck_plus_dummy.DUMMY_DATA,
    "jaffe/all": jaffe_dummy.DUMMY_DATA,
}


@pytest.fixture(scope="module")
def prebuilt(tmp_path_factory):
    """(data_dir, {name: {split: examples}}) of the datasets built before any bad input."""
    data_dir = tmp_path_factory.mktemp("prebuilt")
    counts = {}
    for name, manual_dir in _PREBUILT.items():
        builder = building.build_dataset(name, manual_dir, data_dir)
        counts[name] = {s: len(builder.as_data_source(s)) for s in builder.info.splits}
    return data_dir, counts


def _assert_prebuilt_intact(prebuilt) -> None:
    data_dir, counts = prebuilt
    for name, expected in counts.items():
        builder = tfds.builder(name, data_dir=str(data_dir))
        assert builder.is_prepared(), name
        # Read every record: a damaged shard fails here, not only in the count.
        for split, count in expected.items():
            source = builder.as_data_source(split)
            assert len(source) == count and len([source[i] for i in range(count)]) == count


def _copy(tmp_path: Path, dummy: Path) -> Path:
    manual_dir = tmp_path / "raw"
    shutil.copytree(dummy, manual_dir)
    return manual_dir


# --- Aff-Wild2 annotation files ------------------------------------------------

_VA_FILE = Path("annotations/VA_Set/Training_Set/video3_left.txt")
_GOOD_VA = (affwild2_dummy.DUMMY_DATA / _VA_FILE).read_text()
_HEADER, *_ROWS = _GOOD_VA.splitlines()


@pytest.mark.parametrize(
    "text, messages",
    [
        pytest.param(
            f"{_HEADER}\n{_ROWS[0]},\n",
            ["line 2: expected 2 comma-separated values", "Fix: write one line per frame"],
            id="trailing_comma",
        ),
        pytest.param(
            f"{_HEADER}\nnan,0.2\n", ["line 2: NaN in 'nan,0.2'", "Fix: write -5"], id="nan"
        ),
        pytest.param(
            f"{_HEADER}\n0.1,0.2\n0.1,inf\n",
            ["line 3: inf is outside [-1, 1]", "Fix: use values in range or -5"],
            id="inf",
        ),
        pytest.param(
            "", ["line 1: the header must be exactly", "found an empty file"], id="empty_file"
        ),
        pytest.param(
            f"{_HEADER}\n",
            ["line 1: the file has a header but no label lines", "or delete the file"],
            id="header_only",
        ),
        pytest.param(
            "arousal,valence\n" + "\n".join(_ROWS) + "\n",
            ["line 1: the header must be exactly 'valence,arousal'", "found 'arousal,valence'"],
            id="wrong_header",
        ),
        pytest.param(
            f"{_HEADER}\n0.1,0.2,0.3\n",
            ["line 2: expected 2 comma-separated values, found '0.1,0.2,0.3'"],
            id="extra_column",
        ),
        pytest.param(
            f"{_HEADER}\n0.1,1.5\n",
            ["line 2: 1.5 is outside [-1, 1] in '0.1,1.5'", "or -5 for an unannotated frame"],
            id="value_1.5",
        ),
        pytest.param(
            f"{_HEADER}\n0.1,0.2\n0.1,-\n",
            ["line 3: not a number: '0.1,-'", "Fix: write decimal numbers such as 0.25"],
            id="dash_for_missing",
        ),
    ],
)
def test_bad_annotation_file_stops_the_build(prebuilt, tmp_path, text, messages):
    manual_dir = _copy(tmp_path, affwild2_dummy.DUMMY_DATA)
    (manual_dir / _VA_FILE).write_text(text)
    with pytest.raises(ValueError) as error:
        building.build_dataset("affwild2/va", manual_dir, prebuilt[0])
    message = str(error.value)
    assert str(manual_dir / _VA_FILE) in message and "Fix:" in message
    for part in messages:
        assert part in message
    assert not tfds.builder("affwild2/va", data_dir=str(prebuilt[0])).is_prepared()
    _assert_prebuilt_intact(prebuilt)


def _crlf(manual_dir: Path) -> None:
    path = manual_dir / _VA_FILE
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


def _blank_trailing_lines(manual_dir: Path) -> None:
    path = manual_dir / _VA_FILE
    path.write_text(path.read_text() + "\n  \n\n")


def _unknown_video_folder(manual_dir: Path) -> None:
    # Images of a video no annotation file names (e.g. another task's video).
    shutil.copytree(manual_dir / "cropped_aligned/video7", manual_dir / "cropped_aligned/stranger")


_AFFWILD2_REPORT = {
    "train": {"unannotated": 2, "no_image": 2},
    "validation": {},
}


@pytest.mark.parametrize(
    "change", [_crlf, _blank_trailing_lines, _unknown_video_folder], ids=lambda f: f.__name__[1:]
)
def test_tolerated_layout_quirks_build_the_same_dataset(prebuilt, tmp_path, change):
    manual_dir = _copy(tmp_path, affwild2_dummy.DUMMY_DATA)
    change(manual_dir)
    builder = building.build_dataset("affwild2/va", manual_dir, tmp_path / "tfds")
    expected = affwild2_dummy.EXPECTED_EXAMPLES
    assert {s: builder.info.splits[s].num_examples for s in expected} == expected
    report = building.read_build_report(builder)
    assert {s: report[s]["dropped"] for s in expected} == _AFFWILD2_REPORT
    assert report["train"]["annotation_lines"] == 12
    _assert_prebuilt_intact(prebuilt)


_FRAME = Path("cropped_aligned/video7/00002.jpg")
_GOOD_JPG = (affwild2_dummy.DUMMY_DATA / _FRAME).read_bytes()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(_GOOD_JPG[:200], id="jpg_cut_in_header"),
        # OpenCV alone would decode this into a partly gray frame.
        pytest.param(_GOOD_JPG[: len(_GOOD_JPG) * 3 // 4], id="jpg_cut_in_image_data"),
        pytest.param(b"", id="zero_byte_jpg"),
        pytest.param(b"<html>404 Not Found</html>\n", id="text_named_jpg"),
    ],
)
def test_unreadable_frame_is_listed_and_skipped(prebuilt, tmp_path, content):
    manual_dir = _copy(tmp_path, affwild2_dummy.DUMMY_DATA)
    (manual_dir / _FRAME).write_bytes(content)
    builder = building.build_dataset("affwild2/va", manual_dir, tmp_path / "tfds")
    expected = affwild2_dummy.EXPECTED_EXAMPLES
    report = building.read_build_report(builder)["validation"]
    assert report["corrupt_images"] == [str(manual_dir / _FRAME)]
    assert report["dropped"] == {"corrupt_image": 1}
    assert builder.info.splits["validation"].num_examples == expected["validation"] - 1
    assert builder.info.splits["train"].num_examples == expected["train"]
    _assert_prebuilt_intact(prebuilt)


def test_annotation_for_a_video_with_no_images_is_counted(prebuilt, tmp_path):
    manual_dir = _copy(tmp_path, affwild2_dummy.DUMMY_DATA)
    ghost = manual_dir / "annotations/VA_Set/Validation_Set/ghost.txt"
    ghost.write_text("valence,arousal\n0.1,0.1\n0.2,0.2\n")
    builder = building.build_dataset("affwild2/va", manual_dir, tmp_path / "tfds")
    report = building.read_build_report(builder)["validation"]
    assert report["videos_without_image_folder"] == ["ghost"]
    assert report["dropped"] == {"no_image_folder": 2}
    assert builder.info.splits["validation"].num_examples == 5
    _assert_prebuilt_intact(prebuilt)


def test_manual_dir_that_does_not_exist_says_where_to_get_the_data(prebuilt, tmp_path):
    with pytest.raises(AssertionError) as error:
        building.build_dataset("affwild2/va", tmp_path / "nowhere", prebuilt[0])
    assert str(tmp_path / "nowhere") in str(error.value)
    assert "End User License" in str(error.value)
    _assert_prebuilt_intact(prebuilt)


# --- CK+ ---------------------------------------------------------------------

_EMOTION = Path("Emotion/S010/001/S010_001_00000006_emotion.txt")
_CK_FRAME = Path("cohn-kanade-images/S010/001/S010_001_00000006.png")


@pytest.mark.parametrize(
    "content, messages",
    [
        pytest.param(
            "   3.0000000e+00   5.0000000e+00\n",
            ["expected one emotion code, found 2 values"],
            id="two_numbers",
        ),
        pytest.param("   9.0000000e+00\n", ["unknown emotion code '9.0000000e+00'"], id="code_9"),
        pytest.param("", ["expected one emotion code, found an empty file"], id="empty_emotion"),
    ],
)
def test_bad_emotion_file_stops_the_build(prebuilt, tmp_path, content, messages):
    manual_dir = _copy(tmp_path, ck_plus_dummy.DUMMY_DATA)
    (manual_dir / _EMOTION).write_text(content)
    with pytest.raises(ValueError) as error:
        building.build_dataset("ck_plus/fold1", manual_dir, prebuilt[0])
    message = str(error.value)
    assert str(manual_dir / _EMOTION) in message
    assert "Fix: it must hold one number, the emotion code 0-7" in message
    for part in messages:
        assert part in message
    assert not tfds.builder("ck_plus/fold1", data_dir=str(prebuilt[0])).is_prepared()
    _assert_prebuilt_intact(prebuilt)


def test_sixteen_bit_png_builds_like_the_eight_bit_one(prebuilt, tmp_path):
    manual_dir = _copy(tmp_path, ck_plus_dummy.DUMMY_DATA)
    path = manual_dir / _CK_FRAME
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(path), image.astype(np.uint16) * 257)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    builder = building.build_dataset("ck_plus/fold0", manual_dir, tmp_path / "tfds")
    assert {s: len(builder.as_data_source(s)) for s in builder.info.splits} == prebuilt[1][
        "ck_plus/fold0"
    ]
    report = building.read_build_report(builder)["train"]
    assert report["dropped"] == {"no_face": 1} and report["unreadable_images"] == []
    _assert_prebuilt_intact(prebuilt)


def test_zero_byte_png_is_listed_and_skipped(prebuilt, tmp_path):
    manual_dir = _copy(tmp_path, ck_plus_dummy.DUMMY_DATA)
    (manual_dir / _CK_FRAME).write_bytes(b"")
    builder = building.build_dataset("ck_plus/fold0", manual_dir, tmp_path / "tfds")
    report = building.read_build_report(builder)["train"]
    assert report["unreadable_images"] == [str(manual_dir / _CK_FRAME)]
    assert report["dropped"] == {"no_face": 1, "unreadable": 1}
    assert len(builder.as_data_source("train")) == prebuilt[1]["ck_plus/fold0"]["train"] - 1
    _assert_prebuilt_intact(prebuilt)


# --- JAFFE -------------------------------------------------------------------


def test_jaffe_file_name_with_an_unknown_code_stops_the_build(prebuilt, tmp_path):
    manual_dir = _copy(tmp_path, jaffe_dummy.DUMMY_DATA)
    path = manual_dir / "KA.QQ2.99.tiff"
    shutil.copy(manual_dir / "EM.AN1.3.tiff", path)
    with pytest.raises(ValueError) as error:
        building.build_dataset("jaffe/fold0", manual_dir, prebuilt[0])
    message = str(error.value)
    assert str(path) in message and "unknown expression code 'QQ'" in message
    assert "rename or remove the file" in message
    assert not tfds.builder("jaffe/fold0", data_dir=str(prebuilt[0])).is_prepared()
    _assert_prebuilt_intact(prebuilt)


def test_four_channel_tiff_builds_like_the_three_channel_one(prebuilt, tmp_path):
    manual_dir = _copy(tmp_path, jaffe_dummy.DUMMY_DATA)
    path = manual_dir / "EM.AN1.3.tiff"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_BGR2BGRA))
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape[-1] == 4
    builder = building.build_dataset("jaffe/all", manual_dir, tmp_path / "tfds")
    # The alpha channel is dropped on read: the very same crops as from RGB.
    intact = tfds.builder("jaffe/all", data_dir=str(prebuilt[0])).as_data_source("test")
    source = builder.as_data_source("test")
    assert len(source) == prebuilt[1]["jaffe/all"]["test"]
    for i in range(len(source)):
        np.testing.assert_array_equal(source[i]["image"], intact[i]["image"])
    report = building.read_build_report(builder)["test"]
    assert report["dropped"] == {"no_face": 1} and report["unreadable_images"] == []
    _assert_prebuilt_intact(prebuilt)


# --- Configs -----------------------------------------------------------------


@pytest.mark.parametrize(
    "config_flag, extra_flag, messages",
    [
        pytest.param(
            "configs/affwild2_cnn.py:tiny",
            "--config.batch_sise=8",
            ['Did you mean "batch_size" instead of "batch_sise"?'],
            id="cli_key_typo",
        ),
        pytest.param(
            "configs/affwild2_cnn.py:tiny",
            "--config.batch_size=abc",
            ["flag --config.batch_size=abc: invalid literal for int()"],
            id="cli_value_of_wrong_type",
        ),
        pytest.param(
            "configs/affwild2_cnn.py:tiny,stpes=5",
            "--config.seed=1",
            [
                "Unknown config argument 'stpes'",
                "valid arguments: data_dir, loss, paper, quickstart",
            ],
            id="cli_unknown_argument_after_colon",
        ),
    ],
)
def test_bad_command_line_config_is_named_before_anything_is_written(
    tmp_path, config_flag, extra_flag, messages
):
    command = [sys.executable, "-m", "affect_jax.main", f"--config={config_flag}"]
    command += [f"--workdir={tmp_path / 'work'}", extra_flag]
    result = subprocess.run(command, cwd=train_helpers.REPO, capture_output=True, text=True)
    assert result.returncode == 1
    for part in messages:
        assert part in result.stderr
    assert not (tmp_path / "work").exists()


def _no_checkpoint_written(workdir: Path) -> bool:
    folder = workdir / "checkpoints"
    return not folder.exists() or not any(p.name.isdigit() for p in folder.iterdir())


@pytest.mark.parametrize(
    "key, value, error, messages",
    [
        pytest.param(
            "task",
            "mae",
            ValueError,
            ["Unknown task 'mae' (config key `task`)", "valid: va, va_mse, expr"],
            id="unknown_task",
        ),
        pytest.param(  # The key's older name sets the task too.
            "loss",
            "mae",
            ValueError,
            ["Unknown task 'mae' (config key `task`)", "older names: ccc, mse"],
            id="unknown_task_by_its_older_key",
        ),
        pytest.param(
            "model.name",
            "resnet",
            ValueError,
            ["Unknown model 'resnet' (config key model.name); valid: cnn, rnn."],
            id="unknown_model",
        ),
        pytest.param(
            "optimizer.decay_style",
            "cosine",
            ValueError,
            ["Unknown optimizer.decay_style 'cosine'", "valid: inverse_time, weight_decay, none."],
            id="unknown_decay_style",
        ),
        pytest.param(
            "model.variant",
            "vgg",
            ValueError,
            ["Unknown CNN variant 'vgg'", "valid: "],
            id="unknown_cnn_variant",
        ),
    ],
)
def test_unknown_name_in_config_stops_training_before_a_checkpoint(
    tiny_affwild2, tmp_path, key, value, error, messages
):
    config = train_helpers.tiny_config(tiny_affwild2, num_train_steps=2)
    section, _, name = key.rpartition(".")
    (config[section] if section else config)[name] = value
    with pytest.raises(error) as raised:
        train.train_and_evaluate(config, str(tmp_path))
    for part in messages:
        assert part in str(raised.value)
    assert _no_checkpoint_written(tmp_path)


def test_unknown_rnn_cell_names_the_key_and_the_valid_cells():
    config = load_config("affwild2_rnn", "tiny")
    config.model.cell = "lstm"
    model = create_model(config)
    with pytest.raises(ValueError) as raised:
        model.init(jax.random.key(0), jnp.zeros((1, 3, 32)))
    assert "Unknown RNN cell 'lstm' (config key model.cell); valid: " in str(raised.value)
    assert "gru" in str(raised.value).split("valid: ")[1]


def test_batch_size_not_divisible_by_the_device_count_says_what_to_use(monkeypatch):
    monkeypatch.setattr(sharding.jax, "device_count", lambda: 4)
    with pytest.raises(ValueError) as raised:
        sharding.per_process_batch_size(30)
    assert str(raised.value) == (
        "config.batch_size=30 does not split evenly over 4 devices; use a multiple of 4."
    )


# --- Checkpoints -------------------------------------------------------------


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _wider_model(config) -> None:
    config.model.conv_features = (8, 16, 32)


def _equalised_faces(config) -> None:
    config.input.photometric = "equalize"  # Same shapes: only the pixels differ.


@pytest.mark.parametrize(
    "change, messages",
    [
        pytest.param(_wider_model, ["model=", "fresh --workdir"], id="another_model"),
        pytest.param(
            _equalised_faces,
            [
                "config.input.photometric='none', but this run has 'equalize'",
                "--config.input.photometric=none",
                "fresh --workdir",
            ],
            id="another_photometric_setting",
        ),
    ],
)
def test_checkpoint_of_another_config_is_refused_and_left_intact(
    tiny_affwild2, tiny_cnn_run, tmp_path, change, messages
):
    workdir = tmp_path / "run"
    shutil.copytree(Path(tiny_cnn_run[0]) / "checkpoints", workdir / "checkpoints")
    before = _tree_digest(workdir / "checkpoints")
    config = train_helpers.tiny_config(tiny_affwild2, num_train_steps=200)
    change(config)
    with pytest.raises(checkpoints.CheckpointMismatchError) as raised:
        train.train_and_evaluate(config, str(workdir))
    for part in messages:
        assert part in str(raised.value)
    assert _tree_digest(workdir / "checkpoints") == before
    # Still usable: prediction restores it (and lists the one missing input).
    summary = predict_videos.predict_videos(
        str(workdir), [str(tmp_path / "gone.mp4")], str(tmp_path)
    )
    assert summary.written == [] and [p for p, _ in summary.failed] == [str(tmp_path / "gone.mp4")]


@pytest.mark.parametrize(
    "make_path, messages",
    [
        pytest.param(
            lambda root: (root / "checkpoints").mkdir(parents=True) or root,
            ["checkpoints holds no finished checkpoint"],
            id="empty_checkpoint_folder",
        ),
        pytest.param(
            lambda root: (
                (root.mkdir(), (root / "model.ckpt").write_bytes(b"x")) and root / "model.ckpt"
            ),
            ["model.ckpt is not a checkpoint: give the --workdir of a train_cnn or train_rnn run"],
            id="checkpoint_path_is_a_plain_file",
        ),
        pytest.param(
            lambda root: root / "nowhere",
            ["nowhere is not a checkpoint: give the --workdir"],
            id="checkpoint_path_does_not_exist",
        ),
    ],
)
def test_unusable_prediction_checkpoint_is_named(tmp_path, make_path, messages):
    path = make_path(tmp_path / "run")
    with pytest.raises(NotACheckpointError) as raised:
        predict_videos.predict_videos(str(path), [str(tmp_path / "x.mp4")], str(tmp_path / "out"))
    assert str(tmp_path / "run") in str(raised.value)
    for part in messages:
        assert part in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_missing_checkpoint_step_is_named(tiny_cnn_run, tmp_path):
    with pytest.raises(NotACheckpointError) as raised:
        predict_videos.predict_videos(tiny_cnn_run[0], ["x.mp4"], str(tmp_path / "out"), step="999")
    assert (
        str(raised.value)
        == f"No checkpoint '999' in {Path(tiny_cnn_run[0]).resolve()}/checkpoints."
    )


# --- Prediction inputs -------------------------------------------------------


@pytest.fixture(scope="module")
def bad_predictions(tiny_cnn_run, tmp_path_factory):
    """(summary, inputs folder, output folder, earlier outputs' digest) of one bad-input run.

    A good video is predicted first into the same output folder; the second
    run, with only bad inputs, must leave its files as they were.
    """
    root = tmp_path_factory.mktemp("bad_inputs")
    out = root / "out"
    portrait_video.write_portrait_video(root / "good.avi", 6, seed=2)
    first = predict_videos.predict_videos(tiny_cnn_run[0], [str(root / "good.avi")], str(out))
    assert first.written == ["good"] and first.failed == []
    before = _tree_digest(out)
    (root / "empty.mp4").write_bytes(b"")
    (root / "noise.avi").write_bytes(np.random.default_rng(0).bytes(20_000))
    (root / "no_images").mkdir()
    (root / "no_images" / "notes.txt").write_text("nothing to see")
    (root / "broken_images").mkdir()
    for i in range(3):
        (root / "broken_images" / f"{i:03d}.jpg").write_bytes(b"")
    (root / "labels.csv").write_text("frame,valence\n")
    inputs = ["empty.mp4", "noise.avi", "no_images", "broken_images", "gone.mp4", "labels.csv"]
    summary = predict_videos.predict_videos(
        tiny_cnn_run[0], [str(root / n) for n in inputs], str(out)
    )
    return summary, root, out, before


@pytest.mark.parametrize(
    "name, message",
    [
        pytest.param("empty.mp4", "OpenCV cannot open this video", id="empty_video_file"),
        pytest.param("noise.avi", "OpenCV cannot open this video", id="video_of_random_bytes"),
        pytest.param("no_images", "the folder has no videos", id="folder_with_no_images"),
        pytest.param(
            "broken_images", "none of its images can be read", id="folder_of_unreadable_images"
        ),
        pytest.param("gone.mp4", "no such file or folder", id="path_does_not_exist"),
        pytest.param("labels.csv", "not a video", id="file_that_is_not_a_video"),
    ],
)
def test_bad_prediction_input_is_listed_and_earlier_outputs_kept(bad_predictions, name, message):
    summary, root, out, before = bad_predictions
    failed = dict(summary.failed)
    assert failed[str(root / name)].startswith(f"{root / name}: {message}")
    assert f"  FAILED: {failed[str(root / name)]}" in summary.lines()
    assert summary.written == [] and summary.exit_code == 1
    assert len(summary.failed) == 6
    assert _tree_digest(out) == before

"""A corpus of malformed inputs (issue 7): each gets one exact, documented outcome.

An input either stops the work with an error that names the offending file or
key and says what to do, or is skipped and counted/listed in the build report
or prediction summary. Every case also checks that what was already written
(a built dataset, a checkpoint, earlier prediction outputs) is undamaged.
"""

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow_datasets as tfds

from affect_jax import build
from data_builders.affwild2 import make_dummy_data as affwild2_dummy
from data_builders.ck_plus import make_dummy_data as ck_plus_dummy
from data_builders.jaffe import make_dummy_data as jaffe_dummy

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
        builder = build.build_dataset(name, manual_dir, data_dir)
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
        build.build_dataset("affwild2/va", manual_dir, prebuilt[0])
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
    builder = build.build_dataset("affwild2/va", manual_dir, tmp_path / "tfds")
    expected = affwild2_dummy.EXPECTED_EXAMPLES
    assert {s: builder.info.splits[s].num_examples for s in expected} == expected
    report = build.read_build_report(builder)
    assert {s: report[s]["dropped"] for s in expected} == _AFFWILD2_REPORT
    assert report["train"]["annotation_lines"] == 12
    _assert_prebuilt_intact(prebuilt)


_FRAME = Path("cropped_aligned/video7/00002.jpg")
_GOOD_JPG = (affwild2_dummy.DUMMY_DATA / _FRAME).read_bytes()


@pytest.mark.parametrize(
    "content",
    [
        # Cut inside the JPEG header. (Cut inside the scan data, OpenCV decodes
        # a partly gray frame without an error: a known gap, see issue 7.)
        pytest.param(_GOOD_JPG[:200], id="truncated_jpg"),
        pytest.param(b"", id="zero_byte_jpg"),
        pytest.param(b"<html>404 Not Found</html>\n", id="text_named_jpg"),
    ],
)
def test_unreadable_frame_is_listed_and_skipped(prebuilt, tmp_path, content):
    manual_dir = _copy(tmp_path, affwild2_dummy.DUMMY_DATA)
    (manual_dir / _FRAME).write_bytes(content)
    builder = build.build_dataset("affwild2/va", manual_dir, tmp_path / "tfds")
    expected = affwild2_dummy.EXPECTED_EXAMPLES
    report = build.read_build_report(builder)["validation"]
    assert report["corrupt_images"] == [str(manual_dir / _FRAME)]
    assert report["dropped"] == {"corrupt_image": 1}
    assert builder.info.splits["validation"].num_examples == expected["validation"] - 1
    assert builder.info.splits["train"].num_examples == expected["train"]
    _assert_prebuilt_intact(prebuilt)


def test_annotation_for_a_video_with_no_images_is_counted(prebuilt, tmp_path):
    manual_dir = _copy(tmp_path, affwild2_dummy.DUMMY_DATA)
    ghost = manual_dir / "annotations/VA_Set/Validation_Set/ghost.txt"
    ghost.write_text("valence,arousal\n0.1,0.1\n0.2,0.2\n")
    builder = build.build_dataset("affwild2/va", manual_dir, tmp_path / "tfds")
    report = build.read_build_report(builder)["validation"]
    assert report["videos_without_image_folder"] == ["ghost"]
    assert report["dropped"] == {"no_image_folder": 2}
    assert builder.info.splits["validation"].num_examples == 5
    _assert_prebuilt_intact(prebuilt)


def test_manual_dir_that_does_not_exist_says_where_to_get_the_data(prebuilt, tmp_path):
    with pytest.raises(AssertionError) as error:
        build.build_dataset("affwild2/va", tmp_path / "nowhere", prebuilt[0])
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
        build.build_dataset("ck_plus/fold1", manual_dir, prebuilt[0])
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
    builder = build.build_dataset("ck_plus/fold0", manual_dir, tmp_path / "tfds")
    assert {s: len(builder.as_data_source(s)) for s in builder.info.splits} == prebuilt[1][
        "ck_plus/fold0"
    ]
    report = build.read_build_report(builder)["train"]
    assert report["dropped"] == {"no_face": 1} and report["unreadable_images"] == []
    _assert_prebuilt_intact(prebuilt)


def test_zero_byte_png_is_listed_and_skipped(prebuilt, tmp_path):
    manual_dir = _copy(tmp_path, ck_plus_dummy.DUMMY_DATA)
    (manual_dir / _CK_FRAME).write_bytes(b"")
    builder = build.build_dataset("ck_plus/fold0", manual_dir, tmp_path / "tfds")
    report = build.read_build_report(builder)["train"]
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
        build.build_dataset("jaffe/fold0", manual_dir, prebuilt[0])
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
    builder = build.build_dataset("jaffe/all", manual_dir, tmp_path / "tfds")
    assert len(builder.as_data_source("test")) == prebuilt[1]["jaffe/all"]["test"]
    report = build.read_build_report(builder)["test"]
    assert report["dropped"] == {"no_face": 1} and report["unreadable_images"] == []
    _assert_prebuilt_intact(prebuilt)

"""The jaffe TFDS builder, built through affect_jax.build on small raw layouts."""

import collections
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow_datasets as tfds

from affect_jax.data import building
from affect_jax.faces import detect, framing
from affect_jax.synthetic import jaffe_layout
from data_builders.jaffe import jaffe, make_dummy_data, raw_layout

DUMMY_DATA = make_dummy_data.DUMMY_DATA
# JAFFE codes -> CK+ codes, written out here rather than imported from the builder.
_LABELS = {"NE": 0, "AN": 1, "DI": 3, "FE": 4, "HA": 5, "SA": 6, "SU": 7}


def _raw_examples(folder: Path, skip=()) -> list[tuple[str, str, int]]:
    """(subject, file name, label) of each TIFF, read without the builder's code."""
    rows = []
    for path in folder.glob("*.tiff"):
        if path.name in skip:
            continue
        subject, code_pose, number, _ = path.name.split(".")
        rows.append((int(number), subject, path.name, _LABELS[code_pose[:2]]))
    return [row[1:] for row in sorted(rows, key=lambda r: (r[1], r[0]))]


def _raw_ratings(path: Path) -> dict[str, list[float]]:
    """{picture: [HAP SAD SUR ANG DIS FEA]} from the README's table, written in that order."""
    lines = path.read_text().splitlines()
    table = lines[next(i for i, line in enumerate(lines) if "HAP" in line) + 1 :]
    return {f[-1]: [float(v) for v in f[-7:-1]] for f in map(str.split, table) if f}


def _records(builder, split: str) -> list[dict]:
    source = builder.as_data_source(split)
    return [source[i] for i in range(len(source))]


def _keys(records) -> list[tuple[str, str, int]]:
    return [(r["subject"].decode(), r["filename"].decode(), int(r["label"])) for r in records]


def _copy_dummy(tmp_path: Path) -> Path:
    manual_dir = tmp_path / "raw"
    shutil.copytree(DUMMY_DATA, manual_dir)
    return manual_dir


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds")
    names = ["all"] + [f"fold{k}" for k in range(10)]
    return {n: building.build_dataset(f"jaffe/{n}", DUMMY_DATA, data_dir) for n in names}


def test_all_is_one_test_split_with_the_raw_count_and_labels(built):
    builder = built["all"]
    expected = _raw_examples(DUMMY_DATA, skip=make_dummy_data.NO_FACE_FILES)
    assert len(expected) == make_dummy_data.EXPECTED_EXAMPLES
    assert list(builder.info.splits) == ["test"]
    assert _keys(_records(builder, "test")) == expected
    assert collections.Counter(r[2] for r in expected) == {0: 3, 1: 3, 3: 3, 4: 2, 5: 3, 6: 3, 7: 2}
    assert builder.info.features["label"].names[2] == "contempt"  # CK+ codes, contempt unused.
    assert "Lyons" in builder.info.citation
    assert "jaffe" in tfds.list_builders(with_community_datasets=False)


def test_folds_are_subject_disjoint_and_cover_every_subject(built):
    expected = _raw_examples(DUMMY_DATA, skip=make_dummy_data.NO_FACE_FILES)
    subjects = {r[0] for r in expected}
    tested = collections.Counter()
    for k in range(10):
        builder = built[f"fold{k}"]
        got = {split: _keys(_records(builder, split)) for split in ("train", "test")}
        train, test = ({r[0] for r in got[s]} for s in ("train", "test"))
        assert train.isdisjoint(test) and train | test == subjects and test
        tested.update(test)
        assert got["test"] == [r for r in expected if r[0] in test]
        assert got["train"] == [r for r in expected if r[0] in train]
    assert tested == {s: 1 for s in subjects}


def test_three_channel_tiff_and_images_are_the_documented_crops(built):
    cropper = framing.StillFaceCropper("aligned")
    channels = []
    for record in _records(built["all"], "test"):
        assert record["image"].shape == (96, 96, 1) and record["image"].dtype == np.uint8
        raw = cv2.imread(str(DUMMY_DATA / record["filename"].decode()), cv2.IMREAD_UNCHANGED)
        channels.append(1 if raw.ndim == 2 else raw.shape[2])
        np.testing.assert_array_equal(record["image"][..., 0], cropper.crop(raw).image)
    assert channels.count(3) == 1 and channels.count(1) == len(channels) - 1


def test_ratings_are_joined_and_default_to_minus_one(built, tmp_path):
    ratings = _raw_ratings(DUMMY_DATA / "README_FIRST.txt")
    for record in _records(built["all"], "test"):
        name = record["filename"].decode()
        subject, code_pose = name.split(".")[:2]
        picture = f"{subject}-{code_pose}"
        assert record["has_ratings"] == (picture in ratings)
        expected = ratings.get(picture, [-1.0] * 6)
        np.testing.assert_allclose(record["ratings"], expected, atol=1e-6)
        assert (name in make_dummy_data.UNRATED_FILES) == (not record["has_ratings"])
    manual_dir = _copy_dummy(tmp_path)
    # A README without the ratings table is just text, and ignored.
    (manual_dir / "README_FIRST.txt").write_text("Images of posed expressions.\n")
    unrated = building.build_dataset("jaffe/all", manual_dir, tmp_path / "tfds")
    records = _records(unrated, "test")
    assert not any(r["has_ratings"] for r in records)
    assert all(np.all(r["ratings"] == -1.0) for r in records)


def test_no_face_image_is_listed_and_skipped_or_centre_cropped(built, tmp_path):
    [name] = make_dummy_data.NO_FACE_FILES
    report = building.read_build_report(built["all"])["test"]
    assert report["no_face_images"] == [str(DUMMY_DATA / name)]
    assert report["dropped"] == {"no_face": 1}
    config = jaffe.JaffeConfig(name="all_centre", no_face_policy=detect.CENTER_CROP)
    centred = jaffe.Jaffe(config=config, data_dir=str(tmp_path))
    centred.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=DUMMY_DATA)
    )
    report = building.read_build_report(centred)["test"]
    assert report["center_cropped"] == [str(DUMMY_DATA / name)] and report["dropped"] == {}
    assert centred.info.splits["test"].num_examples == make_dummy_data.EXPECTED_EXAMPLES + 1


@pytest.mark.parametrize(
    "bad_name, message",
    [
        ("KA.XX1.40.tiff", r"unknown expression code 'XX'"),
        ("KA.CO1.41.tiff", r"unknown expression code 'CO'"),
        ("scan_0001.tiff", r"not a JAFFE file name"),
    ],
)
def test_bad_file_name_stops_the_build_naming_the_file(tmp_path, bad_name, message):
    manual_dir = _copy_dummy(tmp_path)
    path = manual_dir / bad_name
    shutil.copy(manual_dir / "EM.AN1.3.tiff", path)
    with pytest.raises(ValueError, match=message) as error:
        building.build_dataset("jaffe/all", manual_dir, tmp_path / "tfds")
    assert str(path) in str(error.value) and "Fix:" in str(error.value)
    assert not tfds.builder("jaffe/all", data_dir=tmp_path / "tfds").is_prepared()


@pytest.mark.parametrize(
    "line, message",
    [
        ("1.5  1.5  1.5  1.5  1.5  YH-SU1", r"line {n}: expected 6 ratings"),
        ("30  1.5  1.5  x  1.5  1.5  1.5  YH-SU1", r"line {n}: a rating is not a number"),
        ("30  1.5  1.5  9.0  1.5  1.5  1.5  YH-SU1", r"line {n}: a rating is outside \[1, 5\]"),
        ("30  1.5  1.5  1.5  1.5  1.5  1.5  AH-NE1", r"line {n}: AH-NE1 is rated twice"),
    ],
)
def test_bad_ratings_line_names_file_and_line(tmp_path, line, message):
    manual_dir = _copy_dummy(tmp_path)
    path = manual_dir / "README_FIRST.txt"
    text = path.read_text()
    path.write_text(text + line + "\n")
    number = len(text.splitlines()) + 1
    with pytest.raises(ValueError, match=message.replace("{n}", str(number))) as error:
        building.build_dataset("jaffe/all", manual_dir, tmp_path / "tfds")
    assert str(path) in str(error.value) and "Fix:" in str(error.value)


def test_missing_manual_dir_or_images_says_where_to_get_the_data(tmp_path):
    with pytest.raises(AssertionError, match="(?s)does not exist or is empty.*Lyons"):
        building.build_dataset("jaffe/all", tmp_path / "nowhere", tmp_path / "tfds")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.txt").write_text("no images here")
    with pytest.raises(FileNotFoundError, match="(?s)No .tiff images.*request form"):
        building.build_dataset("jaffe/all", tmp_path / "notes", tmp_path / "tfds")


def test_images_in_one_subfolder_are_found(tmp_path):
    shutil.copytree(DUMMY_DATA, tmp_path / "download" / "jaffedbase")
    builder = building.build_dataset("jaffe/all", tmp_path / "download", tmp_path / "tfds")
    assert builder.info.splits["test"].num_examples == make_dummy_data.EXPECTED_EXAMPLES
    assert any(r["has_ratings"] for r in _records(builder, "test"))


def test_generated_tiny_layout_builds_to_the_independent_count(tmp_path):
    manual_dir = tmp_path / "raw"
    summary = jaffe_layout.write_jaffe_layout(manual_dir, seed=1, **jaffe_layout.PRESETS["tiny"])
    assert len(_raw_examples(manual_dir)) == len(summary["images"]) == 70
    # The layout draws a face in every image; this test takes the one out of
    # one image, so it knows which images have a face without asking the builder.
    faceless = manual_dir / _raw_examples(manual_dir)[0][1]
    image = cv2.imread(str(faceless), cv2.IMREAD_UNCHANGED)
    assert cv2.imwrite(str(faceless), np.full_like(image, 128))
    builder = building.build_dataset("jaffe/all", manual_dir, tmp_path / "tfds")
    report = building.read_build_report(builder)["test"]
    assert report["no_face_images"] == [str(faceless)]
    assert _keys(_records(builder, "test")) == _raw_examples(manual_dir, skip={faceless.name})
    assert sum(i["channels"] == 3 for i in summary["images"]) >= 1


def test_ratings_table_is_found_inside_a_readme(tmp_path):
    readme = tmp_path / "A_README_FIRST.txt"
    readme.write_text(
        "The JAFFE images...\n\n#  HAP  SAD  SUR  ANG  DIS  FEA  PIC\n"
        "1  2.87  2.52  2.10  1.97  1.97  2.06  KM-NE1\n"
        "2  1.20  4.40  1.50  1.60  1.70  2.10  km-sa3\n\n"
        "Ratings were averaged over viewers.\n3 4.0 4.0 4.0 4.0 4.0 4.0 KM-HA1\n"
    )
    (tmp_path / "notes.txt").write_text("HAP is happy.\n")
    assert raw_layout.find_ratings_file(tmp_path) == readme
    ratings = raw_layout.parse_ratings(readme)
    assert sorted(ratings) == ["KM-NE1", "KM-SA3"]  # The table ends at the text after it.
    np.testing.assert_allclose(ratings["KM-SA3"], [1.2, 4.4, 1.5, 1.6, 1.7, 2.1], rtol=1e-6)
    (tmp_path / "copy.txt").write_text(readme.read_text())
    with pytest.raises(ValueError, match="Several semantic ratings files"):
        raw_layout.find_ratings_file(tmp_path)

"""The face_folders TFDS builder, built through affect_jax.build on synthetic class folders."""

import collections
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow_datasets as tfds

from affect_jax import build
from affect_jax.data import building, provenance
from affect_jax.faces import framing
from affect_jax.runtime import ConfigError
from affect_jax.synthetic import face_folders_layout
from affect_jax.tasks.labels import CK_PLUS_EMOTIONS, expression_code
from data_builders.ck_plus import folds
from data_builders.ck_plus.face_crop_builder import CropReport
from data_builders.errors import RawDataError, RawDataMissingError
from data_builders.face_folders import face_folders, make_dummy_data, raw_layout, splits

DUMMY_DATA = make_dummy_data.DUMMY_DATA
SUBJECTS = {"subject_regex": make_dummy_data.SUBJECT_REGEX}
# Written here, not read from the builder: folder name (lower case) -> CK+ code.
FOLDER_LABELS = {
    "angry": 1,
    "anger": 1,
    "contempt": 2,
    "disgust": 3,
    "fear": 4,
    "happy": 5,
    "neutral": 0,
    "sad": 6,
    "sadness": 6,
    "surprise": 7,
    "surprised": 7,
}


def _raw_images(root: Path) -> dict[str, int]:
    """{path relative to root: label} of every .png under `root` that decodes."""
    found = {}
    for path in sorted(root.rglob("*.png")):
        if cv2.imread(str(path)) is not None:
            found[str(path.relative_to(root))] = FOLDER_LABELS[path.parent.name.lower()]
    return found


def _records(builder, split: str) -> list[dict]:
    source = builder.as_data_source(split)
    return [source[i] for i in range(len(source))]


def _by_split(builder) -> dict[str, dict[str, int]]:
    """{split: {filename: label}} of a built dataset."""
    return {
        split: {r["filename"].decode(): int(r["label"]) for r in _records(builder, split)}
        for split in builder.info.splits
    }


def _subjects(records: dict[str, int]) -> set[str]:
    return {Path(name).name[:4] for name in records}


@pytest.fixture(scope="module")
def dummy_build(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds")
    return building.build_dataset("face_folders/cropped", DUMMY_DATA, data_dir, SUBJECTS)


def test_spelling_table_maps_every_common_folder_name_in_any_case():
    assert [expression_code(n) for n in CK_PLUS_EMOTIONS] == list(range(8))
    for name, code in FOLDER_LABELS.items():
        assert expression_code(name.upper()) == code and expression_code(f" {name} ") == code
    for name in ("disgusted", "fearful", "Happiness", "SURPRISED"):
        assert expression_code(name) is not None
    assert expression_code("7") is None and expression_code("happyish") is None


def test_dummy_data_builds_every_decodable_file_split_by_subject(dummy_build):
    size = sum(p.stat().st_size for p in DUMMY_DATA.rglob("*") if p.is_file())
    assert size < 200_000
    raw = _raw_images(DUMMY_DATA)
    assert len(raw) == make_dummy_data.EXPECTED_EXAMPLES
    got = _by_split(dummy_build)
    assert set(got) == {"train", "validation", "test"}
    merged = {name: label for split in got.values() for name, label in split.items()}
    assert sum(map(len, got.values())) == len(merged)  # No image in two splits.
    assert merged == raw
    subject_sets = [_subjects(records) for records in got.values()]
    assert sum(map(len, subject_sets)) == len(set.union(*subject_sets)) == 6
    assert [len(s) for s in subject_sets] == [4, 1, 1]  # 6 people: 20% and 10%, at least 1.
    report = building.read_build_report(dummy_build)
    broken = str(DUMMY_DATA / make_dummy_data.BROKEN_FILE)
    assert [s for s, r in report.items() if r["unreadable_images"] == [broken]] == ["train"]
    for split, records in got.items():
        per_class = collections.Counter(CK_PLUS_EMOTIONS[label] for label in records.values())
        assert report[split]["examples_per_class"] == dict(per_class)
    metadata = dummy_build.info.metadata
    assert metadata["ignored_files"] == sorted(make_dummy_data.IGNORED_FILES)
    assert metadata["class_folders"]["surprised"] == "surprise"
    assert dummy_build.info.file_format == tfds.core.FileFormat.ARRAY_RECORD
    assert "Goodfellow" in dummy_build.info.citation


def test_cropped_images_are_the_centred_square_at_96_gray(dummy_build):
    for record in _records(dummy_build, "test") + _records(dummy_build, "validation"):
        raw = cv2.imread(str(DUMMY_DATA / record["filename"].decode()), cv2.IMREAD_COLOR)
        gray = cv2.cvtColor(raw, cv2.COLOR_BGR2GRAY)
        expected = cv2.resize(gray, (96, 96), interpolation=cv2.INTER_AREA)
        assert record["image"].shape == (96, 96, 1) and record["image"].dtype == np.uint8
        np.testing.assert_array_equal(record["image"][..., 0], expected)


def test_flat_layout_without_subjects_is_split_class_by_class(tmp_path):
    root = tmp_path / "raw"
    face_folders_layout.write_face_folders_layout(
        root,
        subjects=10,
        images_per_class=1,
        classes=("neutral", "happy", "surprise"),
        subject_names=False,
        folder_names={"happy": "HAPPY"},
        seed=3,
    )
    (root / "contempt").mkdir()  # A class with no images yet.
    (root / "fear").mkdir()  # One image, too few to carve: always in train.
    (root / "fear" / "00999.png").write_bytes(b"not a png")
    builder = building.build_dataset("face_folders/cropped", root, tmp_path / "tfds")
    got = _by_split(builder)
    assert {n: label for s in got.values() for n, label in s.items()} == _raw_images(root)
    for split, share in (("test", 0.2), ("validation", 0.1)):
        assert collections.Counter(got[split].values()) == dict.fromkeys(
            (0, 5, 7), round(10 * share)
        )
    assert builder.info.metadata["empty_class_folders"] == ["contempt"]
    report = building.read_build_report(builder)
    assert report["train"]["dropped"] == {"unreadable": 1}
    # The carving is a function of the files and the seed.
    layout = raw_layout.read_layout(root, {}, "")
    test_sets = [
        {
            i.relative
            for i in splits.assign_splits(
                layout,
                validation_fraction=0.1,
                test_fraction=0.2,
                seed=seed,
                fold=None,
                num_folds=10,
            )[0]["test"]
        }
        for seed in (0, 0, 1)
    ]
    assert test_sets[0] == set(got["test"]) == test_sets[1] != test_sets[2]


def test_split_folders_are_kept_and_detect_skips_images_without_a_face(tmp_path):
    root = tmp_path / "raw"
    summary = face_folders_layout.write_face_folders_layout(
        root,
        subjects={"train": 3, "val": 1, "test": 2},
        images_per_class=1,
        classes=("anger", "happy", "surprise"),
        image_size=256,
        cropped=False,
        seed=4,
    )
    empty_chair = root / "test" / "happy" / "S000_009_00000099.png"
    cv2.imwrite(str(empty_chair), np.full((256, 256), 90, np.uint8))
    builder = building.build_dataset("face_folders/detect", root, tmp_path / "tfds", SUBJECTS)
    got = _by_split(builder)
    for split, folder in (("train", "train"), ("validation", "val"), ("test", "test")):
        expected = {
            i["path"]: i["label"] for i in summary["images"] if i["path"].startswith(folder + "/")
        }
        assert got[split] == expected
    report = building.read_build_report(builder)
    assert report["test"]["no_face_images"] == [str(empty_chair)]
    assert report["test"]["dropped"] == {"no_face": 1}
    assert builder.info.metadata["split_folders"] == {
        "train": "train",
        "validation": "val",
        "test": "test",
    }
    cropper = framing.StillFaceCropper("aligned")
    for record in _records(builder, "validation"):
        raw = cv2.imread(str(root / record["filename"].decode()), cv2.IMREAD_COLOR)
        np.testing.assert_array_equal(record["image"][..., 0], cropper.crop(raw).image)


def test_missing_validation_folder_is_carved_from_train_by_subject(tmp_path):
    root = tmp_path / "download" / "fer_like"  # An archive's top folder: looked into.
    face_folders_layout.write_face_folders_layout(
        root,
        subjects={"Train": 10, "test": 2},
        images_per_class=1,
        classes=("sadness", "happy"),
        seed=5,
    )
    builder = building.build_dataset(
        "face_folders/cropped", root.parent, tmp_path / "tfds", SUBJECTS
    )
    got = _by_split(builder)
    train_folder = {str(p.relative_to(root)) for p in (root / "Train").rglob("*.png")}
    assert set(got["train"]) | set(got["validation"]) == train_folder
    assert len(_subjects(got["validation"])) == 1  # 10% of Train/'s 10 people.
    assert _subjects(got["train"]).isdisjoint(_subjects(got["validation"]))
    assert set(got["test"]) == {str(p.relative_to(root)) for p in (root / "test").rglob("*.png")}


def test_subject_folds_reuse_the_ck_plus_folds(tmp_path):
    builders = [
        building.build_dataset(f"face_folders/cropped_fold{k}of3", DUMMY_DATA, tmp_path, SUBJECTS)
        for k in range(3)
    ]
    subjects = _subjects(_raw_images(DUMMY_DATA))
    tested = collections.Counter()
    for k, builder in enumerate(builders):
        got = _by_split(builder)
        assert set(got) == {"train", "test"}
        assert _subjects(got["test"]) == set(folds.split_subjects(subjects, k, 3)["test"])
        assert _subjects(got["train"]) | _subjects(got["test"]) == subjects
        tested.update(_subjects(got["test"]))
    assert tested == {s: 1 for s in subjects}
    assert Path(builders[1].data_dir).parent.name == "cropped_fold1of3"


def test_unknown_class_folder_names_the_mapping_and_class_map_fixes_it(tmp_path):
    root = tmp_path / "raw"
    face_folders_layout.write_face_folders_layout(
        root,
        subjects=5,
        images_per_class=1,
        classes=("happy", "neutral", "sadness"),
        folder_names={"happy": "Happyish", "neutral": "7"},
        seed=6,
    )
    with pytest.raises(RawDataError) as error:
        building.build_dataset("face_folders/cropped", root, tmp_path / "tfds")
    message = str(error.value)
    for part in ("Happyish", f"{root / '7'}", "anger <- anger, angry", "rename", "class_map="):
        assert part in message
    assert "sadness" not in message.split("Folder names map")[0]
    assert not tfds.builder("face_folders/cropped", data_dir=str(tmp_path / "tfds")).is_prepared()
    options = build.builder_options(["class_map=happyish:Happiness,7:0", r"subject_regex=S\d{3}"])
    builder = building.build_dataset("face_folders/cropped", root, tmp_path / "tfds", options)
    labels = {r["class_folder"].decode(): int(r["label"]) for r in _records(builder, "train")}
    assert labels == {"Happyish": 5, "7": 0, "sadness": 6}
    with pytest.raises(ValueError, match="'furious' is not an expression label"):
        building.build_dataset(
            "face_folders/cropped", root, tmp_path / "x", {"class_map": "7:furious"}
        )


def test_rebuilding_with_other_options_is_refused_and_same_options_reuse(dummy_build, tmp_path):
    data_dir = Path(dummy_build.data_dir).parents[2]
    again = building.build_dataset("face_folders/cropped", DUMMY_DATA, data_dir, SUBJECTS)
    assert again.info.splits["test"].num_examples == dummy_build.info.splits["test"].num_examples
    with pytest.raises(RawDataError, match=r"split_seed: built 0, asked 3.*own --data_dir"):
        building.build_dataset(
            "face_folders/cropped", DUMMY_DATA, data_dir, {**SUBJECTS, "split_seed": 3}
        )


def test_layout_errors_name_the_folder_and_the_fix(tmp_path):
    with pytest.raises(AssertionError, match="(?s)does not exist or is empty.*class_map"):
        building.build_dataset("face_folders/cropped", tmp_path / "nowhere", tmp_path / "tfds")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.txt").write_text("no class folders here")
    with pytest.raises(RawDataMissingError, match="(?s)No folders in .*notes.*FER2013"):
        building.build_dataset("face_folders/cropped", tmp_path / "notes", tmp_path / "tfds")
    mixed = tmp_path / "mixed"
    shutil.copytree(DUMMY_DATA / "happy", mixed / "happy")
    shutil.copytree(DUMMY_DATA / "sad", mixed / "train" / "sad")
    with pytest.raises(
        RawDataError, match=r"mixes split folders \(train\) with other folders \(happy\)"
    ):
        raw_layout.read_layout(mixed, {}, "")
    with pytest.raises(RawDataError, match=r"no subject matching subject_regex 'P\\d\+'"):
        raw_layout.read_layout(DUMMY_DATA, {}, r"P\d+")
    with pytest.raises(ValueError, match="subject folds need subjects; pass subject_regex"):
        building.build_dataset("face_folders/cropped_fold0", DUMMY_DATA, tmp_path / "tfds")
    with pytest.raises(ValueError, match="Unknown face_folders config 'croped'"):
        building.build_dataset("face_folders/croped", DUMMY_DATA, tmp_path / "tfds")


@pytest.mark.parametrize("height, width", [(60, 150), (140, 70), (300, 200)])
def test_a_non_square_face_image_gives_its_centred_square(tmp_path, height, width):
    # White where the centred square lies, black beyond it: any other square,
    # or the whole image squeezed to 96x96, brings black in.
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    image = np.zeros((height, width, 3), np.uint8)
    image[top : top + side, left : left + side] = 255
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), image)
    png = face_folders.face_crop_png(path, CropReport())
    face = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert face.shape == (96, 96) and face.dtype == np.uint8
    assert face.min() >= 250, (face.min(), height, width)


def test_detect_finds_the_faces_of_48x48_crops_and_takes_a_faceless_one_whole(tmp_path):
    root = tmp_path / "ck48"
    face_folders_layout.write_face_folders_layout(
        root, subjects=4, images_per_class=1, classes=("happy", "sadness", "surprise"), seed=2
    )
    blank = root / "happy" / "S003_009_00000099.png"  # A small image with no face.
    cv2.imwrite(str(blank), np.full((48, 48), 128, np.uint8))
    options = {**SUBJECTS, "validation_fraction": 0.0, "test_fraction": 0.25}
    builder = building.build_dataset("face_folders/detect", root, tmp_path / "tfds", options)
    report = building.read_build_report(builder)
    examples = sum(len(builder.as_data_source(s)) for s in builder.info.splits)
    assert examples == 13  # Every image, none dropped.
    assert [p for s in report.values() for p in s["taken_whole"]] == [str(blank)]
    assert not any(s["dropped"] for s in report.values())
    assert builder.info.metadata["framing"] == framing.DEFAULT_FRAMING
    assert provenance.read_framing(builder.data_dir) == "aligned"
    # Another framing into the same data_dir would silently reuse these crops: refused.
    with pytest.raises(RawDataError, match="framing: built 'aligned', asked 'haar_box'"):
        building.build_dataset(
            "face_folders/detect", root, tmp_path / "tfds", {**options, "framing": "haar_box"}
        )
    boxed = building.build_dataset(
        "face_folders/detect",
        root,
        tmp_path / "boxes",
        {**options, "framing": "haar_box", "face_margin": 0.2},
    )
    assert provenance.read_framing(boxed.data_dir) == "haar_box"
    # A run copies the framing and its margin, which prediction then applies.
    assert provenance.training_data("face_folders/detect", boxed.data_dir) == {
        "dataset": "face_folders/detect",
        "synthetic": True,
        "framing": "haar_box",
        "face_margin": 0.2,
    }
    assert provenance.training_data("x", builder.data_dir)["face_margin"] == 0.0
    with pytest.raises(ConfigError, match="Unknown framing 'tight'"):
        building.build_dataset(
            "face_folders/detect", root, tmp_path / "x", {**options, "framing": "tight"}
        )

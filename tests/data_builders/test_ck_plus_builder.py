"""The ck_plus TFDS builder, built through affect_jax.build on small raw layouts."""

import collections
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow_datasets as tfds

from affect_jax.data import building
from affect_jax.faces import detect, framing
from affect_jax.synthetic import ck_plus_layout
from data_builders.ck_plus import ck_plus, folds, make_dummy_data

DUMMY_DATA = make_dummy_data.DUMMY_DATA
NO_FACE = {(s, q, f) for s, q, f in make_dummy_data.NO_FACE_FRAMES}


def _raw_examples(manual_dir: Path) -> list[tuple[str, str, int, int]]:
    """What a build of every subject holds, read from the raw files without the builder.

    Returns (subject, sequence, frame, label) in subject, sequence, frame order:
    the first frame of each labelled sequence as neutral (0), its last three
    frames with the label.
    """
    rows = []
    for emotion in sorted((manual_dir / "Emotion").glob("*/*/*_emotion.txt")):
        subject, sequence = emotion.parent.parent.name, emotion.parent.name
        label = int(float(emotion.read_text()))
        pngs = (manual_dir / "cohn-kanade-images" / subject / sequence).glob("*.png")
        numbers = sorted(int(p.stem.split("_")[-1]) for p in pngs)
        rows.append((subject, sequence, numbers[0], 0))
        rows += [(subject, sequence, n, label) for n in numbers[-3:]]
    return rows


def _records(builder, split: str) -> list[dict]:
    source = builder.as_data_source(split)
    return [source[i] for i in range(len(source))]


def _keys(records) -> list[tuple[str, str, int, int]]:
    return [
        (r["subject"].decode(), r["sequence"].decode(), int(r["frame"]), int(r["label"]))
        for r in records
    ]


def _frame_path(manual_dir: Path, subject: str, sequence: str, frame: int) -> Path:
    folder = manual_dir / "cohn-kanade-images" / subject / sequence
    return folder / f"{subject}_{sequence}_{frame:08d}.png"


def _copy_dummy(tmp_path: Path) -> Path:
    manual_dir = tmp_path / "raw"
    shutil.copytree(DUMMY_DATA, manual_dir)
    return manual_dir


@pytest.fixture(scope="module")
def all_folds(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds")
    return [building.build_dataset(f"ck_plus/fold{k}", DUMMY_DATA, data_dir) for k in range(10)]


def test_dummy_data_is_small_and_its_count_is_the_raw_count():
    size = sum(p.stat().st_size for p in DUMMY_DATA.rglob("*") if p.is_file())
    assert size < 300_000
    rows = _raw_examples(DUMMY_DATA)
    assert len([r for r in rows if r[:3] not in NO_FACE]) == make_dummy_data.EXPECTED_EXAMPLES


def test_folds_are_subject_disjoint_cover_every_subject_and_match_the_raw_files(all_folds):
    expected = [r for r in _raw_examples(DUMMY_DATA) if r[:3] not in NO_FACE]
    subjects = {r[0] for r in expected}
    tested = collections.Counter()
    for builder in all_folds:
        got = {split: _keys(_records(builder, split)) for split in ("train", "test")}
        train_subjects = {k[0] for k in got["train"]}
        test_subjects = {k[0] for k in got["test"]}
        assert train_subjects.isdisjoint(test_subjects) and test_subjects
        assert train_subjects | test_subjects == subjects
        tested.update(test_subjects)
        for split, keys in got.items():
            # Exact records, labels and order: subject, sequence, frame.
            members = train_subjects if split == "train" else test_subjects
            assert keys == [r for r in expected if r[0] in members]
            assert builder.info.splits[split].num_examples == len(keys)
        report = building.read_build_report(builder)
        assert sorted(report["train"]["subjects"]) == sorted(train_subjects)
    assert tested == {s: 1 for s in subjects}  # Each subject tested in exactly one fold.
    labels = collections.Counter(r[3] for r in expected)
    assert labels == {0: 10, 1: 3, 2: 3, 3: 6, 4: 2, 5: 6, 6: 3, 7: 6}


def test_fold_assignment_is_deterministic_and_balanced():
    subjects = [f"S{n:03d}" for n in range(5, 128)]
    assignment = folds.assign_folds(subjects)
    assert assignment == folds.assign_folds(reversed(subjects))
    sizes = collections.Counter(assignment.values())
    assert sorted(sizes) == list(range(10)) and max(sizes.values()) - min(sizes.values()) <= 1
    with pytest.raises(ValueError, match="3 subjects cannot fill 10"):
        folds.assign_folds(["S001", "S002", "S003"])


def test_features_colour_frames_and_images_are_the_documented_crops(all_folds):
    builder = all_folds[0]
    info = builder.info
    assert info.features["label"].names == [
        "neutral",
        "anger",
        "contempt",
        "disgust",
        "fear",
        "happy",
        "sadness",
        "surprise",
    ]
    assert info.file_format == tfds.core.FileFormat.ARRAY_RECORD
    assert "Lucey" in info.citation and "ck_plus" in tfds.list_builders(
        with_community_datasets=False
    )
    names = [c.name for c in ck_plus.CkPlus.BUILDER_CONFIGS]
    # Faces aligned by the eyes, then the same folds with the paper's Haar crops.
    assert names == [f"fold{k}" for k in range(10)] + [f"fold{k}_box" for k in range(10)]
    cropper = framing.StillFaceCropper("aligned")
    seen_colour = False
    for builder in all_folds[:3]:
        for record in _records(builder, "train") + _records(builder, "test"):
            image = record["image"]
            assert image.shape == (96, 96, 1) and image.dtype == np.uint8
            path = _frame_path(
                DUMMY_DATA,
                record["subject"].decode(),
                record["sequence"].decode(),
                int(record["frame"]),
            )
            raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            seen_colour |= raw.ndim == 3
            # PNG is lossless: exactly the aligned gray crop of the raw frame.
            np.testing.assert_array_equal(image[..., 0], cropper.crop(raw).image)
    assert seen_colour


def test_image_with_no_face_is_listed_skipped_or_centre_cropped(all_folds, tmp_path):
    [(subject, sequence, frame)] = make_dummy_data.NO_FACE_FRAMES
    path = str(_frame_path(DUMMY_DATA, subject, sequence, frame))
    reports = [building.read_build_report(b) for b in all_folds]
    listed = [r[s]["no_face_images"] for r in reports for s in r if r[s]["no_face_images"]]
    assert listed == [[path]] * 10  # In every fold, in the split holding the subject.
    assert sum(r[s]["dropped"].get("no_face", 0) for r in reports for s in r) == 10

    config = ck_plus.CkPlusConfig(name="fold0_centre", fold=0, no_face_policy=detect.CENTER_CROP)
    centred = ck_plus.CkPlus(config=config, data_dir=str(tmp_path))
    centred.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=DUMMY_DATA)
    )
    report = building.read_build_report(centred)
    split = next(s for s in report if report[s]["no_face_images"])
    assert report[split]["center_cropped"] == [path] and report[split]["dropped"] == {}
    counts = {s: i.num_examples for s, i in centred.info.splits.items()}
    skipped = {s: i.num_examples for s, i in all_folds[0].info.splits.items()}
    assert counts == {**skipped, split: skipped[split] + 1}
    kept = [r for r in _records(centred, split) if r["subject"].decode() == subject]
    assert frame in [int(r["frame"]) for r in kept]


@pytest.mark.parametrize(
    "content, message",
    [
        ("   8.0000000e+00\n", r"unknown emotion code '8\.0000000e\+00'"),
        ("   2.5000000e+00\n", r"unknown emotion code"),
        ("happy\n", r"not a number: 'happy'"),
        ("", r"expected one emotion code, found an empty file"),
        ("   3.0000000e+00   5.0000000e+00\n", r"found 2 values"),
    ],
)
def test_bad_emotion_file_stops_the_build_naming_the_file_and_fix(tmp_path, content, message):
    manual_dir = _copy_dummy(tmp_path)
    path = next((manual_dir / "Emotion" / "S022" / "003").glob("*_emotion.txt"))
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as error:
        building.build_dataset("ck_plus/fold0", manual_dir, tmp_path / "tfds")
    assert str(path) in str(error.value) and "Fix:" in str(error.value)
    assert not tfds.builder("ck_plus/fold0", data_dir=tmp_path / "tfds").is_prepared()


def test_missing_or_incomplete_manual_dir_says_where_to_get_the_data(tmp_path):
    with pytest.raises(AssertionError, match="(?s)does not exist or is empty.*agree"):
        building.build_dataset("ck_plus/fold0", tmp_path / "nowhere", tmp_path / "tfds")
    (tmp_path / "half" / "cohn-kanade-images").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="(?s)No Emotion/ folder.*Emotion_labels"):
        building.build_dataset("ck_plus/fold0", tmp_path / "half", tmp_path / "tfds")
    (tmp_path / "other" / "Emotion").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="No cohn-kanade-images/ folder"):
        building.build_dataset("ck_plus/fold0", tmp_path / "other", tmp_path / "tfds")


def _blank(path: Path) -> None:
    """Overwrites an image with flat gray of its own size and channels: no face in it."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert cv2.imwrite(str(path), np.full_like(image, 128))


def test_generated_tiny_layout_builds_to_the_independent_count(tmp_path):
    manual_dir = tmp_path / "raw"
    summary = ck_plus_layout.write_ck_plus_layout(
        manual_dir, seed=4, **ck_plus_layout.PRESETS["tiny"]
    )
    expected = _raw_examples(manual_dir)
    assert len(expected) == summary["images"]
    # The layout draws a face in every image; this test takes the one out of
    # one image, so it knows which images have a face without asking the builder.
    faceless = expected[0]
    _blank(_frame_path(manual_dir, *faceless[:3]))
    builder = building.build_dataset("ck_plus/fold0", manual_dir, tmp_path / "tfds")
    report = building.read_build_report(builder)
    no_face = [p for split in report.values() for p in split["no_face_images"]]
    assert no_face == [str(_frame_path(manual_dir, *faceless[:3]))]
    got = _keys(_records(builder, "train")) + _keys(_records(builder, "test"))
    assert sorted(got) == sorted(expected[1:])


def test_command_lines_end_to_end(tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", *args], capture_output=True, text=True, timeout=120
        )

    raw, data_dir = tmp_path / "raw", tmp_path / "tfds"
    made = run("affect_jax.synthetic", "--dataset=ck_plus", f"--out={raw}", "--preset=tiny")
    assert made.returncode == 0, made.stderr
    built = run(
        "affect_jax.build",
        "--dataset=ck_plus/fold1",
        f"--manual_dir={raw}",
        f"--data_dir={data_dir}",
    )
    assert built.returncode == 0, built.stderr
    # Counts from the raw files (every synthetic image has a face): fold 1 tests
    # on the subjects dealt to it, and trains on all the others.
    rows = _raw_examples(raw)
    fold_of = folds.assign_folds({r[0] for r in rows})
    tested = sum(fold_of[r[0]] == 1 for r in rows)
    assert 0 < tested < len(rows)
    assert f"train: {len(rows) - tested} examples" in built.stdout, built.stdout
    assert f"test: {tested} examples" in built.stdout, built.stdout

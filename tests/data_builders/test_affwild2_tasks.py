"""The affwild2 expr, au and multitask configs, checked against the raw files.

Expected records are read from the annotation files and image folders here,
without the builder's code, and compared record by record.
"""

import collections
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds

from affect_jax.data import building
from affect_jax.synthetic import affwild2_layout
from data_builders.affwild2 import affwild2, make_dummy_data, tasks

DUMMY_DATA = make_dummy_data.DUMMY_DATA
EXPRESSIONS = ["Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other"]
AUS = "AU1 AU2 AU4 AU6 AU7 AU10 AU12 AU15 AU20 AU23 AU24 AU25 AU26".split()
# Task -> (ABAW 2020 folder, later folder); split -> (2020 folder, later folder).
FOLDERS = {
    "va": ("VA_Set", "VA_Estimation_Challenge"),
    "expression": ("EXPR_Set", "EXPR_Recognition_Challenge"),
    "au": ("AU_Set", "AU_Detection_Challenge"),
}
SPLITS = {"train": ("Training_Set", "Train_Set"), "validation": ("Validation_Set",) * 2}
LATER_EXPR_HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"
LATER_AU_HEADER = "AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26"


def _raw_labels(manual_dir: Path, task: str) -> dict[str, dict[tuple[str, int], object]]:
    """{split: {(video, frame): label}} of frames with an image and a label."""
    found = {}
    for split, split_folders in SPLITS.items():
        labels = {}
        for release in (0, 1):
            folder = manual_dir / "annotations" / FOLDERS[task][release] / split_folders[release]
            for path in sorted(folder.glob("*.txt")):
                header, *lines = path.read_text().splitlines()
                names = header.split(",")
                for number, line in enumerate(lines, start=1):
                    values = [float(x) for x in line.split(",")]
                    image = manual_dir / "cropped_aligned" / path.stem / f"{number:05d}.jpg"
                    if (-5.0 if task == "va" else -1.0) in values or not image.exists():
                        continue
                    if task == "expression":
                        label = int(values[0])
                    elif task == "au":
                        label = {name: int(v) for name, v in zip(names, values, strict=True)}
                    else:
                        label = tuple(values)
                    labels[(path.stem, number)] = label
        found[split] = labels
    return found


def _records(builder, split: str) -> list[dict]:
    source = builder.as_data_source(split)
    return [source[i] for i in range(len(source))]


def _key(record: dict) -> tuple[str, int]:
    return record["video"].decode(), int(record["frame"])


def _check_expression(records: list[dict], expected: dict) -> None:
    assert [_key(r) for r in records] == sorted(expected)
    assert [r["expression"] for r in records] == [expected[_key(r)] for r in records]


def _check_aus(records: list[dict], expected: dict) -> None:
    assert [_key(r) for r in records] == sorted(expected)
    for record in records:
        label = expected[_key(record)]
        want = [label.get(name, -1) for name in AUS]
        assert record["aus"].tolist() == want, _key(record)
        assert record["au_mask"].tolist() == [name in label for name in AUS]


def _check_multitask(records: list[dict], raw: dict[str, dict]) -> None:
    keys = sorted(set().union(*(labels.keys() for labels in raw.values())))
    assert [_key(r) for r in records] == keys
    for record in records:
        key = _key(record)
        assert record["has_va"] == (key in raw["va"])
        assert record["has_expression"] == (key in raw["expression"])
        assert record["has_au"] == (key in raw["au"])
        va = raw["va"].get(key, (-5.0, -5.0))
        np.testing.assert_allclose([record["valence"], record["arousal"]], va, atol=1e-6)
        assert record["expression"] == raw["expression"].get(key, -1)
        au = raw["au"].get(key, {})
        assert record["aus"].tolist() == [au.get(name, -1) for name in AUS]
        assert record["au_mask"].tolist() == [name in au for name in AUS]


def _expected_report_labels(raw: dict, task: str) -> dict:
    counts = {"frames": len(raw)}
    if task == "expression":
        by_class = collections.Counter(raw.values())
        counts.update({EXPRESSIONS[c]: n for c, n in sorted(by_class.items())})
    elif task == "au":
        annotated = {name for label in raw.values() for name in label}
        for name in (n for n in AUS if n in annotated):
            counts[name] = sum(label.get(name) == 1 for label in raw.values())
    return counts


@pytest.fixture(scope="module")
def dummy_data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tfds")


@pytest.mark.parametrize("config", ["expr", "au", "multitask"])
def test_dummy_data_builds_to_the_raw_files(dummy_data_dir, config):
    builder = building.build_dataset(f"affwild2/{config}", DUMMY_DATA, dummy_data_dir)
    expected = make_dummy_data.EXPECTED_BY_CONFIG[config]
    assert {s: i.num_examples for s, i in builder.info.splits.items()} == expected
    raw = {task: _raw_labels(DUMMY_DATA, task) for task in FOLDERS}
    report = building.read_build_report(builder)
    for split in SPLITS:
        records = _records(builder, split)
        if config == "expr":
            _check_expression(records, raw["expression"][split])
        elif config == "au":
            _check_aus(records, raw["au"][split])
        else:
            _check_multitask(records, {task: raw[task][split] for task in FOLDERS})
        for task in builder.builder_config.tasks:
            want = _expected_report_labels(raw[task][split], task)
            assert report[split]["labels"][task] == want
    # Reasons, counted by hand from the table in make_dummy_data's docstring.
    dropped = {
        "expr": ({"unannotated": 2, "no_image": 1}, {"unannotated": 1, "no_image": 1}),
        "au": ({"unannotated": 1, "no_image": 1}, {"unannotated": 1}),
        "multitask": ({"unannotated": 1, "no_image": 2}, {"no_image": 1}),
    }[config]
    assert (report["train"]["dropped"], report["validation"]["dropped"]) == dropped


def test_features_and_class_names_survive_reloading(dummy_data_dir):
    building.build_dataset("affwild2/multitask", DUMMY_DATA, dummy_data_dir)
    reloaded = tfds.builder("affwild2/multitask", data_dir=dummy_data_dir)
    features = reloaded.info.features
    assert features["expression"].names == EXPRESSIONS
    assert list(tasks.AU_NAMES) == AUS
    assert features["aus"].shape == (13,) and features["aus"].np_dtype == np.int8
    assert features["au_mask"].np_dtype == np.bool_ and features["has_va"].np_dtype == np.bool_
    record = reloaded.as_data_source("validation")[0]
    assert isinstance(record["has_va"], (bool, np.bool_))
    assert [c.name for c in affwild2.Affwild2.BUILDER_CONFIGS] == ["va", "expr", "au", "multitask"]


def test_generated_layout_with_all_tasks_builds_every_config(tmp_path):
    raw_dir = tmp_path / "raw"
    summary = affwild2_layout.write_affwild2_layout(
        raw_dir,
        seed=4,
        tasks=("va", "expr", "au"),
        num_train_videos=6,
        num_validation_videos=4,
        frames_per_video=(20, 30),
    )
    assert any(name.endswith("_left") for name in summary["videos"])
    raw = {task: _raw_labels(raw_dir, task) for task in FOLDERS}
    usable = {"va": "usable_frames", "expression": "expr_usable_frames", "au": "au_usable_frames"}
    for config, task in [("va", "va"), ("expr", "expression"), ("au", "au"), ("multitask", None)]:
        builder = building.build_dataset(f"affwild2/{config}", raw_dir, tmp_path / "tfds")
        for split, counts in summary["splits"].items():
            records = _records(builder, split)
            if task is None:
                assert len(records) == counts["multitask_usable_frames"]
                _check_multitask(records, {t: raw[t][split] for t in FOLDERS})
            else:
                assert len(records) == len(raw[task][split]) == counts[usable[task]]
    for split in SPLITS:  # Every quirk present: -1 stretches, missing files.
        assert summary["splits"][split]["expr_unannotated_rows"] > 0
        assert summary["splits"][split]["au_unannotated_rows"] > 0
        assert len(raw["au"][split]) < len(raw["va"][split])


def _copy_dummy(tmp_path: Path) -> Path:
    manual_dir = tmp_path / "raw"
    shutil.copytree(DUMMY_DATA, manual_dir)
    return manual_dir


def _to_later_release(manual_dir: Path) -> None:
    """Renames the folders as later releases do and uses their headers."""
    annotations = manual_dir / "annotations"
    for old, new in FOLDERS.values():
        (annotations / old).rename(annotations / new)
        (annotations / new / "Training_Set").rename(annotations / new / "Train_Set")
    for path in (annotations / "EXPR_Recognition_Challenge").rglob("*.txt"):
        lines = path.read_text().splitlines()
        lines[0] = LATER_EXPR_HEADER
        path.write_text("\n".join(lines).replace("\n6", "\n7") + "\n")  # A class 7, "Other".
    for path in (annotations / "AU_Detection_Challenge").rglob("*.txt"):
        # 8 values -> 12: AU1 AU2 AU4 AU6, then AU7=AU6, AU10=AU12, AU12 AU15,
        # AU23=AU15, AU24=0, AU25, AU26=AU25 (AU20 is gone).
        header, *lines = path.read_text().splitlines()
        rows = [LATER_AU_HEADER]
        for line in lines:
            v = line.split(",")
            if v[0] == "-1":
                rows.append(",".join(["-1"] * 12))
            else:
                rows.append(",".join([*v[:4], v[3], v[4], v[4], v[5], v[5], "0", v[7], v[7]]))
        path.write_text("\n".join(rows) + "\n")


def test_later_release_folders_and_headers(tmp_path):
    manual_dir = _copy_dummy(tmp_path)
    _to_later_release(manual_dir)
    raw = {task: _raw_labels(manual_dir, task) for task in FOLDERS}
    assert 7 in raw["expression"]["train"].values()
    builder = building.build_dataset("affwild2/multitask", manual_dir, tmp_path / "tfds")
    assert {s: i.num_examples for s, i in builder.info.splits.items()} == (
        make_dummy_data.EXPECTED_BY_CONFIG["multitask"]
    )
    for split in SPLITS:
        _check_multitask(_records(builder, split), {t: raw[t][split] for t in FOLDERS})
    report = building.read_build_report(builder)["train"]
    assert report["labels"]["expression"]["Other"] == 1
    assert "AU20" not in report["labels"]["au"] and "AU26" in report["labels"]["au"]
    au = building.build_dataset("affwild2/au", manual_dir, tmp_path / "tfds")
    mask = _records(au, "train")[0]["au_mask"]
    assert [n for n, m in zip(AUS, mask, strict=True) if m] == LATER_AU_HEADER.split(",")


def _replace_line(path: Path, line_number: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[line_number - 1] = text
    path.write_text("\n".join(lines) + "\n")


_EXPR_FILE = ("EXPR_Set", "Training_Set", "1-30-640x480")
_AU_FILE = ("AU_Set", "Validation_Set", "video7")


@pytest.mark.parametrize(
    "config, file, line_number, text, message",
    [
        ("expr", _EXPR_FILE, 1, "neutral,anger", r"line 1: the header must be exactly one of "
         r"'Neutral,.*,Surprise' or 'Neutral,.*,Surprise,Other', found 'neutral,anger'"),
        ("expr", _EXPR_FILE, 3, "9", r"line 3: 9 is outside \[0, 6\]"),
        ("expr", _EXPR_FILE, 4, "happy", r"line 4: not a number: 'happy'"),
        ("expr", _EXPR_FILE, 5, "2.5", r"line 5: 2.5 is not a whole number"),
        ("expr", _EXPR_FILE, 6, "1,2", r"line 6: expected 1 comma-separated values"),
        ("au", _AU_FILE, 1, "AU1,AU2", r"line 1: the header must be exactly one of "
         r"'AU1,AU2,AU4,AU6,AU12,AU15,AU20,AU25' or 'AU1,.*,AU26'"),
        ("au", _AU_FILE, 2, "0,0,0,2,0,0,0,0", r"line 2: 2 is outside \[0, 1\]"),
        ("au", _AU_FILE, 3, "0,0,x,0,0,0,0,0", r"line 3: not a number"),
        ("au", _AU_FILE, 4, "0,1,0", r"line 4: expected 8 comma-separated values"),
        ("multitask", _AU_FILE, 5, "1,1,1,1,1,1,1,-2", r"line 5: -2 is outside \[0, 1\]"),
    ],
)  # fmt: skip
def test_bad_annotation_stops_the_build_naming_file_and_line(
    tmp_path, config, file, line_number, text, message
):
    task_folder, split_folder, video = file
    path = _copy_dummy(tmp_path) / "annotations" / task_folder / split_folder / f"{video}.txt"
    _replace_line(path, line_number, text)
    with pytest.raises(ValueError, match=message) as error:
        building.build_dataset(f"affwild2/{config}", tmp_path / "raw", tmp_path / "tfds")
    assert f"{path}, line {line_number}:" in str(error.value) and "Fix:" in str(error.value)
    assert not tfds.builder(f"affwild2/{config}", data_dir=tmp_path / "tfds").is_prepared()


def test_video_in_different_splits_per_task_keeps_each_files_split(tmp_path):
    manual_dir = _copy_dummy(tmp_path)
    expr = manual_dir / "annotations" / "EXPR_Set"
    (expr / "Validation_Set" / "video7.txt").rename(expr / "Training_Set" / "video7.txt")
    builder = building.build_dataset("affwild2/multitask", manual_dir, tmp_path / "tfds")
    raw = {task: _raw_labels(manual_dir, task) for task in FOLDERS}
    for split in SPLITS:
        _check_multitask(_records(builder, split), {t: raw[t][split] for t in FOLDERS})
    train_video7 = [r for r in _records(builder, "train") if r["video"] == b"video7"]
    assert len(train_video7) == 4 and all(r["has_expression"] for r in train_video7)
    assert not any(r["has_va"] or r["has_au"] for r in train_video7)
    assert not any(r["has_expression"] for r in _records(builder, "validation"))
    report = building.read_build_report(builder)
    assert report["train"]["videos_in_several_splits"] == ["video7"]
    assert report["validation"]["videos_in_several_splits"] == ["video7"]


def test_missing_task_folders(tmp_path):
    manual_dir = _copy_dummy(tmp_path)
    shutil.rmtree(manual_dir / "annotations" / "AU_Set")
    with pytest.raises(FileNotFoundError, match="(?s)AU_Set/Training_Set.*End User License"):
        building.build_dataset("affwild2/au", manual_dir, tmp_path / "tfds")
    # Multitask builds from the tasks it finds, and says which were missing.
    builder = building.build_dataset("affwild2/multitask", manual_dir, tmp_path / "tfds")
    records = _records(builder, "train")
    assert records and not any(r["has_au"] for r in records)
    assert all(r["aus"].tolist() == [-1] * 13 for r in records)
    assert building.read_build_report(builder)["train"]["annotation_folders"]["au"] is None


def test_expression_file_without_images_is_counted(tmp_path):
    manual_dir = _copy_dummy(tmp_path)
    ghost = manual_dir / "annotations" / "EXPR_Set" / "Validation_Set" / "video9_right.txt"
    ghost.write_text(f"{make_dummy_data.EXPR_HEADER}\n0\n-1\n4\n")
    builder = building.build_dataset("affwild2/expr", manual_dir, tmp_path / "tfds")
    report = building.read_build_report(builder)["validation"]
    assert report["videos_without_image_folder"] == ["video9_right"]
    assert report["dropped"] == {"unannotated": 1, "no_image": 1, "no_image_folder": 3}
    assert builder.info.splits["validation"].num_examples == 4

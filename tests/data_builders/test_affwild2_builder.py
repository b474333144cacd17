"""The affwild2 TFDS builder, built through affect_jax.build on tiny raw layouts."""

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow_datasets as tfds

from affect_jax.data import building, sources
from affect_jax.synthetic import affwild2_layout
from data_builders import example_encoder
from data_builders.affwild2 import affwild2, frames, make_dummy_data, streaming_writer

DUMMY_DATA = make_dummy_data.DUMMY_DATA
_SPLIT_DIRS = {"train": "Training_Set", "validation": "Validation_Set"}


def _raw_examples(manual_dir: Path, task: str = "VA_Set", folders=_SPLIT_DIRS) -> dict:
    """What a correct build holds, read from the raw files without the builder's code.

    Returns {split: [(video, frame, valence, arousal), ...]} in video, frame order.
    """
    expected = {}
    for split, folder in folders.items():
        rows = []
        for path in sorted((manual_dir / "annotations" / task / folder).glob("*.txt")):
            for number, line in enumerate(path.read_text().splitlines()[1:], start=1):
                v, a = (float(x) for x in line.split(","))
                image = manual_dir / "cropped_aligned" / path.stem / f"{number:05d}.jpg"
                if -5.0 not in (v, a) and image.exists():
                    rows.append((path.stem, number, v, a))
        expected[split] = rows
    return expected


def _records(builder, split: str) -> list[dict]:
    source = builder.as_data_source(split)
    return [source[i] for i in range(len(source))]


def _copy_dummy(tmp_path: Path) -> Path:
    manual_dir = tmp_path / "raw"
    shutil.copytree(DUMMY_DATA, manual_dir)
    return manual_dir


@pytest.fixture(scope="module")
def dummy_builder(tmp_path_factory):
    return building.build_dataset("affwild2/va", DUMMY_DATA, tmp_path_factory.mktemp("tfds"))


def test_dummy_data_counts_match_the_raw_files(dummy_builder):
    expected = _raw_examples(DUMMY_DATA)
    assert {s: len(rows) for s, rows in expected.items()} == make_dummy_data.EXPECTED_EXAMPLES
    for split, rows in expected.items():
        assert dummy_builder.info.splits[split].num_examples == len(rows)
    report = building.read_build_report(dummy_builder)
    assert report["train"]["dropped"] == {"unannotated": 2, "no_image": 2}
    assert report["validation"]["dropped"] == {}
    assert report["train"]["annotation_lines"] == 12


def test_features_shapes_dtypes_values_and_order(dummy_builder):
    assert dummy_builder.info.disable_shuffling
    assert dummy_builder.info.file_format == tfds.core.FileFormat.ARRAY_RECORD
    for split, rows in _raw_examples(DUMMY_DATA).items():
        records = _records(dummy_builder, split)
        # Record order is video order, then frame order: what the RNN stage needs.
        got = [(r["video"].decode(), int(r["frame"]), r["valence"], r["arousal"]) for r in records]
        assert [g[:2] for g in got] == [row[:2] for row in rows]
        np.testing.assert_allclose([g[2:] for g in got], [row[2:] for row in rows], atol=1e-6)
        for record, (video, frame, _, _) in zip(records, rows, strict=True):
            image = record["image"]
            assert image.shape == (96, 96, 1) and image.dtype == np.uint8
            color = cv2.imread(str(DUMMY_DATA / "cropped_aligned" / video / f"{frame:05d}.jpg"))
            # PNG is lossless: the stored pixels are exactly the preprocessed frame.
            np.testing.assert_array_equal(image[..., 0], frames.to_model_input(color))
            assert isinstance(record["video"], bytes)
    first = _records(dummy_builder, "train")[0]
    # Scalars come back as Python numbers holding the stored float32 / int32.
    assert first["valence"] == np.float32(0.1) and first["arousal"] == np.float32(0.2)
    assert first["frame"] == 1 and isinstance(first["frame"], int)


def test_generated_tiny_layout_builds_to_the_independent_count(tmp_path):
    manual_dir = tmp_path / "raw"
    summary = affwild2_layout.write_affwild2_layout(
        manual_dir, seed=5, **affwild2_layout.PRESETS["tiny"]
    )
    builder = building.build_dataset("affwild2/va", manual_dir, tmp_path / "tfds")
    for split, rows in _raw_examples(manual_dir).items():
        assert builder.info.splits[split].num_examples == len(rows)
        assert len(rows) == summary["splits"][split]["usable_frames"]
        assert [(r["video"].decode(), int(r["frame"])) for r in _records(builder, split)] == [
            row[:2] for row in rows
        ]


def test_later_release_folder_names_are_accepted(tmp_path):
    manual_dir = _copy_dummy(tmp_path)
    annotations = manual_dir / "annotations"
    (annotations / "VA_Set").rename(annotations / "VA_Estimation_Challenge")
    challenge = annotations / "VA_Estimation_Challenge"
    (challenge / "Training_Set").rename(challenge / "Train_Set")
    builder = building.build_dataset("affwild2/va", manual_dir, tmp_path / "tfds")
    assert {s: i.num_examples for s, i in builder.info.splits.items()} == (
        make_dummy_data.EXPECTED_EXAMPLES
    )


def _break_line(manual_dir: Path, line_number: int, text: str) -> Path:
    path = manual_dir / "annotations" / "VA_Set" / "Training_Set" / "video3_left.txt"
    lines = path.read_text().splitlines()
    lines[line_number - 1] = text
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "line_number, text, message",
    [
        (1, "Valence,Arousal", r"line 1: the header must be exactly 'valence,arousal'"),
        (4, "0.1;0.2", r"line 4: expected 2 comma-separated values"),
        (4, "0.1,abc", r"line 4: not a number: '0.1,abc'"),
        (5, "0.1,1.5", r"line 5: 1.5 is outside \[-1, 1\]"),
        (3, "nan,0.2", r"line 3: NaN"),
    ],
)
def test_bad_annotation_stops_the_build_naming_file_line_and_fix(
    tmp_path, line_number, text, message
):
    path = _break_line(_copy_dummy(tmp_path), line_number, text)
    with pytest.raises(ValueError, match=message) as error:
        building.build_dataset("affwild2/va", tmp_path / "raw", tmp_path / "tfds")
    assert str(path) in str(error.value) and "Fix:" in str(error.value)
    assert not tfds.builder("affwild2/va", data_dir=tmp_path / "tfds").is_prepared()


def test_missing_or_empty_manual_dir_says_where_to_get_the_data(tmp_path):
    with pytest.raises(AssertionError, match="does not exist or is empty") as error:
        building.build_dataset("affwild2/va", tmp_path / "nowhere", tmp_path / "tfds")
    assert "End User License" in str(error.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(AssertionError, match="End User License"):
        building.build_dataset("affwild2/va", tmp_path / "empty", tmp_path / "tfds")
    (tmp_path / "half" / "cropped_aligned").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="(?s)VA_Set/Training_Set.*End User License"):
        building.build_dataset("affwild2/va", tmp_path / "half", tmp_path / "tfds")


def test_video_without_images_is_counted_and_corrupt_jpg_listed_and_skipped(tmp_path):
    manual_dir = _copy_dummy(tmp_path)
    ghost = manual_dir / "annotations" / "VA_Set" / "Validation_Set" / "ghost.txt"
    ghost.write_text("valence,arousal\n0.1,0.1\n0.2,0.2\n0.3,0.3\n")
    corrupt = manual_dir / "cropped_aligned" / "video7" / "00002.jpg"
    corrupt.write_bytes(b"\xff\xd8 this is not a JPEG")
    builder = building.build_dataset("affwild2/va", manual_dir, tmp_path / "tfds")
    expected = make_dummy_data.EXPECTED_EXAMPLES
    assert builder.info.splits["train"].num_examples == expected["train"]
    assert builder.info.splits["validation"].num_examples == expected["validation"] - 1
    report = building.read_build_report(builder)["validation"]
    assert report["videos_without_image_folder"] == ["ghost"]
    assert report["dropped"] == {"no_image_folder": 3, "corrupt_image": 1}
    assert report["corrupt_images"] == [str(corrupt)]
    assert 2 not in [int(r["frame"]) for r in _records(builder, "validation")]


def test_interrupted_build_is_never_taken_as_complete_and_rerun_finishes(tmp_path, monkeypatch):
    data_dir = tmp_path / "tfds"
    real_encode, calls = frames.read_frame, []

    def encode_then_die(path):
        calls.append(path)
        if len(calls) > 6:
            raise RuntimeError("simulated interruption")
        return real_encode(path)

    monkeypatch.setattr(frames, "read_frame", encode_then_die)
    monkeypatch.setattr(affwild2, "DECODE_WORKERS", 0)  # Die exactly in the generator.
    with pytest.raises(RuntimeError, match="simulated interruption"):
        building.build_dataset("affwild2/va", DUMMY_DATA, data_dir)
    assert not tfds.builder("affwild2/va", data_dir=data_dir).is_prepared()
    # Never a partial dataset: what the training stages open says it is not built.
    with pytest.raises(sources.DatasetNotBuiltError, match="--dataset=affwild2/va"):
        sources.open_split("affwild2/va", str(data_dir), "train")
    # A killed (not interrupted) build leaves its folder behind: still ignored.
    stale = data_dir / "affwild2" / "va" / "incomplete.ABCDEF_2.0.0"
    stale.mkdir(parents=True, exist_ok=True)
    (stale / "affwild2-train.array_record-00000-of-00001").write_bytes(b"partial")
    assert not tfds.builder("affwild2/va", data_dir=data_dir).is_prepared()

    monkeypatch.setattr(frames, "read_frame", real_encode)
    builder = building.build_dataset("affwild2/va", DUMMY_DATA, data_dir)
    assert builder.is_prepared()
    assert len(tfds.data_source("affwild2/va", data_dir=data_dir, split="train")) == 8


def test_prepared_dataset_is_reused_not_rebuilt(dummy_builder, monkeypatch):
    monkeypatch.setattr(frames, "read_frame", lambda path: pytest.fail("rebuilt"))
    again = building.build_dataset("affwild2/va", DUMMY_DATA, dummy_builder.data_dir_root)
    assert again.info.splits["train"].num_examples == 8


def test_streaming_writer_shards_and_matches_tfds_writer(tmp_path, monkeypatch):
    monkeypatch.setattr(streaming_writer, "SHARD_BYTES", 20_000)
    ours = building.build_dataset("affwild2/va", DUMMY_DATA, tmp_path / "ours")
    assert ours.info.splits["train"].num_shards > 1
    # TFDS's own (in-memory, sorting) writer, usable on data this small.
    monkeypatch.setattr(
        affwild2.Affwild2, "_generate_splits", tfds.core.GeneratorBasedBuilder._generate_splits
    )
    theirs = building.build_dataset("affwild2/va", DUMMY_DATA, tmp_path / "theirs")
    for split in ("train", "validation"):
        for a, b in zip(_records(ours, split), _records(theirs, split), strict=True):
            assert a.keys() == b.keys()
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])


def test_multitask_records_match_tfds_writer_field_for_field(tmp_path, monkeypatch):
    """Class labels, int8 and bool tensors, presence flags: our encoder writes what
    TFDS's encode_example + serializer would, read back through TFDS."""
    raw = tmp_path / "raw"
    affwild2_layout.write_affwild2_layout(
        raw, seed=3, tasks=("va", "expr", "au"), **affwild2_layout.PRESETS["tiny"]
    )
    ours = building.build_dataset("affwild2/multitask", raw, tmp_path / "ours")
    monkeypatch.setattr(example_encoder, "example_encoder", lambda features: None)
    theirs = building.build_dataset("affwild2/multitask", raw, tmp_path / "theirs")
    for split in ("train", "validation"):
        ours_records, theirs_records = _records(ours, split), _records(theirs, split)
        assert len(ours_records) == len(theirs_records) > 0
        for a, b in zip(ours_records, theirs_records, strict=True):
            assert a.keys() == b.keys()
            for key in a:
                assert type(a[key]) is type(b[key]), key
                np.testing.assert_array_equal(a[key], b[key])
                if isinstance(a[key], np.ndarray):
                    assert a[key].dtype == b[key].dtype, key


def test_the_encoder_refuses_what_the_features_do_not_hold(dummy_builder):
    encode = example_encoder.example_encoder(dummy_builder.info.features)
    good = {"image": np.zeros((96, 96, 1), np.uint8), "valence": 0.5, "arousal": -0.25,
            "video": "v", "frame": 3}  # fmt: skip
    assert isinstance(encode(good), bytes)
    with pytest.raises(ValueError, match=r"image: shape \(96, 96\)"):
        encode({**good, "image": np.zeros((96, 96), np.uint8)})
    with pytest.raises(ValueError, match="frame: float64 values for a int32 feature"):
        encode({**good, "frame": 2.5})
    with pytest.raises(ValueError, match="Example fields"):
        encode({key: value for key, value in good.items() if key != "video"})


def test_registered_info_and_default_config_like_the_tfds_harness(dummy_builder):
    # What tfds.testing.DatasetBuilderTestCase checks, minus its TensorFlow parts.
    assert "affwild2" in tfds.list_builders(with_community_datasets=False)
    assert dummy_builder.info.name == "affwild2"
    assert dummy_builder.builder_config.name == "va"
    assert "Kollias" in dummy_builder.info.citation
    reloaded = tfds.builder("affwild2/va", data_dir=dummy_builder.data_dir_root)
    assert reloaded.info.splits["validation"].num_examples == 5
    train = {r["image"].tobytes() for r in _records(reloaded, "train")}
    assert train.isdisjoint(r["image"].tobytes() for r in _records(reloaded, "validation"))


# tfds.testing.DatasetBuilderTestCase (TFDS's builder harness) cannot run
# without TensorFlow: it subclasses tf.test.TestCase, imports `dill`, and reads
# back through builder.as_dataset (tf.data), which ArrayRecord, the only format
# writable without TensorFlow, does not support. The test above makes its
# checks without TensorFlow.


def test_command_lines_end_to_end(tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", *args], capture_output=True, text=True, timeout=120
        )

    raw, data_dir = tmp_path / "raw", tmp_path / "tfds"
    made = run("affect_jax.synthetic", f"--out={raw}", "--preset=tiny", "--seed=2")
    assert made.returncode == 0, made.stderr
    built = run(
        "affect_jax.build", "--dataset=affwild2/va", f"--manual_dir={raw}", f"--data_dir={data_dir}"
    )
    assert built.returncode == 0, built.stderr
    counts = {s: len(rows) for s, rows in _raw_examples(raw).items()}
    assert f"train: {counts['train']} examples" in built.stdout
    assert f"validation: {counts['validation']} examples" in built.stdout
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("keep me")
    refused = run("affect_jax.synthetic", f"--out={tmp_path / 'foreign'}", "--preset=tiny")
    assert refused.returncode != 0 and "refusing" in refused.stderr
    assert (tmp_path / "foreign" / "notes.txt").read_text() == "keep me"


def _files(root: Path, *folders: str) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in folders
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    }


def test_synthetic_expression_and_au_files_leave_the_va_release_unchanged(tmp_path):
    kwargs = dict(num_train_videos=3, num_validation_videos=2, frames_per_video=(10, 14), seed=6)
    only_va = affwild2_layout.write_affwild2_layout(tmp_path / "va", **kwargs)
    every = affwild2_layout.write_affwild2_layout(
        tmp_path / "all", tasks=("va", "expr", "au"), **kwargs
    )
    kept = ("cropped_aligned", "annotations/VA_Set")
    assert _files(tmp_path / "va", *kept) == _files(tmp_path / "all", *kept)
    assert not (tmp_path / "va" / "annotations" / "EXPR_Set").exists()
    for split in _SPLIT_DIRS:
        assert every["splits"][split]["usable_frames"] == only_va["splits"][split]["usable_frames"]
    # The rule, both ways: Happiness exactly where valence >= 0.2 and arousal
    # < 0.6, and AU12 exactly where valence > 0.25, on the written VA line.
    checked = {"happiness": 0, "other expression": 0, "au12": 0}
    for path in (tmp_path / "all" / "annotations" / "EXPR_Set").rglob("*.txt"):
        va = (path.parents[2] / "VA_Set" / path.parent.name / path.name).read_text()
        au = path.parents[2] / "AU_Set" / path.parent.name / path.name
        expression = path.read_text().splitlines()
        assert expression[0] == "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise"
        au_lines = au.read_text().splitlines() if au.exists() else []
        for row, line in enumerate(va.splitlines()[1:], start=1):
            v, a = (float(x) for x in line.split(","))
            if expression[row] != "-1" and v != -5:  # -5: no VA line to follow.
                happy = v >= 0.2 and a < 0.6
                assert (expression[row] == "4") == happy, (path.name, row, v, a)
                checked["happiness" if happy else "other expression"] += 1
            if au_lines and au_lines[row] != ",".join(["-1"] * 8) and v != -5:
                assert au_lines[row].split(",")[4] == str(int(v > 0.25))  # AU12.
                checked["au12"] += 1
    assert min(checked.values()) > 0, checked
    with pytest.raises(ValueError, match="must include 'va'"):
        affwild2_layout.write_affwild2_layout(tmp_path / "bad", tasks=("expr",), **kwargs)


def test_a_first_build_warns_of_nothing(tmp_path, caplog):
    caplog.set_level("WARNING")
    builder = building.build_dataset("affwild2/va", DUMMY_DATA, tmp_path / "tfds")
    assert builder.is_prepared()
    # TFDS checks a version folder before it exists and would warn that it
    # lacks dataset_info.json: nothing a user could fix.
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []

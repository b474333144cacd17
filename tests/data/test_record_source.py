"""The fast record source gives exactly what TFDS's own source gives, record for record."""

import pickle
from pathlib import Path

import grain
import numpy as np
import pytest
import tensorflow_datasets as tfds
from array_record.python import array_record_module
from tensorflow_datasets.proto import tf_example_generated_pb2

from affect_jax.data import building, record_source, sources
from affect_jax.synthetic import affwild2_layout, jaffe_layout
from data_builders.affwild2 import streaming_writer


def assert_same_record(ours: dict, theirs: dict, where: str) -> None:
    assert ours.keys() == theirs.keys(), where
    for name, want in theirs.items():
        got = ours[name]
        assert type(got) is type(want), (where, name, type(got), type(want))
        if isinstance(want, np.ndarray):
            assert (got.dtype, got.shape) == (want.dtype, want.shape), (where, name)
            assert got.tobytes() == want.tobytes(), (where, name)
        else:
            assert got == want, (where, name)


@pytest.mark.parametrize("split", ["train", "validation", "train[25%:75%]"])
def test_every_multitask_record_matches_tfds(tiny_multitask_affwild2, split):
    builder = sources.open_builder("affwild2/multitask", tiny_multitask_affwild2)
    theirs = builder.as_data_source(split)
    ours = record_source.open_records(builder, split)
    assert isinstance(ours, record_source.RecordSource)  # Not TFDS's source under another name.
    assert len(ours) == len(theirs) > 0
    for index in range(len(theirs)):
        assert_same_record(ours[index], theirs[index], f"{split}[{index}]")


def test_every_png_record_of_jaffe_matches_tfds(tmp_path):
    jaffe_layout.write_jaffe_layout(tmp_path / "raw", seed=0, **jaffe_layout.PRESETS["tiny"])
    builder = building.build_dataset("jaffe/all", tmp_path / "raw", tmp_path / "tfds")
    assert isinstance(builder.info.features["image"], tfds.features.Image)  # The PNG parser.
    theirs = builder.as_data_source("test")
    ours = record_source.open_records(builder, "test")
    assert isinstance(ours, record_source.RecordSource) and len(ours) == len(theirs) > 0
    for index in range(len(theirs)):
        assert_same_record(ours[index], theirs[index], f"jaffe test[{index}]")


def test_an_older_build_is_named_with_how_to_rebuild(tiny_affwild2, tmp_path):
    """Version 1.0.0 stored PNG frames; this affect-jax reads 2.0.0 (raw pixels)."""
    import shutil

    current = Path(sources.open_builder("affwild2/va", tiny_affwild2).data_dir)
    older = tmp_path / "affwild2" / "va" / "1.0.0"
    shutil.copytree(current, older)
    with pytest.raises(
        sources.DatasetNotBuiltError,
        match=r"version 1\.0\.0, built by an older affect-jax; this one reads version "
        r"2\.0\.0.*--dataset=affwild2/va",
    ):
        sources.open_split("affwild2/va", str(tmp_path), "train")


def test_training_and_evaluation_read_through_it(tiny_affwild2):
    opened = sources.open_split("affwild2/va", tiny_affwild2, "validation")
    assert isinstance(opened, record_source.RecordSource) and opened.split == "validation"


def test_indices_run_across_shards_and_survive_pickling(tmp_path, monkeypatch):
    monkeypatch.setattr(streaming_writer, "SHARD_BYTES", 30_000)
    affwild2_layout.write_affwild2_layout(
        tmp_path / "raw", seed=1, **affwild2_layout.PRESETS["tiny"]
    )
    builder = building.build_dataset("affwild2/va", tmp_path / "raw", tmp_path / "tfds")
    split = "train[10%:90%]"
    assert len(builder.info.splits["train"].shard_lengths) >= 4
    theirs = builder.as_data_source(split)
    ours = pickle.loads(pickle.dumps(record_source.open_records(builder, split)))
    assert len(ours) == len(theirs)
    order = np.random.default_rng(0).permutation(len(theirs))
    for index in order.tolist():
        assert_same_record(ours[index], theirs[index], f"{split}[{index}]")


def test_a_feature_kind_it_does_not_parse_falls_back_to_tfds():
    features = tfds.features.FeaturesDict(
        {
            "frames": tfds.features.Sequence(tfds.features.Scalar(np.int32)),
            "label": tfds.features.ClassLabel(num_classes=3),
        }
    )
    assert record_source.record_parsers(features) is None
    jpeg = tfds.features.FeaturesDict(
        {"image": tfds.features.Image(shape=(8, 8, 1), encoding_format="jpeg")}
    )
    assert record_source.record_parsers(jpeg) is None


def test_a_corrupt_image_names_the_record_and_the_split(tiny_affwild2, tmp_path):
    builder = sources.open_builder("affwild2/va", tiny_affwild2)
    example = tf_example_generated_pb2.Example()
    fields = example.features.feature
    fields["image"].bytes_list.value.append(b"not a png")
    fields["valence"].float_list.value.append(0.5)
    fields["arousal"].float_list.value.append(0.5)
    fields["frame"].int64_list.value.append(1)
    fields["video"].bytes_list.value.append(b"v")
    path = tmp_path / "bad.array_record"
    writer = array_record_module.ArrayRecordWriter(str(path), "group_size:1")
    writer.write(example.SerializeToString())
    writer.close()
    source = record_source.RecordSource(
        grain.sources.ArrayRecordDataSource([str(path)]),
        record_source.record_parsers(builder.info.features),
        builder.info,
        "train",
    )
    with pytest.raises(
        record_source.CorruptRecordError,
        match=r"Record 0 of .*'train'.*pixels are 9 bytes, not the 9216.*Build the dataset again",
    ):
        source[0]

"""Training on class folders and the cross-dataset table: configs/expression_folders_cnn.py."""

import json

import cv2
import numpy as np
import pytest

from affect_jax.config import load_config
from affect_jax.data import building, label_reader, sources
from affect_jax.runtime import ConfigError
from affect_jax.stages import cross_dataset, cross_dataset_report, train
from affect_jax.synthetic import face_folders_layout, jaffe_layout
from affect_jax.tasks import registry
from affect_jax.tasks.labels import CK_PLUS_EMOTIONS
from affect_jax.training import run, sharding

SUBJECTS = {"subject_regex": r"S\d{3}"}
# Held-out people of the training set are `test`; `validation` picks checkpoints.
_FRACTIONS = {"validation_fraction": 0.2, "test_fraction": 0.3}


@pytest.fixture(scope="module")
def expression_sets(tmp_path_factory):
    """(data_dir, other_data_dir): a CK+48-like set and JAFFE, and a FER-like set elsewhere."""
    root = tmp_path_factory.mktemp("expression_folders")
    face_folders_layout.write_face_folders_layout(
        root / "ck48_like",
        subjects=12,
        images_per_class=3,
        classes=("neutral", "happy", "surprise"),
        image_size=48,
        seed=1,
    )
    face_folders_layout.write_face_folders_layout(
        root / "fer_like",
        subjects={"train": 1, "test": 3},
        images_per_class=1,
        classes=("anger", "happy", "surprise"),
        image_size=256,
        cropped=False,
        subject_names=False,
        seed=2,
    )
    jaffe_layout.write_jaffe_layout(root / "jaffe", seed=0, **jaffe_layout.PRESETS["tiny"])
    data_dir, other_dir = root / "tfds", root / "tfds_other"
    building.build_dataset(
        "face_folders/cropped", root / "ck48_like", data_dir, SUBJECTS | _FRACTIONS
    )
    building.build_dataset("jaffe/all", root / "jaffe", data_dir)
    building.build_dataset("face_folders/detect", root / "fer_like", other_dir)
    return str(data_dir), str(other_dir)


def _labels(name: str, data_dir: str, split: str) -> np.ndarray:
    source = sources.open_split(name, data_dir, split)
    return label_reader.read_labels(source, names=("label",))["label"]


@pytest.mark.long(23)
def test_trains_on_class_folders_and_writes_one_table_for_two_targets(expression_sets, tmp_path):
    data_dir, other_dir = expression_sets
    targets = f"jaffe/all:test+fer=face_folders/detect:test@{other_dir}"
    config = load_config("expression_folders_cnn", f"tiny,data_dir={data_dir},targets={targets}")
    # The input BatchNorm's running averages (momentum 0.99) need ~300 steps
    # before evaluation sees what training saw; small batches keep them cheap.
    config.batch_size = 8
    config.model.conv_features = (16, 32, 32)  # As fast here as (8, 16, 16), learns surer.
    config.num_train_steps = 300
    config.eval_every_steps = config.checkpoint_every_steps = 300
    result = train.train_and_evaluate(config, str(tmp_path))

    test_labels = _labels("face_folders/cropped", data_dir, "test")
    majority_share = np.bincount(test_labels).max() / len(test_labels)
    assert result["test_accuracy"] > majority_share + 0.2, (result, majority_share)
    saved = json.loads((tmp_path / "results.json").read_text())  # Strict JSON: no NaN.
    rows = saved["cross_dataset"]
    assert [(r["target"], r["dataset"], r["split"], r["own"]) for r in rows] == [
        ("test", "face_folders/cropped", "test", True),
        ("jaffe", "jaffe/all", "test", False),
        ("fer", "face_folders/detect", "test", False),
    ]
    built = [
        ("face_folders/cropped", data_dir),
        ("jaffe/all", data_dir),
        ("face_folders/detect", other_dir),
    ]
    # The rows' predictions, made again here from the run's final checkpoint
    # (the model the table scored), one eval batch at a time.
    state = run.restore_run_state(tmp_path, 300, config, sharding.make_data_mesh())
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    for row, (name, directory) in zip(rows, built, strict=True):
        labels = _labels(name, directory, "test")
        counts = np.bincount(labels, minlength=8)
        source = sources.open_split(name, directory, "test")
        images = np.stack([source[i]["image"] for i in range(len(source))])
        # The recipe equalises every crop's histogram first (config.input.photometric).
        assert config.input.photometric == "equalize"
        images = np.stack([cv2.equalizeHist(image[..., 0])[..., None] for image in images])
        predicted = np.concatenate(
            [
                np.asarray(state.apply_fn(variables, chunk, train=False)).argmax(-1)
                for chunk in np.array_split(images, -(-len(images) // config.eval_batch_size))
            ]
        )
        assert row["accuracy"] == pytest.approx(np.mean(predicted == labels))
        assert row["predicted"] == dict(
            zip(CK_PLUS_EMOTIONS, np.bincount(predicted, minlength=8).tolist(), strict=True)
        )
        for k, class_name in enumerate(CK_PLUS_EMOTIONS):
            if counts[k]:
                recall = np.mean(predicted[labels == k] == k)
                assert row["recall"][class_name] == pytest.approx(recall), class_name
        assert row["counts"] == dict(zip(CK_PLUS_EMOTIONS, counts.tolist(), strict=True))
        assert row["examples"] == len(labels) == sum(row["predicted"].values())
        assert row["accuracy"] == pytest.approx(saved[f"{row['target']}_accuracy"])
        assert [n for n, v in row["recall"].items() if v is None] == [
            n for n, c in zip(CK_PLUS_EMOTIONS, counts, strict=True) if c == 0
        ]
    assert saved["jaffe_recall_2"] is None  # JAFFE has no contempt.
    report = (tmp_path / "cross_dataset.md").read_text()
    expected = [
        "| test (own) | `face_folders/cropped` : test |",
        "| jaffe |",
        "| fer |",
        "## Recall per class",
        "(true / predicted)",
        "plots/confusion_fer.png",
    ]
    for text in expected:
        assert text in report
    for key in ("test", "jaffe", "fer"):
        assert (tmp_path / "plots" / f"confusion_{key}.png").stat().st_size > 10_000


def test_ck_plus_config_is_one_instance_of_the_targets():
    config = load_config("ck_plus_cnn", "data_dir=/data")
    found = cross_dataset.targets_of(config)
    # The paper's Haar boxes on both sides; framing=aligned switches both.
    assert [(t.key, t.dataset, t.split, t.data_dir, t.own) for t in found] == [
        ("test", "ck_plus/fold0_box", "test", "/data", True),
        ("jaffe", "jaffe/all_box", "test", "/data", False),
    ]
    aligned = cross_dataset.targets_of(load_config("ck_plus_cnn", "data_dir=/data,framing=aligned"))
    assert [t.dataset for t in aligned] == ["ck_plus/fold0", "jaffe/all"]
    with pytest.raises(ConfigError, match="framing='tight'"):
        load_config("ck_plus_cnn", "framing=tight")
    # A config saved in a checkpoint before `targets` names its one target.
    config.cross_dataset = {"name": "jaffe/all", "data_dir": "/j", "split": "test"}
    assert [(t.key, t.data_dir) for t in cross_dataset.targets_of(config)] == [("jaffe", "/j")]


def test_target_keys_are_unique_and_malformed_targets_are_named():
    config = load_config(
        "expression_folders_cnn",
        "dataset=jaffe/fold3,targets=face_folders/cropped:test@/a+face_folders/detect:test@/b",
    )
    assert config.dataset.eval_split == "test"
    keys = [t.key for t in cross_dataset.targets_of(config)]
    assert keys == ["test", "face_folders_cropped", "face_folders_detect"]
    config.cross_dataset.targets = ("x=jaffe/all:test", "x=ck_plus/fold0:test")
    with pytest.raises(ValueError, match="Two cross-dataset targets have the key 'x'"):
        cross_dataset.targets_of(config)
    config.cross_dataset.targets = ("jaffe/all",)
    with pytest.raises(ValueError, match=r"'jaffe/all' is not \[key=\]name:split"):
        cross_dataset.targets_of(config)
    assert load_config("expression_folders_cnn").dataset.eval_split == "validation"


def test_markdown_rows_show_missing_classes_as_dashes():
    target = cross_dataset.Target("jaffe", "jaffe/all", "test", "/d")
    labels, predicted = np.array([0, 0, 5, 7]), np.array([0, 5, 5, 7])
    metrics = {"accuracy": 0.75, "f1_macro": 0.7, "loss": 0.5}
    metrics |= {
        f"recall_{i}": v for i, v in enumerate([0.5, *[float("nan")] * 4, 1.0, np.nan, 1.0])
    }
    row = cross_dataset.table_row(target, metrics, labels, predicted, CK_PLUS_EMOTIONS)
    assert row["counts"]["neutral"] == 2 and row["predicted"]["happy"] == 2
    text = cross_dataset_report.markdown([row], trained_on="x", figures={"jaffe": "plots/c.png"})
    assert "| jaffe | `jaffe/all` : test | 4 | 0.750 | 0.700 |" in text
    assert "| 0.500 | — | — | — | — | 1.000 | — | 1.000 |" in text
    assert "| 2 / 1 | 0 / 0 |" in text and "![jaffe](plots/c.png)" in text


def test_targets_labelled_with_other_classes_are_refused_before_predicting(
    expression_sets, tiny_affwild2, tmp_path
):
    data_dir, _ = expression_sets
    config = load_config(
        "expression_folders_cnn",
        f"tiny,data_dir={data_dir},targets=jaffe/all:test+va=affwild2/va:validation@{tiny_affwild2}",
    )
    task = registry.get_task(config)
    config.cross_dataset.own_test_split = ""  # The other datasets only.
    # A model of other classes (same count, another order) against JAFFE's CK+ labels.
    trained_on = config.class_names
    config.class_names = tuple(reversed(trained_on))
    with pytest.raises(ValueError, match=r"jaffe \(jaffe/all\): its labels are \('neutral'"):
        cross_dataset.evaluate_targets(None, None, None, config, task, None, tmp_path)
    # A dataset without expression labels at all (Aff-Wild2's VA records).
    config.class_names = trained_on
    config.cross_dataset.targets = (f"va=affwild2/va:validation@{tiny_affwild2}",)
    with pytest.raises(ValueError, match=r"va \(affwild2/va\): its labels are absent"):
        cross_dataset.evaluate_targets(None, None, None, config, task, None, tmp_path)
    assert not (tmp_path / "cross_dataset.md").exists()  # Nothing half-written.

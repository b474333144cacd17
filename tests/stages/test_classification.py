"""CK+ classification with class balancing, tested cross-dataset on JAFFE."""

import json

import numpy as np
import pytest

from affect_jax.config import load_config
from affect_jax.data import building, label_reader, sources
from affect_jax.stages import inputs as stage_inputs
from affect_jax.stages import train
from affect_jax.synthetic import ck_plus_layout, jaffe_layout


@pytest.fixture(scope="module")
def expression_data(tmp_path_factory):
    """Tiny synthetic CK+ (fold0) and JAFFE, built into one data_dir."""
    root = tmp_path_factory.mktemp("expressions")
    ck_plus_layout.write_ck_plus_layout(root / "ck", seed=0, **ck_plus_layout.PRESETS["tiny"])
    jaffe_layout.write_jaffe_layout(root / "jaffe", seed=0, **jaffe_layout.PRESETS["tiny"])
    building.build_dataset("ck_plus/fold0", root / "ck", root / "tfds")
    building.build_dataset("jaffe/all", root / "jaffe", root / "tfds")
    return str(root / "tfds")


def test_ck_plus_trains_and_reports_jaffe_with_confusion_plots(expression_data, tmp_path):
    config = load_config("ck_plus_cnn", f"tiny,balance=loss_weights,data_dir={expression_data}")
    result = train.train_and_evaluate(config, str(tmp_path))
    jaffe = sources.open_split("jaffe/all", expression_data, "test")
    assert 0.0 <= result["accuracy"] <= 1.0
    assert 0.0 <= result["jaffe_accuracy"] <= 1.0
    assert result["jaffe_loss"] > 0
    assert len(jaffe) > 0
    for name in ("confusion_validation.png", "confusion_jaffe.png"):
        assert (tmp_path / "plots" / name).stat().st_size > 10_000
    saved = json.loads((tmp_path / "results.json").read_text())  # Strict JSON: no NaN.
    assert saved["jaffe_recall_2"] is None  # JAFFE has no contempt.


def test_class_balancing_modes(expression_data):
    config = load_config("ck_plus_cnn", f"tiny,balance=sampling,data_dir={expression_data}")
    train_split = sources.open_split("ck_plus/fold0", expression_data, "train")
    labels = label_reader.read_labels(train_split, names=("label",))["label"]
    sampled = stage_inputs.for_stage(config, "")
    sampled_labels = labels[np.asarray(sampled.train.indices)]
    counts = np.bincount(sampled_labels, minlength=8)
    present = counts[np.bincount(labels, minlength=8) > 0]
    assert present.max() - present.min() <= 1  # Equal per present class.

    config.class_balance = "loss_weights"
    weighted = stage_inputs.for_stage(config, "")
    weights = weighted.class_weights
    frequent, rare = (
        np.argmax(np.bincount(labels)),
        np.argmin(
            np.where(
                np.bincount(labels, minlength=8) > 0, np.bincount(labels, minlength=8), 1 << 30
            )
        ),
    )
    assert weights[rare] > weights[frequent]

    config.class_balance = "oversample"
    with pytest.raises(ValueError, match="none, loss_weights, sampling"):
        stage_inputs.for_stage(config, "")

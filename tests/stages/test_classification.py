"""CK+ classification with class balancing, tested cross-dataset on JAFFE."""

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from absl.testing import flagsaver

from affect_jax import predict
from affect_jax.config import load_config
from affect_jax.data import building, label_reader, sources
from affect_jax.faces.detectors import (
    HaarDetector,
    HogDetector,
    ScaledDetector,
    photo_search_width,
)
from affect_jax.stages import inputs as stage_inputs
from affect_jax.stages import train
from affect_jax.synthetic import ck_plus_layout, jaffe_layout
from affect_jax.tasks import registry
from affect_jax.training import steps

# Twice the tiny preset's people, with more sequences each: fold 0 then holds
# out two people (16 images of neutral, disgust, happy and surprise) and its
# ~150 training images teach the expressions. Frames at half size, 4 per
# sequence (the builder keeps the first and the last three), build in seconds.
CK_PLUS_LAYOUT = dict(
    num_subjects=20, sequences_per_subject=(3, 5), frames_per_sequence=4, image_size=(245, 320)
)


@pytest.fixture(scope="module")
def expression_data(tmp_path_factory):
    """Small synthetic CK+ (fold0) and JAFFE, built into one data_dir."""
    root = tmp_path_factory.mktemp("expressions")
    ck_plus_layout.write_ck_plus_layout(root / "ck", seed=0, **CK_PLUS_LAYOUT)
    jaffe_layout.write_jaffe_layout(root / "jaffe", seed=0, **jaffe_layout.PRESETS["tiny"])
    building.build_dataset("ck_plus/fold0_box", root / "ck", root / "tfds")
    building.build_dataset("jaffe/all_box", root / "jaffe", root / "tfds")
    return str(root / "tfds")


def _split(name: str, data_dir: str, split: str) -> tuple[np.ndarray, set[bytes]]:
    """(labels, subjects) of a split."""
    source = sources.open_split(name, data_dir, split)
    labels = label_reader.read_labels(source, names=("label",))["label"]
    return labels, {source[i]["subject"] for i in range(len(source))}


def _majority_share(labels: np.ndarray) -> float:
    """The accuracy of always answering the split's commonest class."""
    return np.bincount(labels).max() / len(labels)


@pytest.mark.long(19)
def test_ck_plus_learns_unseen_people_and_transfers_to_jaffe(
    expression_data, tmp_path, monkeypatch
):
    config = load_config("ck_plus_cnn", f"tiny,balance=loss_weights,data_dir={expression_data}")
    received = []  # The class weights each train step is built with.
    real_make_train_step = steps.make_train_step

    def make_train_step(config, task, mesh, class_weights=None):
        received.append(class_weights)
        return real_make_train_step(config, task, mesh, class_weights)

    monkeypatch.setattr(steps, "make_train_step", make_train_step)
    # The input BatchNorm's running averages (momentum 0.99) need ~600 steps
    # before evaluation normalizes as training did (0.99**600 = 0.002); small
    # batches keep those steps cheap (~10 s on two cores).
    config.batch_size = 8
    config.num_train_steps = 600
    config.eval_every_steps = config.checkpoint_every_steps = 600
    result = train.train_and_evaluate(config, str(tmp_path))
    # balance=loss_weights: the training set's inverse-frequency weights reach the step.
    expected = stage_inputs.for_stage(config, registry.get_task(config), "").class_weights
    assert expected is not None and len(received) == 1
    np.testing.assert_array_equal(received[0], expected)

    # Held-out people: fold 0's test subjects are none of its training ones.
    _, train_subjects = _split("ck_plus/fold0_box", expression_data, "train")
    test_labels, test_subjects = _split("ck_plus/fold0_box", expression_data, "test")
    assert test_subjects and not test_subjects & train_subjects
    assert len(np.unique(test_labels)) >= 3
    # Measured over seeds 0-2: 0.75-0.94 on CK+ (majority share 0.375) and
    # 0.56-0.90 on JAFFE (chance 1/7); with a zero learning rate, 0.19 on CK+.
    majority = _majority_share(test_labels)
    assert result["accuracy"] > majority + 0.25, (result["accuracy"], majority)
    jaffe_labels, _ = _split("jaffe/all_box", expression_data, "test")
    jaffe_chance = _majority_share(jaffe_labels)
    assert jaffe_chance == pytest.approx(1 / 7)  # 7 balanced classes (no contempt).
    assert result["jaffe_accuracy"] > jaffe_chance + 0.25, result["jaffe_accuracy"]
    assert result["jaffe_loss"] < np.log(7), result["jaffe_loss"]

    for name in ("confusion_validation.png", "confusion_jaffe.png"):
        assert (tmp_path / "plots" / name).stat().st_size > 10_000
    saved = json.loads((tmp_path / "results.json").read_text())  # Strict JSON: no NaN.
    assert saved["jaffe_recall_2"] is None  # JAFFE has no contempt.
    assert saved["accuracy"] == pytest.approx(result["accuracy"])
    assert saved["training_data"]["framing"] == "haar_box"  # ck_plus/fold0_box's.
    _predicts_with_the_framing_it_was_trained_on(tmp_path, Path(expression_data).parent)


def _predicted_row(run: Path, photo: Path, out: Path, **flags: str) -> dict[str, str]:
    """The CSV row of `photo`, `flags` given as on the command line (so they are `present`)."""
    values = {"checkpoint": str(run), "input": [str(photo)], "output": str(out), **flags}
    with flagsaver.as_parsed(**values), pytest.raises(SystemExit) as exit_info:
        predict.main(["predict"])
    assert exit_info.value.code == 0
    with open(out / f"{photo.stem}.csv", newline="") as file:
        [row] = list(csv.DictReader(file))
    return row


def _predicted_box(run: Path, photo: Path, out: Path, **flags) -> list[int]:
    row = _predicted_row(run, photo, out, **flags)
    return [int(row[k]) for k in ("box_x", "box_y", "box_w", "box_h")]


def _probabilities(row: dict[str, str]) -> np.ndarray:
    return np.array([float(v) for k, v in row.items() if k.startswith("expression_prob_")])


def _predicts_with_the_framing_it_was_trained_on(run: Path, raw_root: Path) -> None:
    """A CNN trained on Haar boxes is given Haar boxes at prediction, unless told otherwise."""
    photo = sorted((raw_root / "jaffe").rglob("*.tiff"))[0]
    gray = cv2.imread(str(photo), cv2.IMREAD_GRAYSCALE)
    searched_at = photo_search_width(gray.shape[1], gray.shape[0])
    haar = ScaledDetector(HaarDetector(), searched_at).detect_scored(gray)
    hog = ScaledDetector(HogDetector(), searched_at).detect_scored(gray)
    haar_box, hog_box = (list(max(found, key=lambda d: d.box.area).box) for found in (haar, hog))
    assert haar_box != hog_box
    assert _predicted_box(run, photo, run / "by_training") == haar_box
    assert _predicted_box(run, photo, run / "told", framing="aligned") == hog_box

    # A build's face_margin travels too: as if the training build had added 30% around
    # each box, prediction does, unless --face_margin says otherwise.
    untouched = _probabilities(_predicted_row(run, photo, run / "no_margin"))
    results = json.loads((run / "results.json").read_text())
    assert results["training_data"]["face_margin"] == 0.0
    results["training_data"]["face_margin"] = 0.3
    (run / "results.json").write_text(json.dumps(results))
    recorded = _probabilities(_predicted_row(run, photo, run / "recorded_margin"))
    flagged = _probabilities(_predicted_row(run, photo, run / "flag", face_margin="0.3"))
    overridden = _probabilities(_predicted_row(run, photo, run / "zero", face_margin="0"))
    np.testing.assert_allclose(recorded, flagged, atol=1e-6)
    np.testing.assert_allclose(overridden, untouched, atol=1e-6)
    assert np.abs(recorded - untouched).max() > 1e-3, (recorded, untouched)


def test_class_balancing_modes(expression_data):
    config = load_config("ck_plus_cnn", f"tiny,balance=sampling,data_dir={expression_data}")
    train_split = sources.open_split("ck_plus/fold0_box", expression_data, "train")
    labels = label_reader.read_labels(train_split, names=("label",))["label"]
    sampled = stage_inputs.for_stage(config, registry.get_task(config), "")
    sampled_labels = labels[np.asarray(sampled.train.indices)]
    counts = np.bincount(sampled_labels, minlength=8)
    present = counts[np.bincount(labels, minlength=8) > 0]
    assert present.max() - present.min() <= 1  # Equal per present class.

    config.class_balance = "loss_weights"
    weighted = stage_inputs.for_stage(config, registry.get_task(config), "")
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
        stage_inputs.for_stage(config, registry.get_task(config), "")

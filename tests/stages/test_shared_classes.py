"""config.cross_dataset.shared_classes, and no NaN in what a run logs or saves (issue 32)."""

import json
import types

import numpy as np
import pytest

from affect_jax.config import load_config
from affect_jax.data import building, label_reader, sources
from affect_jax.stages import cross_dataset, cross_dataset_report, evaluate, outputs, shared_classes
from affect_jax.synthetic import face_folders_layout
from affect_jax.tasks import metrics, registry
from affect_jax.tasks.labels import CK_PLUS_EMOTIONS
from affect_jax.training.metric_writer import MetricWriter, read_metrics

NEUTRAL, ANGER, CONTEMPT, DISGUST, HAPPY, SURPRISE = 0, 1, 2, 3, 5, 7
# A CK+-like training split without neutral; a JAFFE-like target without contempt.
TRAINING_COUNTS = dict(zip(CK_PLUS_EMOTIONS, [0, 3, 2, 3, 2, 4, 3, 5], strict=True))
TARGET_LABELS = np.array([ANGER, ANGER, DISGUST, HAPPY, HAPPY, SURPRISE, NEUTRAL, NEUTRAL])
SHARED = ["anger", "disgust", "happy", "surprise"]  # Fear and sadness: not in the target.


def _logits(favourites: list[dict[int, float]]) -> np.ndarray:
    """One row of 8 logits per example: -1, except the classes given."""
    logits = np.full((len(favourites), len(CK_PLUS_EMOTIONS)), -1.0)
    for row, favoured in zip(logits, favourites, strict=True):
        for label, value in favoured.items():
            row[label] = value
    return logits


# The unmasked argmax is contempt or neutral wherever they are favoured.
LOGITS = _logits(
    [
        {CONTEMPT: 5, ANGER: 3},  # anger: plain contempt, shared anger (right)
        {CONTEMPT: 5, HAPPY: 2},  # anger: plain contempt, shared happy (wrong)
        {DISGUST: 4},  # disgust: right both ways
        {NEUTRAL: 6, HAPPY: 1},  # happy: plain neutral, shared happy (right)
        {CONTEMPT: 4, SURPRISE: 3},  # happy: plain contempt, shared surprise (wrong)
        {SURPRISE: 2},  # surprise: right both ways
        {NEUTRAL: 3},  # neutral: right plain; not scored shared (training has none)
        {CONTEMPT: 3, ANGER: 1},  # neutral: wrong plain; not scored shared
    ]
)


def _target_counts(labels: np.ndarray) -> dict[str, int]:
    counts = shared_classes.class_counts(labels, len(CK_PLUS_EMOTIONS))
    return dict(zip(CK_PLUS_EMOTIONS, counts.tolist(), strict=True))


def test_shared_predictions_avoid_classes_either_side_lacks_however_favoured():
    shared = shared_classes.shared_mask(TRAINING_COUNTS, _target_counts(TARGET_LABELS))
    assert [n for n, on in zip(CK_PLUS_EMOTIONS, shared, strict=True) if on] == SHARED
    assert set(LOGITS.argmax(-1)) & {NEUTRAL, CONTEMPT}  # Unmasked, they win.
    assert set(metrics.mask_logits(LOGITS, shared).argmax(-1)) <= set(np.flatnonzero(shared))
    # However high the absent classes score, they are never predicted.
    rng = np.random.default_rng(0)
    wild = rng.normal(size=(200, 8))
    wild[:, [NEUTRAL, CONTEMPT]] += 100
    assert np.all(shared[metrics.mask_logits(wild, shared).argmax(-1)])

    plain = metrics.classification_metrics(LOGITS, TARGET_LABELS)
    row = shared_classes.shared_fields(LOGITS, TARGET_LABELS, shared, CK_PLUS_EMOTIONS)
    assert plain["accuracy"] == pytest.approx(3 / 8)  # Examples 2, 5 and 6.
    # Scored: examples 0-5; right: 0, 2, 3, 5.
    assert row["shared_examples"] == 6
    assert row["shared_accuracy"] == pytest.approx(4 / 6)
    assert row["shared_accuracy"] > plain["accuracy"]
    # F1 (2 TP / (support + predicted)): anger 2/3, disgust 1, happy 2/4, surprise 2/3.
    assert row["shared_f1_macro"] == pytest.approx((2 / 3 + 1 + 1 / 2 + 2 / 3) / 4)
    assert row["shared_classes"] == SHARED


def test_no_shared_example_gives_no_score_rather_than_nan():
    shared = shared_classes.shared_mask(TRAINING_COUNTS, _target_counts(np.array([0, 0])))
    assert not shared.any()
    row = shared_classes.shared_fields(LOGITS[:2], np.array([0, 0]), shared, CK_PLUS_EMOTIONS)
    assert row["shared_accuracy"] is None and row["shared_examples"] == 0
    json.dumps(row, allow_nan=False)


def test_metric_writer_leaves_out_the_recall_of_an_absent_class(tmp_path, monkeypatch):
    validation = metrics.classification_metrics(LOGITS, TARGET_LABELS)  # No contempt.
    assert np.isnan(validation["recall_2"])  # What the train loop hands the writer.
    validation["loss"] = float("inf")
    writer = MetricWriter(str(tmp_path))
    sent = []
    monkeypatch.setattr(
        writer._tensorboard, "add_scalar", lambda name, value, step: sent.append((name, value))
    )
    for step in (10, 20):  # Every periodic evaluation.
        writer.write(step, validation, "validation")
    writer.close()
    names = [name for name, _ in sent]
    assert "validation/recall_2" not in names and "validation/loss" not in names
    assert "validation/recall_1" in names and "validation/accuracy" in names
    assert all(np.isfinite(value) for _, value in sent)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()

    def refuse(constant):
        raise ValueError(f"{constant} in metrics.jsonl")

    records = [json.loads(line, parse_constant=refuse) for line in lines]
    assert [r["step"] for r in records] == [10, 20] == [r["step"] for r in read_metrics(tmp_path)]
    assert "recall_2" not in records[0] and records[0]["recall_3"] == 1.0  # Disgust.


def test_results_json_keeps_no_nan_at_any_depth():
    result = {
        "recall_2": float("nan"),
        "loss": np.float32("inf"),
        "accuracy": np.float32(0.5),
        "cross_dataset": [{"recall": {"contempt": np.nan, "anger": 0.5}}],
    }
    safe = outputs.json_safe(result)
    text = json.dumps(safe, allow_nan=False)
    assert json.loads(text) == {
        "recall_2": None,
        "loss": None,
        "accuracy": 0.5,
        "cross_dataset": [{"recall": {"contempt": None, "anger": 0.5}}],
    }


def _row(key: str, labels: np.ndarray, shared: bool) -> dict:
    target = cross_dataset.Target(key, "jaffe/all", "test", "/d")
    scores = metrics.classification_metrics(LOGITS, labels)
    row = cross_dataset.table_row(target, scores, labels, LOGITS.argmax(-1), CK_PLUS_EMOTIONS)
    if shared:
        mask = shared_classes.shared_mask(TRAINING_COUNTS, row["counts"])
        row |= shared_classes.shared_fields(LOGITS, labels, mask, CK_PLUS_EMOTIONS)
    return row


def test_report_names_the_classes_of_each_side_and_the_shared_scores():
    training = {"dataset": "ck_plus/fold0", "split": "train", "counts": TRAINING_COUNTS}
    rows = [_row("jaffe", TARGET_LABELS, shared=True)]
    text = cross_dataset_report.markdown(rows, trained_on="x", figures={}, training=training)
    assert "| shared examples | shared accuracy | shared macro F1 |" in text
    assert "| jaffe | `jaffe/all` : test | 8 | 0.375 | " in text
    assert "| 6 | 0.667 | 0.708 |" in text
    assert (
        "| training | `ck_plus/fold0` : train | "
        "anger, contempt, disgust, fear, happy, sadness, surprise | |"
    ) in text
    assert (
        "| jaffe | `jaffe/all` : test | neutral, anger, disgust, happy, surprise | "
        "anger, disgust, happy, surprise |"
    ) in text
    json.dumps(rows, allow_nan=False)  # Recall of contempt is None, not NaN.
    # Without the option, no shared columns: the plain table as before.
    plain = cross_dataset_report.markdown(
        [_row("jaffe", TARGET_LABELS, shared=False)], trained_on="x", figures={}
    )
    assert "shared accuracy" not in plain and "Classes each side has" not in plain


@pytest.fixture(scope="module")
def two_class_folder_sets(tmp_path_factory):
    """(training data_dir, target data_dir): a set without neutral, one without contempt."""
    root = tmp_path_factory.mktemp("shared_classes")
    layouts = {
        "train_set": ("anger", "contempt", "happy", "surprise"),
        "target_set": ("neutral", "anger", "disgust", "happy"),
    }
    for seed, (name, classes) in enumerate(layouts.items()):
        face_folders_layout.write_face_folders_layout(
            root / name, subjects=4, images_per_class=1, classes=classes, image_size=48, seed=seed
        )
        fractions = {"validation_fraction": 0.25, "test_fraction": 0.5}
        options = {"subject_regex": r"S\d{3}"} | fractions
        building.build_dataset("face_folders/cropped", root / name, root / f"{name}_tfds", options)
    return str(root / "train_set_tfds"), str(root / "target_set_tfds")


def _labels(data_dir: str, split: str) -> np.ndarray:
    source = sources.open_split("face_folders/cropped", data_dir, split)
    return label_reader.read_labels(source, names=("label",))["label"]


def _favour_contempt(state, predict_step, source, transform, config, mesh) -> dict:
    """Predictions without a model: contempt highest; then the true class, but happy
    for every anger example after the first."""
    labels = label_reader.read_labels(source, names=("label",))["label"]
    later_anger = (labels == ANGER) & (np.cumsum(labels == ANGER) > 1)
    second = np.where(later_anger, HAPPY, labels)
    logits = _logits([{CONTEMPT: 5, int(s): 3} for s in second])
    return {"outputs": logits.astype(np.float32), "label": labels}


def test_each_target_row_scores_shared_classes_beside_the_plain_figures(
    two_class_folder_sets, tmp_path, monkeypatch
):
    train_dir, target_dir = two_class_folder_sets
    config = load_config(
        "expression_folders_cnn",
        f"tiny,data_dir={train_dir},targets=other=face_folders/cropped:test@{target_dir}",
    )
    config.cross_dataset.shared_classes = True
    monkeypatch.setattr(evaluate, "predict_split", _favour_contempt)
    inputs = types.SimpleNamespace(transform=None)
    result = cross_dataset.evaluate_targets(
        None, None, inputs, config, registry.get_task(config), None, tmp_path
    )

    labels = _labels(target_dir, "test")
    assert labels.size and set(labels) == {NEUTRAL, ANGER, DISGUST, HAPPY}
    own, other = result["cross_dataset"]
    assert other["shared_classes"] == ["anger", "happy"]
    assert other["accuracy"] == result["other_accuracy"] == 0.0  # Contempt everywhere.
    scored = np.isin(labels, [ANGER, HAPPY])
    assert other["shared_examples"] == scored.sum()
    assert np.sum(labels == ANGER) > 1  # So one anger example at least is called happy.
    right = np.sum(labels == HAPPY) + 1  # Every happy one and the first anger one.
    assert result["other_shared_accuracy"] == pytest.approx(right / scored.sum())
    assert other["shared_accuracy"] == result["other_shared_accuracy"]
    assert other["predicted"]["contempt"] == len(labels)  # The plain counts stay plain.
    assert own["target"] == "test" and "test_shared_f1_macro" in result
    trained = result["cross_dataset_training"]["counts"]
    train_labels = _labels(train_dir, "train")
    assert trained["neutral"] == 0 and trained["contempt"] == np.sum(train_labels == CONTEMPT) > 0

    json.dumps(result["cross_dataset"], allow_nan=False)
    assert np.isnan(result["other_recall_2"])  # Left as it is for results.json ...
    saved = json.dumps(outputs.json_safe(result), allow_nan=False)  # ... which nulls it.
    assert json.loads(saved)["other_recall_2"] is None
    report = (tmp_path / "cross_dataset.md").read_text()
    expected = [
        "| training | `face_folders/cropped` : train | anger, contempt, happy, surprise | |",
        "| other | `face_folders/cropped` : test | neutral, anger, disgust, happy | anger, happy |",
        "| shared examples | shared accuracy | shared macro F1 |",
    ]
    for line in expected:
        assert line in report

"""Aff-Wild2's other tasks on the embedded default: expressions (configs/affwild2_expr.py),
action units (configs/affwild2_au.py) and all three tasks at once
(configs/affwild2_multitask.py), each learned on people held out of training."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from affect_jax.config import load_config
from affect_jax.data import building
from affect_jax.inference import predict_videos
from affect_jax.stages import train
from affect_jax.synthetic import affwild2_layout, face_crop_video
from affect_jax.tasks import multitask
from affect_jax.tasks.labels import AFFWILD2_ACTION_UNITS, AFFWILD2_EXPRESSIONS
from affect_jax.tasks.metrics import concordance_correlation
from data_builders.affwild2 import tasks
from tests.helpers import learning_bars
from tests.helpers.train_helpers import REPO

# Each learning test's bars on held-out people (tests/helpers/learning_bars.py).
BARS = {
    # At 300 steps these two learned on seed 0 only (seed 1: expression 0.017 over the
    # majority, AUs 0.345 below calling all active); at 500, on seeds 0-2 (lowest 0.095,
    # 0.476; 0.221), each bar being that less a fifth (at least 0.03).
    "expression_cnn": {"accuracy_over_majority": 0.06, "f1_macro": 0.38},
    "au_cnn": {"f1_mean_over_constant": 0.17},
    # Lowest over training seeds 0-2 (launch/learning_bars.py; AMD EPYC, 2026-12-06):
    # 0.705, 0.824, 0.168, 0.514, 0.193, 0.757, 0.954; each bar is that less a fifth.
    "multitask_cnn": {
        "ccc_valence": 0.56,
        "ccc_arousal": 0.65,
        "expression_accuracy_over_majority": 0.13,
        "expression_f1_macro": 0.41,
        "au_f1_mean_over_constant": 0.15,
        "video_ccc_valence": 0.60,
        "video_ccc_arousal": 0.76,
    },
}


def _synthetic(*args):
    command = [sys.executable, "-m", "affect_jax.synthetic", "--preset=tiny", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True)


def test_synthetic_cli_writes_the_task_sets_asked_for(tmp_path):
    assert _synthetic(f"--out={tmp_path / 'raw'}", "--tasks=va,expr").returncode == 0
    assert sorted(p.name for p in (tmp_path / "raw" / "annotations").iterdir()) == [
        "EXPR_Set",
        "VA_Set",
    ]
    typo = _synthetic(f"--out={tmp_path / 'typo'}", "--tasks=va,exp")
    assert typo.returncode != 0
    assert "--tasks takes a comma-separated subset of va, expr, au" in typo.stderr
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize(
    "config_name, names",
    [("affwild2_expr", tasks.EXPRESSION_NAMES), ("affwild2_au", tasks.AU_NAMES)],
)
def test_config_classes_are_the_builders(config_name, names):
    config = load_config(config_name)
    assert config.class_names == names
    assert config.num_classes == len(names)


def test_multitask_config_names_are_the_builders():
    config = load_config("affwild2_multitask")
    assert config.class_names == tasks.EXPRESSION_NAMES
    assert config.action_units == tasks.AU_NAMES
    assert multitask.NUM_EXPRESSIONS == len(tasks.EXPRESSION_NAMES)
    assert multitask.NUM_ACTION_UNITS == len(tasks.AU_NAMES)


@pytest.fixture(scope="module")
def task_data(tmp_path_factory):
    """The expression and AU records of one synthetic release: the TFDS data_dir."""
    raw = tmp_path_factory.mktemp("raw_tasks")
    affwild2_layout.write_affwild2_layout(
        raw,
        num_train_videos=24,
        num_validation_videos=6,
        frames_per_video=(40, 50),
        seed=1,
        tasks=("va", "expr", "au"),
    )
    data_dir = tmp_path_factory.mktemp("tfds_tasks")
    for dataset in ("affwild2/expr", "affwild2/au", "affwild2/multitask"):
        building.build_dataset(dataset, raw, data_dir)
    return str(data_dir)


def _train_tiny(config_name: str, data_dir: str, workdir, steps: int = 300) -> dict:
    config = load_config(config_name, f"tiny,data_dir={data_dir}")
    config.num_train_steps = steps
    config.eval_every_steps = steps // 2
    # Evaluations save checkpoints too; the tiny preset's every 5 steps would be 100 saves.
    config.checkpoint_every_steps = steps
    config.seed = learning_bars.training_seed()
    return train.train_and_evaluate(config, str(workdir))


def _validation(dataset: str, data_dir: str, key: str) -> np.ndarray:
    import tensorflow_datasets as tfds

    source = tfds.builder(dataset, data_dir=data_dir).as_data_source("validation")
    return np.stack([source[i][key] for i in range(len(source))])


@pytest.mark.long(45)
@pytest.mark.timeout(600)
def test_expression_cnn_learns_on_held_out_people(task_data, tmp_path, request):
    result = _train_tiny("affwild2_expr", task_data, tmp_path, steps=500)
    labels = _validation("affwild2/expr", task_data, "expression")
    majority_share = np.bincount(labels).max() / len(labels)
    # Always answering the commonest class scores its share in accuracy and
    # under 0.1 in macro F1 here (7 classes occur).
    values = {
        "accuracy_over_majority": result["accuracy"] - majority_share,
        "f1_macro": result["f1_macro"],
    }
    learning_bars.check(request.node.name, values, BARS["expression_cnn"])
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["f1_macro"] == pytest.approx(result["f1_macro"])
    assert (tmp_path / "plots" / "confusion_validation.png").stat().st_size > 10_000


@pytest.mark.long(45)
@pytest.mark.timeout(600)
def test_action_unit_cnn_learns_on_held_out_people(task_data, tmp_path, request):
    result = _train_tiny("affwild2_au", task_data, tmp_path, steps=500)
    aus = _validation("affwild2/au", task_data, "aus")
    annotated = [i for i, name in enumerate(tasks.AU_NAMES) if (aus[:, i] >= 0).any()]
    # The synthetic release writes the 2020 files: 8 AUs, the other 5 slots -1.
    assert {f"f1_{tasks.AU_NAMES[i]}" for i in annotated} == {
        key for key in result if key.startswith("f1_AU")
    }
    assert len(annotated) == 8
    constant_f1 = _best_constant_au_f1(aus)  # Calling every AU active: the best constant.
    values = {"f1_mean_over_constant": result["f1_mean"] - constant_f1}
    learning_bars.check(request.node.name, values, BARS["au_cnn"])
    assert (tmp_path / "plots" / "f1_validation.png").stat().st_size > 10_000


def _best_constant_au_f1(aus: np.ndarray) -> float:
    """Mean F1 of calling every annotated AU active: 2p / (1 + p) each."""
    annotated = [i for i in range(aus.shape[1]) if (aus[:, i] >= 0).any()]
    share = np.array([(aus[aus[:, i] >= 0, i] == 1).mean() for i in annotated])
    return float(np.mean(2 * share / (1 + share)))


@pytest.mark.long(50)
@pytest.mark.timeout(600)
def test_multitask_cnn_learns_all_three_tasks_on_held_out_people(task_data, tmp_path, request):
    # Three losses share the tiny CNN: at 300 steps the AUs lag (mean F1 0.40 vs 0.59 at 600).
    result = _train_tiny("affwild2_multitask", task_data, tmp_path, steps=500)
    expression = _validation("affwild2/multitask", task_data, "expression")
    labelled = expression[expression >= 0]
    majority_share = np.bincount(labelled).max() / len(labelled)
    aus = _validation("affwild2/multitask", task_data, "aus")
    values = {
        "ccc_valence": result["ccc_valence"],
        "ccc_arousal": result["ccc_arousal"],
        "expression_accuracy_over_majority": result["expression_accuracy"] - majority_share,
        "expression_f1_macro": result["expression_f1_macro"],
        "au_f1_mean_over_constant": result["au_f1_mean"] - _best_constant_au_f1(aus),
    }
    for name in ("va_scatter", "expression_confusion", "au_f1"):
        assert (tmp_path / "plots" / f"{name}.png").stat().st_size > 10_000

    # The run serves the prediction CLI with its valence-arousal outputs.
    truth = face_crop_video.write_face_crop_video(tmp_path / "crops.avi", 60, seed=11)
    options = predict_videos.Options(cropped_faces=True)
    summary = predict_videos.predict_videos(
        str(tmp_path), [str(tmp_path / "crops.avi")], str(tmp_path / "out"), options=options
    )
    assert summary.written == ["crops"], summary.lines()
    with open(tmp_path / "out" / "crops.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    predicted = np.array([[float(r["valence"]), float(r["arousal"])] for r in rows])
    video_ccc = concordance_correlation(predicted, np.stack(truth, axis=1))
    values.update(video_ccc_valence=video_ccc[0], video_ccc_arousal=video_ccc[1])
    learning_bars.check(request.node.name, values, BARS["multitask_cnn"])
    # And with every head: expression and AU probabilities, the label and the decisions.
    thresholds = json.loads((tmp_path / "results.json").read_text())["au_thresholds"]
    expressions = [c for c in rows[0] if c.startswith("expression_prob_")]
    au_names = [c[len("au_prob_") :] for c in rows[0] if c.startswith("au_prob_")]
    assert [c[len("expression_prob_") :] for c in expressions] == list(AFFWILD2_EXPRESSIONS)
    assert au_names == list(AFFWILD2_ACTION_UNITS)
    for row in rows:
        probabilities = np.array([float(row[c]) for c in expressions])
        assert probabilities.sum() == pytest.approx(1.0, abs=1e-3)
        assert row["expression_label"] == AFFWILD2_EXPRESSIONS[int(probabilities.argmax())]
        for name in au_names:
            active = float(row[f"au_prob_{name}"]) > thresholds.get(name, 0.5)
            assert row[f"au_active_{name}"] == str(int(active)), (name, row)

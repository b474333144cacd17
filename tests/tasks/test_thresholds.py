"""AU decision thresholds chosen on validation (tasks/thresholds.py, and a frame run's
in stages/evaluators.py)."""

import numpy as np

from affect_jax.config import load_config
from affect_jax.stages import evaluators
from affect_jax.tasks import thresholds
from affect_jax.tasks.labels import AFFWILD2_ACTION_UNITS


def _logit(p):
    return np.log(p / (1 - p))


def test_each_au_gets_the_threshold_with_the_best_f1():
    # AU a: active frames score 0.33, inactive 0.1 -> any cut in [0.1, 0.33) is perfect.
    targets = np.array([[1, 0, -1], [1, 1, -1], [0, 0, -1], [0, 1, -1]], np.float32)
    probabilities = np.array([[0.33, 0.9, 0.5], [0.33, 0.6, 0.5], [0.1, 0.8, 0.5], [0.1, 0.7, 0.5]])
    found = thresholds.best_f1_thresholds(_logit(probabilities), targets, ("a", "b", "c"))
    chosen = found[thresholds.THRESHOLDS_KEY]
    assert set(chosen) == {"a", "b"}  # c is never annotated.
    assert chosen["a"] == 0.3 and found["au_f1_at_thresholds"]["a"] == 1.0
    # Nearest 0.5 among the perfect cuts. b: no cut separates; at best F1 2/3.
    assert found["au_f1_at_thresholds"]["b"] >= 2 / 3
    decided = thresholds.decisions(probabilities, ("a", "b", "c"), chosen)
    assert decided[:, 0].tolist() == [1, 1, 0, 0] and decided[:, 2].tolist() == [0, 0, 0, 0]


def test_a_frame_au_run_gets_thresholds_and_other_runs_none():
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 2, (50, 13)).astype(np.float32)
    targets[:, 8:] = -1
    config = load_config("affwild2_au", "tiny")
    found = evaluators.frame_run_thresholds(
        config, {"outputs": rng.normal(size=(50, 13)), "targets": targets}
    )
    assert set(found[thresholds.THRESHOLDS_KEY]) == set(AFFWILD2_ACTION_UNITS[:8])
    multitask_targets = np.concatenate([np.zeros((50, 3)), targets], axis=1)
    config = load_config("affwild2_multitask", "tiny")
    # AU logits that separate each AU's frames perfectly, after 10 columns of noise
    # (valence, arousal, 8 expressions): the thresholds must be read from the AU head.
    au_logits = np.where(targets > 0, 2.0, -2.0) + rng.uniform(-0.5, 0.5, targets.shape)
    outputs = np.concatenate([rng.normal(size=(50, 10)), au_logits], axis=1)
    found = evaluators.frame_run_thresholds(
        config, {"outputs": outputs, "targets": multitask_targets}
    )
    assert set(found[thresholds.THRESHOLDS_KEY]) == set(AFFWILD2_ACTION_UNITS[:8])
    assert all(f1 == 1.0 for f1 in found["au_f1_at_thresholds"].values()), found
    # A cut between the two groups' probabilities (sigmoid(-1.5) = 0.18, sigmoid(1.5) = 0.82).
    assert all(0.18 <= t <= 0.82 for t in found[thresholds.THRESHOLDS_KEY].values()), found
    va = {"outputs": np.zeros((5, 2)), "targets": np.zeros((5, 2))}
    assert evaluators.frame_run_thresholds(load_config("affwild2_cnn", "tiny"), va) == {}

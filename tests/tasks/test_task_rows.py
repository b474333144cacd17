"""The task a config names: `config.task`, its older name `config.loss`, and what a row owns."""

import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from affect_jax.config import load_config
from affect_jax.tasks import registry
from affect_jax.tasks.columns import task_columns
from affect_jax.training import checkpoints

OLD_TO_NEW = {
    "ccc": "va",
    "mse": "va_mse",
    "cross_entropy": "expr",
    "binary_cross_entropy": "au",
    "multitask": "multitask",
}


@pytest.mark.parametrize(
    "config_name, arg, task",
    [
        ("affwild2_cnn", "", "va"),
        ("affwild2_cnn", "loss=mse", "va_mse"),
        ("affwild2_expr", "", "expr"),
        ("affwild2_au", "", "au"),
        ("affwild2_multitask", "", "multitask"),
        ("affwild2_rnn", "task=expr", "expr"),
        ("ck_plus_cnn", "", "expr"),
    ],
)
def test_configs_name_their_task_and_the_older_key_follows(config_name, arg, task):
    config = load_config(config_name, arg)
    assert config.task == task and config.loss == task
    assert registry.get_task(config).name == task
    # `--config.loss=...` (the key's older name) sets the task; so does `--config.task`.
    config.loss = "mse"
    assert config.task == "mse" and registry.get_task(config).name == "va_mse"
    config.task = "cross_entropy"
    assert registry.get_task(config) is registry.TASKS["expr"]


@pytest.mark.parametrize("old, new", list(OLD_TO_NEW.items()))
def test_a_run_config_written_with_loss_reads_as_its_task(old, new):
    saved = ml_collections.ConfigDict({"loss": old, "targets": ["valence", "arousal"]})
    assert registry.get_task(saved) is registry.TASKS[new]
    # A checkpoint written with `loss` matches today's config of the same task...
    current = ml_collections.ConfigDict({"task": new, "targets": ["valence", "arousal"]})
    checkpoints.check_compatible(saved, current, "old run")
    # ...and not one of another task.
    other = "va" if new != "va" else "expr"
    current.task = other
    with pytest.raises(checkpoints.CheckpointMismatchError, match="config.task"):
        checkpoints.check_compatible(saved, current, "old run")


def test_only_the_expression_task_classifies_and_weighs_classes():
    classifying = {name for name, task in registry.TASKS.items() if task.classifies}
    weighing = {name for name, task in registry.TASKS.items() if task.class_weighted_loss}
    assert classifying == weighing == {"expr"}
    config = load_config("affwild2_cnn", "tiny")
    with pytest.raises(ValueError, match="no class-weighted loss"):
        registry.get_task("va").training_loss(config, class_weights=np.ones(2))


def test_class_weighted_loss_weighs_each_labelled_example_by_its_class():
    config = load_config("ck_plus_cnn", "tiny")
    task = registry.get_task(config)
    logits = jnp.array([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0], [0.0, 0.0, 3.0], [1.0, 2.0, 3.0]])
    labels = jnp.array([0, 1, 2, -1])  # The last frame has no label: it weighs nothing.
    weights = np.array([1.0, 2.0, 4.0], np.float32)
    per_example = optax.softmax_cross_entropy_with_integer_labels(logits[:3], labels[:3])
    expected = float(np.sum(np.asarray(per_example) * weights) / weights.sum())
    got = float(task.training_loss(config, weights)(logits, labels))
    assert got == pytest.approx(expected, rel=1e-6)
    plain = float(task.training_loss(config)(logits, labels))
    assert plain == pytest.approx(float(per_example.mean()), rel=1e-6)
    assert got != pytest.approx(plain, rel=1e-3)


def test_probabilities_softmax_the_expressions_and_sigmoid_each_au():
    config = load_config("affwild2_multitask", "tiny")
    task = registry.get_task(config)
    names = registry.output_names(config)
    columns = task_columns(names)
    rng = np.random.default_rng(0)
    outputs = rng.normal(size=(5, len(names))) * 3
    outputs[0, columns["expression"]] += 800.0  # Large logits must not overflow.
    got = task.probabilities(outputs, config)
    np.testing.assert_array_equal(got[:, columns["va"]], outputs[:, columns["va"]])
    expression = outputs[:, columns["expression"]]
    exp = np.exp(expression - expression.max(1, keepdims=True))
    np.testing.assert_allclose(got[:, columns["expression"]], exp / exp.sum(1, keepdims=True))
    au = outputs[:, columns["au"]]
    np.testing.assert_allclose(got[:, columns["au"]], 1 / (1 + np.exp(-au)))
    assert np.all(np.isfinite(got))

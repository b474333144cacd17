"""The RNN stage's losses per task (configs/affwild2_rnn.py:task=...): what they learn from.

Feature stores of multitask records hold sentinels where a frame lacks a label
(-5 VA, -1 expression, -1 per AU slot): no gradient may come from those.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affect_jax.config import load_config
from affect_jax.data.feature_store import LABEL_FIELDS, label_columns, label_names
from affect_jax.models.registry import create_model
from affect_jax.tasks import losses, multitask, registry

ALL_LABELS = label_names(LABEL_FIELDS)  # valence, arousal, expression, AU1 ... AU26


def _frame_labels(rng, windows: int, length: int) -> np.ndarray:
    """[windows, length, 16] labels; the last window has none, the others a mix."""
    labels = np.concatenate(
        [
            rng.uniform(-1, 1, (windows, length, 2)),
            rng.integers(0, 8, (windows, length, 1)),
            np.full((windows, length, 13), -1.0),
        ],
        axis=-1,
    ).astype(np.float32)
    labels[..., 3:11] = rng.integers(0, 2, (windows, length, 8))  # 8 of 13 AU slots annotated.
    labels[1, :, :2] = -5.0  # No VA.
    labels[2, :, 2] = -1.0  # No expression.
    labels[3, :, 3:] = -1.0  # No AU.
    labels[-1, :, :2], labels[-1, :, 2:] = -5.0, -1.0  # Nothing at all.
    return labels


def _setup(task: str, target: str, seed: int = 0):
    config = load_config("affwild2_rnn", f"tiny,task={task},target={target}")
    rng = np.random.default_rng(seed)
    windows, length = 6, config.rnn.window
    inputs = rng.normal(size=(windows, length, 8)).astype(np.float32)
    labels = _frame_labels(rng, windows, length)[..., label_columns(ALL_LABELS, config.targets)]
    targets = labels[:, -1] if target == "next" else labels
    batch = {"targets": jnp.asarray(targets), "label": jnp.asarray(targets[..., 0], jnp.int32)}
    model = create_model(config)
    # Compiled: op by op, the scanned GRU takes seconds to initialise and run.
    init = jax.jit(lambda key: model.init(key, jnp.asarray(inputs), train=False))
    params = init(jax.random.PRNGKey(seed))["params"]
    return config, model, params, inputs, registry.get_task(config).targets_of(batch)


def _forward(model, params, inputs):
    return jax.jit(lambda p: model.apply({"params": p}, jnp.asarray(inputs), train=False))(params)


@pytest.mark.parametrize(
    "task, balance, target",
    [
        ("va", 0, "next"),
        ("expr", 0, "every"),
        ("expr", 1, "next"),
        ("au", 0, "every"),
        ("multitask", 0, "next"),
        ("multitask", 0, "every"),
    ],
)
def test_unlabelled_frames_and_aus_give_no_gradient(task, balance, target):
    config, model, params, inputs, targets = _setup(task, target)
    weights = np.linspace(0.5, 2.0, 8).astype(np.float32) if balance else None
    loss_fn = registry.get_task(config).training_loss(config, weights)

    def objective(params, inputs):
        return loss_fn(model.apply({"params": params}, inputs, train=False), targets)

    loss_and_grad = jax.jit(jax.value_and_grad(objective))
    loss, grads = loss_and_grad(params, jnp.asarray(inputs))
    assert np.isfinite(float(loss)) and float(loss) > 0
    other = inputs.copy()
    other[-1] = 100.0  # The window without any label: its inputs must not matter.
    _, changed = loss_and_grad(params, jnp.asarray(other))
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(changed), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-9)

    # Per output: zero exactly where the entry is unlabelled.
    outputs = _forward(model, params, inputs)
    d_outputs = np.asarray(jax.jit(jax.grad(lambda o: loss_fn(o, targets)))(outputs))
    assert np.all(d_outputs[-1] == 0)
    if task in ("au", "multitask"):
        au = d_outputs[..., -13:]
        assert np.all(au[..., 8:] == 0) and np.all(au[3] == 0) and np.any(au[0] != 0)
    if task in ("va", "multitask"):
        assert np.all(d_outputs[1, ..., :2] == 0) and np.any(d_outputs[0, ..., :2] != 0)


def test_task_weights_scale_each_tasks_loss():
    config, model, params, inputs, targets = _setup("multitask", "next", seed=3)
    outputs = _forward(model, params, inputs)
    assert dict(config.task_weights) == {"va": 1.0, "expression": 1.0, "au": 1.0}
    plain = float(registry.get_task(config).training_loss(config)(outputs, targets))
    assert plain == pytest.approx(float(multitask.joint_loss(outputs, targets)), rel=1e-7)
    config.task_weights.update(dict(va=0.0, expression=1.0, au=0.0))
    _, expression_logits, _ = multitask.split_outputs(outputs)
    expected = losses.cross_entropy_loss(expression_logits, targets[:, 2])
    assert float(
        registry.get_task(config).training_loss(config)(outputs, targets)
    ) == pytest.approx(float(expected))
    # Each task alone, and unequal weights: a weight reaches its own task's term only.
    va, _, au_logits = (np.asarray(part, np.float64) for part in multitask.split_outputs(outputs))
    targets_np = np.asarray(targets, np.float64)
    labelled = targets_np[:, 0] > -5  # The VA sentinel: -5 = not annotated.
    assert 0 < labelled.sum() < len(labelled)

    def ccc(x, y):
        covariance = np.mean((x - x.mean()) * (y - y.mean()))
        return 2 * covariance / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)

    va_loss = 1 - np.mean([ccc(va[labelled, i], targets_np[labelled, i]) for i in (0, 1)])
    aus, au_probabilities = targets_np[:, 3:], 1 / (1 + np.exp(-au_logits))
    annotated = aus >= 0
    au_loss = -np.sum(
        np.where(
            annotated,
            aus * np.log(au_probabilities) + (1 - aus) * np.log(1 - au_probabilities),
            0.0,
        )
    ) / max(annotated.any(axis=1).sum(), 1)  # Summed over AUs, averaged over frames.
    terms = {"va": va_loss, "expression": float(expected), "au": au_loss}
    for weights in ({"va": 2.0}, {"au": 3.0}, {"va": 0.5, "expression": 2.0, "au": 3.0}):
        config.task_weights.update({name: weights.get(name, 0.0) for name in terms})
        want = sum(weight * terms[name] for name, weight in weights.items())
        got = float(registry.get_task(config).training_loss(config)(outputs, targets))
        assert got == pytest.approx(want, rel=1e-4), (weights, got, want)
    config.task_weights.update(dict(va=1.0, expression=1.0, au=0.0, typo=1.0))
    with pytest.raises(ValueError, match="typo"):
        registry.get_task(config).training_loss(config)


@pytest.mark.parametrize("arg", ["task=vaa", "task=au,balance=loss_weights"])
def test_rnn_config_names_bad_task_arguments(arg):
    with pytest.raises(ValueError, match="task"):
        load_config("affwild2_rnn", arg)

"""Train state, optimizer and the jit-compiled train / eval steps."""

import functools
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax.training import train_state
from jax.sharding import Mesh

from affect_jax import losses, sharding

IMAGE_SHAPE = (96, 96, 1)


class TrainState(train_state.TrainState):
    """Parameters, optimizer state, BatchNorm statistics and the dropout key."""

    batch_stats: Any
    dropout_key: jax.Array


def make_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
    """SGD with momentum; `decay_style` picks what the `decay` number means.

    `inverse_time` (the reference code's Keras `decay`): lr / (1 + decay * step).
    `weight_decay` (the paper's words): L2 weight decay added to the gradient.
    """
    opt = config.optimizer
    learning_rate: Any = opt.learning_rate
    if opt.decay_style == "inverse_time":
        learning_rate = lambda step: opt.learning_rate / (1.0 + opt.decay * step)
    elif opt.decay_style not in ("weight_decay", "none"):
        raise ValueError(
            f"Unknown optimizer.decay_style {opt.decay_style!r}; "
            "valid: inverse_time, weight_decay, none."
        )
    sgd = optax.sgd(learning_rate, momentum=opt.momentum)
    if opt.decay_style == "weight_decay":
        return optax.chain(optax.add_decayed_weights(opt.decay), sgd)
    return sgd


def create_train_state(
    model: nn.Module, config: ml_collections.ConfigDict, mesh: Mesh
) -> TrainState:
    """Initializes a replicated train state from `config.seed`."""
    init_key, dropout_key = jax.random.split(jax.random.PRNGKey(config.seed))

    @functools.partial(jax.jit, out_shardings=sharding.replicated(mesh))
    def init():
        images = jnp.zeros((1, *IMAGE_SHAPE), jnp.float32)
        variables = model.init({"params": init_key}, images, train=False)
        return TrainState.create(
            apply_fn=model.apply,
            params=variables["params"],
            tx=make_optimizer(config),
            batch_stats=variables.get("batch_stats", {}),
            dropout_key=dropout_key,
        )

    return init()


def _targets(batch: dict[str, jax.Array], config: ml_collections.ConfigDict):
    return batch["label"] if config.loss == "cross_entropy" else batch["targets"]


def make_train_step(config: ml_collections.ConfigDict, mesh: Mesh) -> Callable:
    """Returns `step(state, batch) -> (state, metrics)`, jitted, state donated."""
    loss_fn = losses.get_loss(config.loss)

    def step(state: TrainState, batch: dict[str, jax.Array]):
        dropout_key = jax.random.fold_in(state.dropout_key, state.step)
        images = batch["image"].astype(jnp.float32) / 255.0

        def objective(params):
            outputs, updates = state.apply_fn(
                {"params": params, "batch_stats": state.batch_stats},
                images,
                train=True,
                rngs={"dropout": dropout_key},
                mutable=["batch_stats"],
            )
            return loss_fn(outputs, _targets(batch, config)), updates

        (loss, updates), grads = jax.value_and_grad(objective, has_aux=True)(state.params)
        new_state = state.apply_gradients(grads=grads, batch_stats=updates["batch_stats"])
        metrics = {"loss": loss, "grad_norm": optax.tree.norm(grads)}
        return new_state, metrics

    return jax.jit(
        step,
        in_shardings=(sharding.replicated(mesh), sharding.batch_sharded(mesh)),
        out_shardings=(sharding.replicated(mesh), sharding.replicated(mesh)),
        donate_argnums=(0,),
    )


def make_predict_step(mesh: Mesh, return_features: bool = False) -> Callable:
    """Returns `predict(state, images) -> outputs` (and features), replicated.

    Outputs come back replicated so every process holds the whole batch's
    predictions and can compute whole-set metrics.
    """

    def predict(state: TrainState, images: jax.Array):
        return state.apply_fn(
            {"params": state.params, "batch_stats": state.batch_stats},
            images.astype(jnp.float32) / 255.0,
            train=False,
            return_features=return_features,
        )

    return jax.jit(
        predict,
        in_shardings=(sharding.replicated(mesh), sharding.batch_sharded(mesh)),
        out_shardings=sharding.replicated(mesh),
    )

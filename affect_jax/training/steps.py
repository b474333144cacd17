"""Train state, optimizer and the jit-compiled train / eval steps."""

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax.training import train_state
from jax.sharding import Mesh

from affect_jax.runtime import ConfigError
from affect_jax.tasks.registry import Task
from affect_jax.training import sharding


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
        raise ConfigError(
            f"Unknown optimizer.decay_style {opt.decay_style!r}; "
            "valid: inverse_time, weight_decay, none."
        )
    sgd = optax.sgd(learning_rate, momentum=opt.momentum)
    if opt.decay_style == "weight_decay":
        return optax.chain(optax.add_decayed_weights(opt.decay), sgd)
    return sgd


# A run's initialisation runs once, yet XLA:CPU's optimising backend spends seconds
# compiling its random draws (threefry). At level 0 the tiny CNN's compiles in 0.5 s
# instead of 2.9 s, to the same values; the 3-layer GRU's in 1.4 s instead of 2.7 s,
# within 3e-6 (benchmarks/init_compile.py). Other platforms keep their defaults:
# not measured there.
_CPU_INIT_COMPILER_OPTIONS = {"xla_backend_optimization_level": 0}


def _init_compiler_options(mesh: Mesh) -> dict[str, Any] | None:
    return _CPU_INIT_COMPILER_OPTIONS if mesh.devices.flat[0].platform == "cpu" else None


def initial_state_function(
    model: nn.Module, config: ml_collections.ConfigDict, sample_inputs: jax.ShapeDtypeStruct
) -> Callable[[], TrainState]:
    """The uncompiled function that makes the initial train state from `config.seed`.

    `sample_inputs` gives the shape (any batch size) and dtype of the model's
    inputs: uint8 frames for the CNN, feature windows for the RNN.
    """
    init_key, dropout_key = jax.random.split(jax.random.PRNGKey(config.seed))

    def initial_state() -> TrainState:
        inputs = jnp.zeros((1, *sample_inputs.shape[1:]), sample_inputs.dtype)
        variables = model.init({"params": init_key}, inputs, train=False)
        return TrainState.create(
            apply_fn=model.apply,
            params=variables["params"],
            tx=make_optimizer(config),
            batch_stats=variables.get("batch_stats", {}),
            dropout_key=dropout_key,
        )

    return initial_state


def create_train_state(
    model: nn.Module,
    config: ml_collections.ConfigDict,
    mesh: Mesh,
    sample_inputs: jax.ShapeDtypeStruct,
) -> TrainState:
    """Initializes a replicated train state from `config.seed` (see `initial_state_function`).

    Call it outside jit: it compiles with its own options. `train_state_shapes`
    gives the shapes alone.
    """
    init = jax.jit(
        initial_state_function(model, config, sample_inputs),
        out_shardings=sharding.replicated(mesh),
        compiler_options=_init_compiler_options(mesh),
    )
    return init()


def train_state_shapes(
    model: nn.Module, config: ml_collections.ConfigDict, sample_inputs: jax.ShapeDtypeStruct
) -> TrainState:
    """The train state's shapes and dtypes, without compiling or running its initializer."""
    return jax.eval_shape(initial_state_function(model, config, sample_inputs))


def make_train_step(
    config: ml_collections.ConfigDict, task: Task, mesh: Mesh, class_weights: Any = None
) -> Callable:
    """Returns `step(state, batch) -> (state, metrics)`, jitted, state donated.

    The loss is `task.training_loss(config, class_weights)`.
    """
    loss_fn = task.training_loss(config, class_weights)

    def step(state: TrainState, batch: dict[str, jax.Array]):
        dropout_key = jax.random.fold_in(state.dropout_key, state.step)

        def objective(params):
            outputs, updates = state.apply_fn(
                {"params": params, "batch_stats": state.batch_stats},
                batch["inputs"],
                train=True,
                rngs={"dropout": dropout_key},
                mutable=["batch_stats"],
            )
            return loss_fn(outputs, task.targets_of(batch)), updates

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
    """Returns `predict(state, batch) -> batch less "inputs", plus "outputs"`, jitted.

    The one inference step (evaluation, extraction, prediction). With
    `return_features` (the CNN) the result also holds the "features" of the
    layer before the head. Everything comes back replicated, so every process
    holds the whole batch's results (labels and mask included), whatever rows
    it loaded itself.
    """

    def predict(state: TrainState, batch: dict[str, jax.Array]):
        variables = {"params": state.params, "batch_stats": state.batch_stats}
        result = {key: value for key, value in batch.items() if key != "inputs"}
        if return_features:
            result["outputs"], result["features"] = state.apply_fn(
                variables, batch["inputs"], train=False, return_features=True
            )
        else:
            result["outputs"] = state.apply_fn(variables, batch["inputs"], train=False)
        return result

    return jax.jit(
        predict,
        in_shardings=(sharding.replicated(mesh), sharding.batch_sharded(mesh)),
        out_shardings=sharding.replicated(mesh),
    )

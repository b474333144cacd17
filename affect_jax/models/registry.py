"""Models picked by name from the config, so the training loop stays generic."""

import flax.linen as nn
import jax
import ml_collections
import numpy as np

from affect_jax.models.cnn import FrameCNN
from affect_jax.models.rnn import SequenceRegressor
from affect_jax.runtime import ConfigError
from affect_jax.tasks import registry as tasks

# What the frame CNN reads: one 96x96 gray face, uint8 pixels (the model scales them).
FRAME_SHAPE = (96, 96, 1)


def num_outputs(config: ml_collections.ConfigDict) -> int:
    """Head width: one unit per regressed target, one logit per class, or the multitask head."""
    return tasks.get_task(config).head_width(config)


def input_spec(config: ml_collections.ConfigDict, feature_dim: int = 0) -> jax.ShapeDtypeStruct:
    """Shape (batch 1) and dtype of the inputs of `config`'s model.

    Args:
      feature_dim: an RNN's input width (its CNN's feature_dim); unused for a CNN.
    """
    if config.model.name == "cnn":
        return jax.ShapeDtypeStruct((1, *FRAME_SHAPE), np.uint8)
    if config.model.name != "rnn":
        raise _unknown_model(config.model.name)
    if not feature_dim:
        raise ConfigError("An RNN's input spec needs the width of its features (feature_dim).")
    return jax.ShapeDtypeStruct((1, config.rnn.window, feature_dim), np.float32)


def create_model(config: ml_collections.ConfigDict) -> nn.Module:
    """Builds the model named by `config.model.name`."""
    model_config = config.model
    if model_config.name == "cnn":
        return FrameCNN(
            num_outputs=num_outputs(config),
            conv_features=tuple(model_config.conv_features),
            feature_dim=model_config.feature_dim,
            dropout_rate=model_config.dropout_rate,
            variant=model_config.variant,
            compute_dtype=model_config.get("compute_dtype", "float32"),
            first_block=model_config.get("first_block", "auto"),
            conv_backend=model_config.get("conv_backend", "xla"),
        )
    if model_config.name == "rnn":
        return SequenceRegressor(
            cell=model_config.cell,
            layer_sizes=tuple(model_config.layer_sizes),
            num_outputs=num_outputs(config),
            every_step=config.rnn.target == "every",
        )
    raise _unknown_model(model_config.name)


def _unknown_model(name: str) -> ConfigError:
    return ConfigError(f"Unknown model {name!r} (config key model.name); valid: cnn, rnn.")

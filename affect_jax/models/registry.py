"""Models picked by name from the config, so the training loop stays generic."""

import flax.linen as nn
import ml_collections

from affect_jax import multitask
from affect_jax.losses import CLASS_LOSSES
from affect_jax.models.cnn import FrameCNN
from affect_jax.models.rnn import SequenceRegressor


def num_outputs(config: ml_collections.ConfigDict) -> int:
    """Head width: one unit per regressed target, or one logit per class."""
    if config.loss in CLASS_LOSSES:
        return config.num_classes
    if config.loss == "multitask":
        return multitask.NUM_OUTPUTS
    return len(config.targets)


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
        )
    if model_config.name == "rnn":
        return SequenceRegressor(
            cell=model_config.cell,
            layer_sizes=tuple(model_config.layer_sizes),
            num_outputs=num_outputs(config),
            every_step=config.rnn.target == "every",
        )
    raise ValueError(
        f"Unknown model {model_config.name!r} (config key model.name); valid: cnn, rnn."
    )

"""Prints the loss and a parameter checksum after one train step (a subprocess
of test_multi_device.py, which sets the device count through XLA_FLAGS)."""

import json

import jax
import numpy as np

from affect_jax.config import load_config
from affect_jax.models.cnn import FrameCNN
from affect_jax.training import sharding, steps


def main() -> None:
    config = load_config("affwild2_cnn", "tiny")
    config.batch_size = 8
    config.model.dropout_rate = 0.0  # Dropout masks depend on the sharding.
    mesh = sharding.make_data_mesh()
    model = FrameCNN(
        num_outputs=2,
        conv_features=config.model.conv_features,
        feature_dim=config.model.feature_dim,
        dropout_rate=0.0,
    )
    sample = jax.ShapeDtypeStruct((1, 96, 96, 1), np.uint8)
    state = steps.create_train_state(model, config, mesh, sample)
    rng = np.random.default_rng(0)
    batch = {
        "inputs": rng.integers(0, 256, (8, 96, 96, 1), dtype=np.uint8),
        "targets": rng.uniform(-1, 1, (8, 2)).astype(np.float32),
    }
    train_step = steps.make_train_step(config, mesh)
    state, metrics = train_step(state, sharding.to_global_batch(batch, mesh))
    checksum = float(sum(np.abs(np.asarray(leaf)).sum() for leaf in jax.tree.leaves(state.params)))
    print(
        json.dumps(
            {
                "devices": jax.device_count(),
                "loss": float(metrics["loss"]),
                "param_checksum": checksum,
            }
        )
    )


if __name__ == "__main__":
    main()

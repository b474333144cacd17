"""One train step of the tiny CNN, dropout on: prints the loss, saves the parameters.

python -m tests.helpers.one_step_loss OUT.npz (a subprocess of test_multi_device.py,
which sets the device count through XLA_FLAGS). OUT.npz holds each parameter
before (`before/<path>`) and after (`after/<path>`) the step.
"""

import json
import sys

import jax
import numpy as np

from affect_jax.config import load_config
from affect_jax.models.cnn import FrameCNN
from affect_jax.tasks import registry
from affect_jax.training import sharding, steps


def _flat(tree, prefix: str) -> dict[str, np.ndarray]:
    return {
        f"{prefix}/{jax.tree_util.keystr(path)}": np.asarray(leaf)
        for path, leaf in jax.tree_util.tree_leaves_with_path(jax.device_get(tree))
    }


def main() -> None:
    config = load_config("affwild2_cnn", "tiny")
    config.batch_size = 8
    mesh = sharding.make_data_mesh()
    model = FrameCNN(
        num_outputs=2,
        conv_features=config.model.conv_features,
        feature_dim=config.model.feature_dim,
        dropout_rate=config.model.dropout_rate,  # Masks drawn over the global batch.
    )
    sample = jax.ShapeDtypeStruct((1, 96, 96, 1), np.uint8)
    state = steps.create_train_state(model, config, mesh, sample)
    before = _flat(state.params, "before")  # Copied now: the step donates the state.
    rng = np.random.default_rng(0)
    batch = {
        "inputs": rng.integers(0, 256, (8, 96, 96, 1), dtype=np.uint8),
        "targets": rng.uniform(-1, 1, (8, 2)).astype(np.float32),
    }
    train_step = steps.make_train_step(config, registry.get_task(config), mesh)
    state, metrics = train_step(state, sharding.to_global_batch(batch, mesh))
    np.savez(sys.argv[1], **before, **_flat(state.params, "after"))
    print(json.dumps({"devices": jax.device_count(), "loss": float(metrics["loss"])}))


if __name__ == "__main__":
    main()

r"""Temporal-stage speed: GRU training and feature extraction, as ratios.

    python benchmarks/temporal.py [--steps=10] [--skip_cnn]

1. GRU training step (3 layers 100/100/50, batch 256, W=100, 300 features,
   CCC loss, SGD): the project's scanned model (one wavefront `lax.scan`) against
   the same cells called in an unrolled Python loop under jit (same numbers,
   checked), in sequences/s.
2. Feature extraction (reference CNN, inference, batch 256) with the config's
   convolution backend and with XLA's, and against the reference CNN's train
   step (batch 128), in frames/s.
Both go through the project's own model, loss and step code. Warm-up excluded,
median of --steps timed steps, random inputs.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from timing import environment_line, median_seconds, project_train_rate

from affect_jax import host_memory, runtime
from affect_jax.config import load_config
from affect_jax.models.cnn import FrameCNN
from affect_jax.models.onednn.conv import resolve_conv_backend
from affect_jax.models.registry import FRAME_SHAPE
from affect_jax.models.rnn import SequenceRegressor
from affect_jax.training import sharding, steps

_STEPS = flags.DEFINE_integer("steps", 10, "Timed steps per measurement (median).")
_SKIP_CNN = flags.DEFINE_bool("skip_cnn", False, "Only the GRU measurement.")


class UnrolledGRU(nn.Module):
    """The baseline: the same stacked GRU cells, one Python call per time step."""

    layer_sizes: tuple[int, ...] = (100, 100, 50)
    num_outputs: int = 2

    @nn.compact
    def __call__(self, inputs, *, train: bool = False):
        del train
        x = inputs
        for i, size in enumerate(self.layer_sizes):
            # Same parameter names as SequenceRegressor, so one set serves both.
            cell = nn.GRUCell(features=size, name=f"layer{i + 1}")
            carry = cell.initialize_carry(jax.random.PRNGKey(0), x[:, 0].shape)
            outputs = []
            for t in range(x.shape[1]):
                carry, y = cell(carry, x[:, t])
                outputs.append(y)
            x = jnp.stack(outputs, axis=1)
        return nn.Dense(self.num_outputs, name="head")(x[:, -1])


def gru_benchmark(count: int) -> None:
    config = load_config("affwild2_rnn", "layers=3")
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(config.batch_size, config.rnn.window, 300)).astype(np.float32)
    targets = rng.uniform(-1, 1, (config.batch_size, 2)).astype(np.float32)
    scanned = SequenceRegressor(cell="gru", layer_sizes=(100, 100, 50))
    unrolled = UnrolledGRU()
    params = scanned.init(jax.random.PRNGKey(0), inputs[:2])
    difference = np.abs(
        scanned.apply(params, inputs[:4]) - unrolled.apply(params, inputs[:4])
    ).max()
    scan_rate, scan_first = project_train_rate(scanned, config, inputs, targets, count)
    loop_rate, loop_first = project_train_rate(unrolled, config, inputs, targets, count)
    print(f"GRU 3 layers 100/100/50, batch {config.batch_size}, W={config.rnn.window}:")
    print(f"  outputs scanned vs unrolled: max |difference| {difference:.2e}")
    print(f"  scanned (project)      {scan_rate:8.1f} sequences/s  (first step {scan_first:.1f} s)")
    print(f"  unrolled Python loop   {loop_rate:8.1f} sequences/s  (first step {loop_first:.1f} s)")
    print(f"  ratio scanned / unrolled: {scan_rate / loop_rate:.2f}x")


def extraction_benchmark(count: int) -> None:
    config = load_config("affwild2_cnn")
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (config.batch_size, *FRAME_SHAPE), dtype=np.uint8)
    targets = rng.uniform(-1, 1, (config.batch_size, 2)).astype(np.float32)
    mesh = sharding.make_data_mesh()
    sample = jax.ShapeDtypeStruct(images.shape, images.dtype)
    predict = steps.make_predict_step(mesh, return_features=True)
    batch = {"inputs": jax.device_put(rng.integers(0, 256, (256, *FRAME_SHAPE), dtype=np.uint8))}
    default = resolve_conv_backend(config.model.conv_backend)
    rates = {}
    print("Reference CNN (1,333,706 parameters), feature extraction, batch 256:")
    for backend in dict.fromkeys((default, "xla")):  # The config's default first.
        model = FrameCNN(conv_backend=backend)
        state = steps.create_train_state(model, config, mesh, sample)
        seconds = median_seconds(lambda s=state: jax.block_until_ready(predict(s, batch)), count)
        rates[backend] = 256 / seconds
        print(f"  {backend} convolutions {rates[backend]:8.1f} frames/s")
    if len(rates) > 1:
        print(f"  ratio {default} / xla: {rates[default] / rates['xla']:.2f}x")
    train_rate, _ = project_train_rate(
        FrameCNN(conv_backend=default), config, images, targets, count
    )
    print(f"  train step ({default}), batch {config.batch_size}  {train_rate:8.1f} frames/s")
    print(f"  ratio extraction / training: {rates[default] / train_rate:.2f}x (goal >= 3x)")


def main(argv) -> None:
    del argv
    print(environment_line())
    gru_benchmark(_STEPS.value)
    if not _SKIP_CNN.value:
        extraction_benchmark(_STEPS.value)


if __name__ == "__main__":
    runtime.apply_fast_cpu_flags()
    host_memory.keep_freed_memory_unless_declined()  # As the project's command lines do.
    app.run(main)

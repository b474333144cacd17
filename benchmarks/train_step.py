r"""Train-step speed of the project's CNN and GRU, against the matmul ceiling and peers.

    python benchmarks/train_step.py [--steps=10] [--cnn_batch=128] [--gru_batch=256]

Measures, in one process (warm-up excluded, median of --steps, random inputs):
  * the float32 matmul ceiling: jit dot of 2048x2048 matrices, GFLOP/s;
  * the reference CNN train step (96x96x1, fwd + bwd + SGD), through the project's
    own model, loss and step code: frames/s, GFLOP/s, share of the ceiling;
  * the same CNN step with the first block as plain flax layers + autodiff
    (config.model.first_block="plain"), and with bfloat16 compute
    (config.model.compute_dtype);
  * the 3-layer GRU 100/100/50 train step (W=100, 300 features): sequences/s,
    as the project runs it (one wavefront scan) and layer by layer;
  * when TensorFlow or PyTorch are importable, the same two models in Keras
    (TensorFlow backend, oneDNN) and PyTorch (eager, channels_last), timed in
    the same run after the project's steps, and the ratios (benchmarks/peers.py).
Peers are not dependencies; install them in a separate environment, e.g.
  python -m venv /tmp/peers
  /tmp/peers/bin/pip install -e . tensorflow-cpu==2.21.0 torch==2.13.0
  /tmp/peers/bin/python benchmarks/train_step.py
"""

import numpy as np
from absl import app, flags
from peers import tensorflow_rates, torch_rates
from timing import environment_line, matmul_ceiling, project_train_rate

from affect_jax import xla_cpu_flags
from affect_jax.config_args import load_config
from affect_jax.models.cnn import FrameCNN, resolve_first_block
from affect_jax.models.rnn import SequenceRegressor

_STEPS = flags.DEFINE_integer("steps", 10, "Timed steps per measurement (median).")
_CNN_BATCH = flags.DEFINE_integer("cnn_batch", 128, "CNN frames per step.")
_GRU_BATCH = flags.DEFINE_integer("gru_batch", 256, "GRU sequences per step.")

# Multiply-adds x 2 of the reference CNN forward pass for one 96x96 frame; the
# backward pass costs about twice the forward (input and weight gradients).
_CNN_FORWARD_FLOP = 2 * (
    96 * 96 * 25 * 64 + 44 * 44 * 25 * 64 * 128 + 18 * 18 * 25 * 128 * 256 + 1024 * 300 + 300 * 2
)
CNN_TRAIN_FLOP_PER_FRAME = 3 * _CNN_FORWARD_FLOP


def main(argv) -> None:
    del argv
    count = _STEPS.value
    print(environment_line())
    ceiling = matmul_ceiling(count)
    print(f"matmul ceiling (jit dot 2048^3): {ceiling:.1f} GFLOP/s")

    rng = np.random.default_rng(0)
    cnn_config = load_config("affwild2_cnn")
    images = rng.integers(0, 256, (_CNN_BATCH.value, 96, 96, 1), dtype=np.uint8)
    targets = rng.uniform(-1, 1, (_CNN_BATCH.value, 2)).astype(np.float32)
    cnn_rate = project_train_rate(FrameCNN(), cnn_config, images, targets, count)[0]
    gflops = cnn_rate * CNN_TRAIN_FLOP_PER_FRAME / 1e9
    print(
        f"CNN train step, batch {_CNN_BATCH.value}, first block "
        f"{resolve_first_block(FrameCNN().first_block)}: {cnn_rate:.1f} frames/s, "
        f"{gflops:.1f} GFLOP/s = {gflops / ceiling:.0%} of the ceiling "
        f"({CNN_TRAIN_FLOP_PER_FRAME / 1e9:.2f} GFLOP per frame)"
    )

    variants = {
        "first block as plain flax layers + autodiff": FrameCNN(first_block="plain"),
        "bfloat16 compute (float32 parameters)": FrameCNN(compute_dtype="bfloat16"),
    }
    for label, model in variants.items():
        rate = project_train_rate(model, cnn_config, images, targets, count)[0]
        print(
            f"CNN train step, {label}: {rate:.1f} frames/s (default / this {cnn_rate / rate:.2f}x)"
        )

    gru_config = load_config("affwild2_rnn", "layers=3")
    sequences = rng.normal(size=(_GRU_BATCH.value, 100, 300)).astype(np.float32)
    gru_targets = rng.uniform(-1, 1, (_GRU_BATCH.value, 2)).astype(np.float32)
    gru_rate = project_train_rate(
        SequenceRegressor(layer_sizes=(100, 100, 50)), gru_config, sequences, gru_targets, count
    )[0]
    print(f"GRU 100/100/50 train step, batch {_GRU_BATCH.value}, W=100: {gru_rate:.1f} sequences/s")
    layered_rate = project_train_rate(
        SequenceRegressor(layer_sizes=(100, 100, 50), wavefront=False),
        gru_config,
        sequences,
        gru_targets,
        count,
    )[0]
    print(
        f"GRU layer by layer (nn.RNN per layer): {layered_rate:.1f} sequences/s "
        f"(wavefront / this {gru_rate / layered_rate:.2f}x)"
    )

    for name, measure in (("TensorFlow Keras", tensorflow_rates), ("PyTorch eager", torch_rates)):
        peer = measure(_CNN_BATCH.value, _GRU_BATCH.value, count)
        if peer is None:
            print(f"{name}: not importable, not measured (see the module docstring).")
            continue
        peer_cnn, peer_gru = peer
        print(
            f"{name}: CNN {peer_cnn:.1f} frames/s (ours / theirs {cnn_rate / peer_cnn:.2f}x), "
            f"GRU {peer_gru:.1f} sequences/s ({gru_rate / peer_gru:.2f}x)"
        )


if __name__ == "__main__":
    xla_cpu_flags.apply_fast_cpu_flags()
    app.run(main)

r"""The CNN's convolutions through oneDNN (config.model.conv_backend) against XLA's.

    python benchmarks/conv_backend.py [--rounds=5] [--batch=128] [--pieces_only]

In one process, on random inputs, timed in turns (timing.interleaved_seconds):
  * each reference convolution, forward + input gradient + weight gradient in
    one jit, lax (XLA) float32 against oneDNN float32 and bfloat16;
  * the reference CNN train step through the project's own step code with
    conv_backend "xla" and "onednn" (first block fused and plain, float32 and
    bfloat16 compute), and TensorFlow Keras when it is importable (peers.py).
Ratios are per-round medians (range) of XLA's time over the contender's: > 1 is
faster than XLA. The CPU's name and the flags that matter are printed first.
"""

import os
import platform
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from jax import lax
from peers import tensorflow_steps
from timing import environment_line, interleaved_seconds, matmul_ceiling, project_train_runner
from timing import ratio_summary as speedup

from affect_jax import runtime
from affect_jax.config import load_config
from affect_jax.models.cnn import FrameCNN
from affect_jax.models.onednn import conv as onednn_conv
from affect_jax.models.onednn import library

_ROUNDS = flags.DEFINE_integer("rounds", 5, "Timed rounds (one call of every contender each).")
_BATCH = flags.DEFINE_integer("batch", 128, "Frames per batch.")
_PIECES_ONLY = flags.DEFINE_bool("pieces_only", False, "Skip the train steps.")
_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")
_NHWC = ("NHWC", "HWIO", "NHWC")
# (input size, input channels, output channels, padding) of the reference CNN
# (as in conv_pieces.py, whose flags clash with these if imported).
LAYERS = ((96, 1, 64, "SAME"), (48, 64, 128, "VALID"), (22, 128, 256, "VALID"))


def cpu_line() -> str:
    """The CPU's model name, core count and which of the relevant ISA flags it has."""
    name, found = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() == "flags":
                found = set(value.split())
    has = [flag for flag in _FLAGS if flag in found]
    cores = len(os.sched_getaffinity(0))
    return f"CPU {name}, {cores} cores, flags: {' '.join(has)}"


def _pieces_run(conv_function, x, kernel, y_grad, padding):
    def pieces(x, kernel, y_grad):
        def apply(x, kernel):
            return conv_function(x, kernel, (1, 1), padding, dimension_numbers=_NHWC)

        y, pullback = jax.vjp(apply, x, kernel)
        return y, *pullback(y_grad)

    step = jax.jit(pieces)
    return lambda: jax.block_until_ready(step(x, kernel, y_grad))


def convolution_pieces(batch: int, rounds: int, ceiling: float) -> None:
    rng = np.random.default_rng(0)
    print(f"forward + input gradient + weight gradient, batch {batch}, {rounds} rounds:")
    for size, cin, cout, padding in LAYERS:
        out = size if padding == "SAME" else size - 4
        flop = 3 * 2 * batch * out * out * cout * 25 * cin
        arrays = {}
        for dtype in (jnp.float32, jnp.bfloat16):
            arrays[dtype] = (
                jnp.asarray(rng.normal(size=(batch, size, size, cin)), dtype),
                jnp.asarray(rng.normal(size=(5, 5, cin, cout)) * 0.1, dtype),
                jnp.asarray(rng.normal(size=(batch, out, out, cout)), dtype),
            )
        runs = {
            "XLA float32": _pieces_run(lax.conv_general_dilated, *arrays[jnp.float32], padding),
            "oneDNN float32": _pieces_run(
                onednn_conv.conv_general_dilated, *arrays[jnp.float32], padding
            ),
            "oneDNN bfloat16": _pieces_run(
                onednn_conv.conv_general_dilated, *arrays[jnp.bfloat16], padding
            ),
        }
        times = interleaved_seconds(runs, rounds, pause=0.2)
        for name, seconds in times.items():
            rate = flop / np.median(seconds) / 1e9
            line = (
                f"  conv {cin:3d}->{cout:3d} {size}x{size} {padding:5s} {name:16s} "
                f"{np.median(seconds) * 1e3:6.0f} ms {rate:5.0f} GFLOP/s ({rate / ceiling:.0%})"
            )
            if name != "XLA float32":
                line += f", {speedup(seconds, times['XLA float32'])} XLA's speed"
            print(line)


def train_steps(batch: int, rounds: int) -> None:
    rng = np.random.default_rng(0)
    config = load_config("affwild2_cnn")
    images = rng.integers(0, 256, (batch, 96, 96, 1), dtype=np.uint8)
    targets = rng.uniform(-1, 1, (batch, 2)).astype(np.float32)
    models = {
        "XLA (fused first block)": FrameCNN(conv_backend="xla", first_block="fused"),
        "oneDNN (fused first block)": FrameCNN(conv_backend="onednn", first_block="fused"),
        "oneDNN, plain first block": FrameCNN(conv_backend="onednn", first_block="plain"),
        "oneDNN, bfloat16 compute": FrameCNN(
            conv_backend="onednn", compute_dtype="bfloat16", first_block="fused"
        ),
        "oneDNN, bfloat16, plain first block": FrameCNN(
            conv_backend="onednn", compute_dtype="bfloat16", first_block="plain"
        ),
    }
    runs = {
        name: project_train_runner(model, config, images, targets) for name, model in models.items()
    }
    peer = tensorflow_steps(batch, 8)
    if peer is None:
        print("TensorFlow Keras: not importable here, not measured (benchmarks/peers.py).")
    else:
        runs["TensorFlow Keras float32"] = peer[0]
    times = interleaved_seconds(runs, rounds)
    print(f"CNN train step, batch {batch}, {rounds} rounds (frames/s; speed against XLA):")
    baseline = "XLA (fused first block)"
    for name, seconds in times.items():
        line = f"  {name}: {batch / np.median(seconds):.1f} frames/s"
        if name != baseline:
            line += f", {speedup(seconds, times[baseline])}"
        if "TensorFlow Keras float32" in times and not name.startswith("TensorFlow"):
            line += f", {speedup(seconds, times['TensorFlow Keras float32'])} TF's"
        print(line)


def main(argv) -> None:
    del argv
    loaded, reason = library.status()
    if not loaded:
        raise SystemExit(f"oneDNN extension: {reason}; {library.HOW_TO_BUILD}")
    print(environment_line())
    print(f"{cpu_line()}; oneDNN bfloat16 native: {library.native_bfloat16()}")
    ceiling = matmul_ceiling(_ROUNDS.value)
    print(f"matmul ceiling (jit dot 2048^3): {ceiling:.1f} GFLOP/s")
    convolution_pieces(_BATCH.value, _ROUNDS.value, ceiling)
    if not _PIECES_ONLY.value:
        train_steps(_BATCH.value, _ROUNDS.value)


if __name__ == "__main__":
    runtime.apply_fast_cpu_flags()
    app.run(main)

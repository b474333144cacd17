r"""Train-step speed of the project's CNN and GRU, against the matmul ceiling and peers.

    python benchmarks/train_step.py [--rounds=10] [--cnn_batch=128] [--gru_batch=256] [--bars_only]

Measures, on random inputs:
  * the float32 matmul ceiling: jit dot of 2048x2048 matrices, GFLOP/s;
  * the reference CNN train step (96x96x1, fwd + bwd + SGD), through the project's
    own model, loss and step code: frames/s, GFLOP/s, share of the ceiling;
  * the same CNN step with XLA's own convolutions (config.model.conv_backend="xla"
    where the default resolves to oneDNN; benchmarks/conv_backend.py has more),
    with the first block plain (config.model.first_block="plain": autodiff of
    the flax layers; "auto" is the fused one on CPU), and with bfloat16 compute
    (config.model.compute_dtype) through either backend;
  * the 3-layer GRU 100/100/50 train step (W=100, 300 features): sequences/s,
    as the project runs it (one wavefront scan) and layer by layer;
  * the default CNN and GRU steps in a process of their own that hands the
    memory each step frees back to the kernel (AFFECT_JAX_KEEP_FREED_MEMORY=0:
    glibc's malloc and JAX's dispatch as they come; this process keeps it, as
    the command lines do by default, affect_jax/host_memory.py);
  * when TensorFlow or PyTorch are importable, the same two models in Keras
    (TensorFlow backend, oneDNN) and PyTorch (eager, channels_last)
    (benchmarks/peers.py), each in a process of its own with the allocator its
    users get (benchmarks/process_runs.py); every project row is then also
    given as a ratio to TensorFlow's step of the same round.
All contenders of one model are timed in turns, one step each per round, for
--rounds rounds after a warm-up step each (timing.interleaved_seconds): rates
are medians over rounds, and each ratio is the median of the per-round ratios
with their range, so a host that drifts during the run cannot favour whoever
ran first. Peers are not dependencies; install them in a separate environment:
  python -m venv /tmp/peers
  /tmp/peers/bin/pip install -e . tensorflow-cpu==2.21.0 torch==2.13.0
  /tmp/peers/bin/python benchmarks/train_step.py
"""

import numpy as np
from absl import app, flags
from process_runs import process_runs
from timing import (
    cnn_train_flop_per_frame,
    environment_line,
    interleaved_seconds,
    matmul_ceiling,
    project_train_runner,
    ratio_summary,
)

from affect_jax import host_memory, runtime
from affect_jax.config import load_config
from affect_jax.models.cnn import FrameCNN, resolve_first_block
from affect_jax.models.onednn.conv import resolve_conv_backend
from affect_jax.models.rnn import SequenceRegressor

_ROUNDS = flags.DEFINE_integer("rounds", 10, "Timed rounds (one step of every contender each).")
_CNN_BATCH = flags.DEFINE_integer("cnn_batch", 128, "CNN frames per step.")
_GRU_BATCH = flags.DEFINE_integer("gru_batch", 256, "GRU sequences per step.")
_BARS_ONLY = flags.DEFINE_bool(
    "bars_only",
    False,
    "Time only what issue 19's bars compare: the project's default CNN step in float32 "
    "and bfloat16, its GRU step, both again with freed memory handed back, and TensorFlow's "
    "(more rounds in the same time).",
)

# The reference CNN's train step, one 96x96 frame: 4.06 GFLOP.
CNN_TRAIN_FLOP_PER_FRAME = cnn_train_flop_per_frame(load_config("affwild2_cnn").model)


def _report(times: dict, batch: int, unit: str, baseline: str) -> None:
    """Median rate of each contender and its per-round speed ratio to the baseline."""
    for name, seconds in times.items():
        line = f"  {name}: {batch / np.median(seconds):.1f} {unit}/s"
        if name != baseline:
            line += f", {baseline} / this {ratio_summary(times[baseline], seconds)}"
        print(line)


def _against_peer(times: dict, peer: str) -> None:
    """Each project contender's per-round speed ratio to `peer`, where it was measured."""
    if peer not in times:
        return
    print(f"  against {peer} (this / {peer}, per round):")
    for name, seconds in times.items():
        if name.startswith("project"):
            print(f"    {name}: {ratio_summary(seconds, times[peer])}")


def _peer_steps(cnn_batch: int, gru_batch: int, bars_only: bool) -> dict:
    """{peer name: (CNN step, GRU step)} of each importable peer, each in its own process."""
    found = {}
    peers = (("TensorFlow Keras", "tensorflow"), ("PyTorch eager", "torch"))
    for name, framework in peers[:1] if bars_only else peers:
        arguments = {"framework": framework, "cnn_batch": cnn_batch, "gru_batch": gru_batch}
        runs = process_runs("peers:peer_runs", arguments)
        if not runs:
            print(f"{name}: not importable, not measured (see the module docstring).")
        else:
            found[name] = (runs["cnn"], runs["gru"])
    return found


def _random_batches(cnn_batch: int, gru_batch: int) -> tuple[np.ndarray, ...]:
    """(frames, CNN targets, feature sequences, GRU targets): every contender's inputs."""
    rng = np.random.default_rng(0)
    return (
        rng.integers(0, 256, (cnn_batch, 96, 96, 1), dtype=np.uint8),
        rng.uniform(-1, 1, (cnn_batch, 2)).astype(np.float32),
        rng.normal(size=(gru_batch, 100, 300)).astype(np.float32),
        rng.uniform(-1, 1, (gru_batch, 2)).astype(np.float32),
    )


def default_step_runs(cnn_batch: int, gru_batch: int) -> dict:
    """{"cnn": step, "gru": step}: the default models, built where this is called.

    The builder of the rows that hand freed memory back (process_runs.py calls it
    in a child process whose environment declines keeping it), set up as the
    command lines are.
    """
    host_memory.keep_freed_memory_unless_declined()
    runtime.apply_fast_cpu_flags()
    images, targets, sequences, gru_targets = _random_batches(cnn_batch, gru_batch)
    cnn_config = load_config("affwild2_cnn")
    return {
        "cnn": project_train_runner(
            FrameCNN(conv_backend=cnn_config.model.conv_backend), cnn_config, images, targets
        ),
        "gru": project_train_runner(
            SequenceRegressor(layer_sizes=(100, 100, 50)),
            load_config("affwild2_rnn", "layers=3"),
            sequences,
            gru_targets,
        ),
    }


def main(argv) -> None:
    del argv
    rounds, cnn_batch, gru_batch = _ROUNDS.value, _CNN_BATCH.value, _GRU_BATCH.value
    # As the project's command lines do, before the first JAX computation.
    kept = host_memory.keep_freed_memory_unless_declined()
    print(f"this process keeps freed memory (host_memory.py): {kept}")
    print(environment_line())
    ceiling = matmul_ceiling(rounds)
    print(f"matmul ceiling (jit dot 2048^3): {ceiling:.1f} GFLOP/s")

    images, targets, sequences, gru_targets = _random_batches(cnn_batch, gru_batch)
    cnn_config = load_config("affwild2_cnn")
    # The config's default (auto: oneDNN on x86 CPUs where the extension loads).
    default_backend = cnn_config.model.conv_backend
    backend = resolve_conv_backend(default_backend)
    first_block = resolve_first_block(FrameCNN().first_block)
    ours = f"project (first block {first_block}, {backend} convs)"
    cnn_models = {
        ours: FrameCNN(conv_backend=default_backend),
        "project, XLA convolutions (conv_backend=xla)": FrameCNN(conv_backend="xla"),
        "project, first block plain (autodiff)": FrameCNN(
            conv_backend=default_backend, first_block="plain"
        ),
        f"project, bfloat16 compute ({backend} convs)": FrameCNN(
            conv_backend=default_backend, compute_dtype="bfloat16"
        ),
        f"project, bfloat16 compute ({backend} convs), plain first block": FrameCNN(
            conv_backend=default_backend, compute_dtype="bfloat16", first_block="plain"
        ),
        "project, bfloat16 compute, XLA convolutions": FrameCNN(
            conv_backend="xla", compute_dtype="bfloat16"
        ),
    }
    if _BARS_ONLY.value:
        bfloat16 = f"project, bfloat16 compute ({backend} convs)"
        cnn_models = {name: cnn_models[name] for name in (ours, bfloat16)}
    cnn_runs = {
        name: project_train_runner(model, cnn_config, images, targets)
        for name, model in cnn_models.items()
    }
    gru_config = load_config("affwild2_rnn", "layers=3")
    gru_models = {
        "project (wavefront scan)": SequenceRegressor(layer_sizes=(100, 100, 50)),
        "project, layer by layer (nn.RNN per layer)": SequenceRegressor(
            layer_sizes=(100, 100, 50), wavefront=False
        ),
    }
    if _BARS_ONLY.value:
        gru_models = {"project (wavefront scan)": gru_models["project (wavefront scan)"]}
    gru_runs = {
        name: project_train_runner(model, gru_config, sequences, gru_targets)
        for name, model in gru_models.items()
    }
    if kept:
        handing_back = process_runs(
            "train_step:default_step_runs",
            {"cnn_batch": cnn_batch, "gru_batch": gru_batch},
            env={host_memory.SWITCH_VARIABLE: "0"},
        )
        name = f"project, freed memory handed back ({host_memory.SWITCH_VARIABLE}=0, own process)"
        cnn_runs[name], gru_runs[name] = handing_back["cnn"], handing_back["gru"]
    for name, (cnn_step, gru_step) in _peer_steps(cnn_batch, gru_batch, _BARS_ONLY.value).items():
        cnn_runs[name], gru_runs[name] = cnn_step, gru_step

    cnn_times = interleaved_seconds(cnn_runs, rounds)
    gflops = cnn_batch / np.median(cnn_times[ours]) * CNN_TRAIN_FLOP_PER_FRAME / 1e9
    print(
        f"CNN train step, batch {cnn_batch}, {rounds} rounds: project {gflops:.1f} GFLOP/s = "
        f"{gflops / ceiling:.0%} of the ceiling ({CNN_TRAIN_FLOP_PER_FRAME / 1e9:.2f} GFLOP/frame)"
    )
    _report(cnn_times, cnn_batch, "frames", ours)
    _against_peer(cnn_times, "TensorFlow Keras")
    gru_times = interleaved_seconds(gru_runs, rounds)
    print(f"GRU 100/100/50 train step, batch {gru_batch}, W=100, {rounds} rounds:")
    _report(gru_times, gru_batch, "sequences", "project (wavefront scan)")
    _against_peer(gru_times, "TensorFlow Keras")


if __name__ == "__main__":
    runtime.apply_fast_cpu_flags()
    app.run(main)

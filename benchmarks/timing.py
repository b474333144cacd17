"""Timing shared by the benchmarks: medians of repeated runs, the project's train step."""

import time

import jax
import jax.numpy as jnp
import numpy as np

from affect_jax import runtime
from affect_jax.config import load_config
from affect_jax.models.cnn import VARIANTS
from affect_jax.models.registry import FRAME_SHAPE, create_model, input_spec
from affect_jax.tasks import registry
from affect_jax.training import sharding, steps


def median_seconds(run, count: int, warmup: bool = True) -> float:
    """Median wall time of `count` calls of `run` (after one untimed call)."""
    if warmup:
        run()  # Compilation and caches.
    times = []
    for _ in range(count):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def interleaved_seconds(runs: dict, rounds: int, pause: float = 0.5) -> dict[str, list[float]]:
    """Per contender, the wall time of each of `rounds` calls, taken in turns.

    Each round calls every contender once (after one untimed warm-up call each),
    starting one further along each round, so a machine that slows down or
    speeds up during the run (shared hosts, thermal limits) shifts them all
    alike and the per-round ratios stay fair. The pause lets one framework's
    idle worker threads stop spinning before the next one runs.
    """
    names = list(runs)
    for name in names:
        runs[name]()
    times = {name: [] for name in names}
    for index in range(rounds):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            time.sleep(pause)
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return times


def ratio_summary(ours: list[float], theirs: list[float]) -> str:
    """Median and range of the per-round speed ratios ours / theirs: "1.05x (0.98-1.11)"."""
    ratios = np.asarray(theirs) / np.asarray(ours)
    return f"{np.median(ratios):.2f}x ({ratios.min():.2f}-{ratios.max():.2f})"


def project_train_runner(model, config, inputs, targets):
    """A call that runs one of the project's train steps on one batch and waits for it."""
    mesh = sharding.make_data_mesh()
    sample = jax.ShapeDtypeStruct(inputs.shape, inputs.dtype)
    holder = {"state": steps.create_train_state(model, config, mesh, sample)}
    step = steps.make_train_step(config, registry.get_task(config), mesh)
    batch = sharding.to_global_batch({"inputs": inputs, "targets": targets}, mesh)

    def run():
        holder["state"], metrics = step(holder["state"], batch)
        metrics["loss"].block_until_ready()

    return run


def project_train_rate(model, config, inputs, targets, count: int) -> tuple[float, float]:
    """(examples/s, seconds of the first step incl. compilation) of the project's step."""
    run = project_train_runner(model, config, inputs, targets)
    start = time.perf_counter()
    run()
    first = time.perf_counter() - start
    return len(inputs) / median_seconds(run, count, warmup=False), first


def matmul_ceiling(count: int, size: int = 2048, dtype=jnp.float32) -> float:
    """GFLOP/s of a jit-compiled size^3 matrix product in `dtype`: the machine's ceiling.

    float32 runs at JAX's default precision, which on NVIDIA GPUs is TF32.
    """
    a = jnp.asarray(np.random.default_rng(0).normal(size=(size, size)), dtype)
    dot = jax.jit(lambda x: x @ x)
    return 2 * size**3 / median_seconds(lambda: dot(a).block_until_ready(), count) / 1e9


def cnn_train_flop_per_frame(model_config, num_outputs: int = 2) -> float:
    """FLOPs of one frame through a FrameCNN train step, from its conv and dense shapes.

    Counts multiply-adds x 2 of the 5x5 convolutions and the dense layers of the
    forward pass (pooling and elementwise work are small beside them), and the
    backward pass as twice the forward (input and weight gradients).
    """
    paddings = VARIANTS[model_config.variant][0]
    size, channels, multiply_adds = FRAME_SHAPE[0], FRAME_SHAPE[2], 0
    for features, padding in zip(model_config.conv_features, paddings, strict=True):
        size = size if padding == "SAME" else size - 4
        multiply_adds += size * size * 25 * channels * features
        channels = features
        size //= 2  # 2x2 max pool; after the last conv, quadrant pooling to 2x2.
    flat = 4 * channels
    multiply_adds += flat * model_config.feature_dim + model_config.feature_dim * num_outputs
    return 3 * 2 * multiply_adds


def environment_line() -> str:
    """What every benchmark prints first: jax version, backend, devices, CPU flag."""
    return (
        f"jax {jax.__version__}, backend {jax.default_backend()}, devices "
        f"{jax.device_count()}, fast CPU convolution flag: {runtime.fast_flag_active()}"
    )


def fresh_model(kind: str, batch_size: int):
    """A VideoModel of the `kind` CNN + GRU configs with initialized weights."""
    from affect_jax.inference.video_model import VideoModel

    arg = "quickstart" if kind == "quickstart" else ""
    cnn_config = load_config("affwild2_cnn", arg)
    rnn_config = load_config("affwild2_rnn", arg)
    mesh = sharding.make_data_mesh()
    cnn_state = steps.create_train_state(
        create_model(cnn_config), cnn_config, mesh, input_spec(cnn_config)
    )
    window, width = rnn_config.rnn.window, cnn_config.model.feature_dim
    rnn_state = steps.create_train_state(
        create_model(rnn_config),
        rnn_config,
        mesh,
        jax.ShapeDtypeStruct((1, window, width), np.float32),
    )
    description = (
        f"{kind} CNN conv {tuple(cnn_config.model.conv_features)}, {width} features; "
        f"GRU {tuple(rnn_config.model.layer_sizes)}, W={window}, target {rnn_config.rnn.target}"
    )
    model = VideoModel(
        cnn_state=cnn_state,
        cnn_path="fresh",
        cnn_columns=(0, 1),
        mesh=mesh,
        batch_size=batch_size,
        rnn_state=rnn_state,
        rnn_path="fresh",
        window=window,
        target=rnn_config.rnn.target,
        feature_dtype="float16",
        cnn_config=cnn_config,
        rnn_config=rnn_config,
    )
    return model, description

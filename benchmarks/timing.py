"""Timing shared by the benchmarks: medians of repeated runs, the project's train step."""

import time

import jax
import jax.numpy as jnp
import numpy as np

from affect_jax import sharding, steps, xla_cpu_flags


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
    step = steps.make_train_step(config, mesh)
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


def matmul_ceiling(count: int) -> float:
    """float32 GFLOP/s of a jit-compiled 2048^3 matrix product: the machine's ceiling."""
    a = jnp.asarray(np.random.default_rng(0).normal(size=(2048, 2048)), jnp.float32)
    dot = jax.jit(lambda x: x @ x)
    return 2 * 2048**3 / median_seconds(lambda: dot(a).block_until_ready(), count) / 1e9


def environment_line() -> str:
    """What every benchmark prints first: jax version, backend, devices, CPU flag."""
    return (
        f"jax {jax.__version__}, backend {jax.default_backend()}, devices "
        f"{jax.device_count()}, fast CPU convolution flag: {xla_cpu_flags.fast_flag_active()}"
    )

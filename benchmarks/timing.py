"""Timing shared by the benchmarks: medians of repeated runs, the project's train step."""

import time

import jax
import numpy as np

from affect_jax import sharding, steps


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


def project_train_rate(model, config, inputs, targets, count: int) -> tuple[float, float]:
    """(examples/s, seconds of the first step incl. compilation) of the project's step."""
    mesh = sharding.make_data_mesh()
    sample = jax.ShapeDtypeStruct(inputs.shape, inputs.dtype)
    holder = {"state": steps.create_train_state(model, config, mesh, sample)}
    step = steps.make_train_step(config, mesh)
    batch = sharding.to_global_batch({"inputs": inputs, "targets": targets}, mesh)

    def run():
        holder["state"], metrics = step(holder["state"], batch)
        metrics["loss"].block_until_ready()

    start = time.perf_counter()
    run()
    first = time.perf_counter() - start
    return len(inputs) / median_seconds(run, count, warmup=False), first

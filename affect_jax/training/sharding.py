"""One code path from one CPU to many hosts: a mesh over a `data` axis.

Parameters are replicated; batches are split along their first dimension.
Each process hands over only its own rows (`jax.make_array_from_process_local_data`),
so the same code runs under `jax.distributed.initialize()` on a TPU slice.
"""

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from affect_jax.runtime import ConfigError

DATA_AXIS = "data"


def make_data_mesh() -> Mesh:
    """A 1-D mesh over every device of every process.

    Auto axis types: with Explicit ones (jax.make_mesh's default) the reshapes in
    quadrant pooling and flatten fail on batch-sharded arrays.
    """
    return jax.make_mesh(
        (jax.device_count(),), (DATA_AXIS,), axis_types=(jax.sharding.AxisType.Auto,)
    )


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def batch_sharded(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def per_process_batch_size(global_batch_size: int, name: str = "batch_size") -> int:
    """Rows each process loads; checks that devices split the batch evenly."""
    if global_batch_size % jax.device_count():
        raise ConfigError(
            f"config.{name}={global_batch_size} does not split evenly over "
            f"{jax.device_count()} devices; use a multiple of {jax.device_count()}."
        )
    return global_batch_size // jax.process_count()


def to_global_batch(local_batch: dict[str, np.ndarray], mesh: Mesh) -> dict[str, Any]:
    """Places this process's rows of a batch onto the data-sharded mesh."""
    sharding = batch_sharded(mesh)
    return {
        key: jax.make_array_from_process_local_data(sharding, value)
        for key, value in local_batch.items()
    }

"""How XLA's SPMD partitioner splits the oneDNN calls over a data mesh.

Without these rules XLA treats a custom call as indivisible and gathers the
whole batch onto every device first (each device would then compute all of
it). Here each device runs its shard of the batch: the forward and the input
gradient are per-example, and the weight gradient of each shard is summed over
the batch's mesh axes (one all-reduce of the small kernel gradient).
"""

import functools

import jax
from jax import lax
from jax.experimental.custom_partitioning import custom_partitioning
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

# Einsum-like factors of each call (Shardy's sharding rules): n batch, h w input
# rows/columns, p q output rows/columns, i j kernel taps, c in and f out channels.
_RULES = {
    "forward": "n h w c, i j c f -> n p q f",
    "backward_data": "n p q f, i j c f -> n h w c",
    "backward_weights": "n h w c, n p q f -> i j c f",
}


def _batch_axes(arg_shape):
    """The mesh axes of the first operand's batch dimension (None: unsharded)."""
    sharding = getattr(arg_shape, "sharding", None)
    spec = getattr(sharding, "spec", ())
    return spec[0] if len(spec) else None


def _local_shape(kind: str, first, second, shape):
    """The result's per-device shape: the global one with the local batch."""
    if kind == "backward_weights":
        return shape
    return (first.shape[0], *shape[1:])


def _make(kind: str, call):
    @functools.partial(custom_partitioning, static_argnums=(2, 3))
    def partitioned(first, second, shape, pads):
        return call(kind, first, second, shape, pads)

    def shardings(mesh, arg_shapes):
        batch = _batch_axes(arg_shapes[0])
        sharded, replicated = NamedSharding(mesh, P(batch)), NamedSharding(mesh, P())
        second = sharded if kind == "backward_weights" else replicated
        result = replicated if kind == "backward_weights" else sharded
        return batch, result, (sharded, second)

    def infer(shape, pads, mesh, arg_shapes, result_shape):
        del shape, pads, result_shape
        return shardings(mesh, arg_shapes)[1]

    def partition(shape, pads, mesh, arg_shapes, result_shape):
        del result_shape
        batch, result_sharding, arg_shardings = shardings(mesh, arg_shapes)

        def lower(first, second):
            local = call(kind, first, second, _local_shape(kind, first, second, shape), pads)
            if kind == "backward_weights" and batch is not None:
                local = lax.psum(local, batch)
            return local

        return mesh, lower, result_sharding, arg_shardings

    partitioned.def_partition(
        partition=partition, infer_sharding_from_operands=infer, sharding_rule=_RULES[kind]
    )
    return partitioned


@functools.cache
def partitioned_calls(call) -> dict:
    """{kind: call(first, second, global result shape, pads)} split over data meshes."""
    return {kind: _make(kind, call) for kind in _RULES}


def split(kind: str, call, first, second, shape, pads) -> jax.Array:
    """`call(kind, first, second, shape, pads)`, each device on its batch shard."""
    return partitioned_calls(call)[kind](first, second, tuple(shape), pads)

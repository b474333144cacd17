"""Stacked recurrent layers scanned as one wavefront: same numbers, fewer serial steps.

Layer-by-layer, a stack of L recurrent layers is L scans of T steps each, and
every step is a few small matrix products that leave the CPU's cores waiting
on one another. Scanned as a wavefront, iteration k advances layer 1 to time k,
layer 2 to time k-1, ... layer L to time k-L+1: the L cell updates of one
iteration read only the previous iteration's states, so XLA can run them side
by side. T + L - 1 iterations replace L * T. On the project's 2-core CPU the
3-layer GRU train step is ~1.17x faster (benchmarks/RESULTS.md).

The cells are written out here over the parameters of flax's `GRUCell` and
`SimpleCell` (same names, same arithmetic), so a model initialised or trained
layer by layer runs unchanged: tests/test_temporal.py compares the two.
"""

import jax
import jax.numpy as jnp


def _dense(params, x):
    out = x @ params["kernel"]
    return out + params["bias"] if "bias" in params else out


def gru_cell(params, h, x):
    """flax.linen.GRUCell: reset gate applied after the recurrent product."""
    r = jax.nn.sigmoid(_dense(params["ir"], x) + _dense(params["hr"], h))
    z = jax.nn.sigmoid(_dense(params["iz"], x) + _dense(params["hz"], h))
    n = jnp.tanh(_dense(params["in"], x) + r * _dense(params["hn"], h))
    return (1.0 - z) * n + z * h


def simple_cell(params, h, x):
    """flax.linen.SimpleCell (tanh, no residual)."""
    return jnp.tanh(_dense(params["i"], x) + _dense(params["h"], h))


CELL_FUNCTIONS = {"gru": gru_cell, "simple_rnn": simple_cell}


def wavefront_scan(cell, layer_params, inputs):
    """[B, T, F] -> the top layer's states [B, T, H], all layers in one scan.

    Args:
      cell: a function (params, h, x) -> new h, a value of CELL_FUNCTIONS.
      layer_params: per layer, the cell's parameters (bottom layer first).
      inputs: [B, T, F] features.
    """
    batch, steps, _ = inputs.shape
    depth = len(layer_params)
    sizes = [hidden_size(params) for params in layer_params]
    time_major = jnp.swapaxes(inputs, 0, 1)
    # L - 1 extra iterations let the upper layers finish the last time steps.
    padding = jnp.zeros((depth - 1, batch, inputs.shape[-1]), inputs.dtype)
    feed = jnp.concatenate([time_major, padding])

    def step(states, iteration_and_input):
        iteration, x = iteration_and_input
        below = (x, *states[:-1])  # Each layer reads the previous iteration's state below it.
        new_states = []
        for layer, (params, h, layer_input) in enumerate(
            zip(layer_params, states, below, strict=True)
        ):
            time = iteration - layer  # The time step this layer reaches in this iteration.
            active = (time >= 0) & (time < steps)
            new_states.append(jnp.where(active, cell(params, h, layer_input), h))
        return tuple(new_states), new_states[-1]

    initial = tuple(jnp.zeros((batch, size), inputs.dtype) for size in sizes)
    _, top = jax.lax.scan(step, initial, (jnp.arange(steps + depth - 1), feed))
    return jnp.swapaxes(top[depth - 1 :], 0, 1)


def hidden_size(params) -> int:
    """Hidden units of a GRUCell or SimpleCell parameter tree."""
    recurrent = params["hn"] if "hn" in params else params["h"]
    return recurrent["kernel"].shape[-1]

"""Stacked recurrent layers scanned as one wavefront: same numbers, fewer serial steps.

Layer-by-layer, a stack of L recurrent layers is L scans of T steps each, and
every step is a few small matrix products that leave the CPU's cores waiting
on one another. Scanned as a wavefront, iteration k advances layer 1 to time k,
layer 2 to time k-1, ... layer L to time k-L+1: the L cell updates of one
iteration read only the previous iteration's states, so XLA can run them side
by side. T + L - 1 iterations replace L * T.

The L - 1 iterations at each end, where only some layers advance, are written
out; the scan covers the rest, where all do, with no masks (1.07x a scan of
every iteration with masks, benchmarks/RESULTS.md).

Each cell is two products, not one per gate: its gates' input kernels side by
side ([F, G*H], input biases added there) and their recurrent kernels side by
side ([H, G*H]); the same dot products in a third of the calls (the 3-layer GRU
train step 1.08x per-gate products, benchmarks/RESULTS.md).

The cells are written out over the parameters of flax's `GRUCell` (reset gate
applied after the recurrent product, as Keras' reset_after=True) and
`SimpleCell` (tanh, no residual), with the same names, so a model initialised
or trained layer by layer runs unchanged: tests/models/test_wavefront.py
compares values and gradients with plain flax layers.
"""

import jax
import jax.numpy as jnp

_GATES = {"gru": ("r", "z", "n"), "simple_rnn": ("",)}


def _stacked(params, cell: str):
    """(input kernel [F, G*H], input bias [G*H], recurrent kernel [H, G*H], recurrent
    bias [G*H]) of one layer; zeros where flax's cell has no bias."""
    gates = _GATES[cell]
    inputs = [params[f"i{g}"] for g in gates]
    recurrent = [params[f"h{g}"] for g in gates]

    def bias(dense):
        return dense["bias"] if "bias" in dense else jnp.zeros_like(dense["kernel"][0])

    return (
        jnp.concatenate([d["kernel"] for d in inputs], axis=1),
        jnp.concatenate([bias(d) for d in inputs]),
        jnp.concatenate([d["kernel"] for d in recurrent], axis=1),
        jnp.concatenate([bias(d) for d in recurrent]),
    )


def _update(cell: str, projected_input, h, projected_state):
    """The new state from the two gate products (biases in)."""
    if cell == "simple_rnn":
        return jnp.tanh(projected_input + projected_state)
    x_r, x_z, x_n = jnp.split(projected_input, 3, axis=-1)
    h_r, h_z, h_n = jnp.split(projected_state, 3, axis=-1)
    r = jax.nn.sigmoid(x_r + h_r)
    z = jax.nn.sigmoid(x_z + h_z)
    n = jnp.tanh(x_n + r * h_n)
    return (1.0 - z) * n + z * h


def wavefront_scan(cell: str, layer_params, inputs):
    """[B, T, F] -> the top layer's states [B, T, H], all layers in one scan.

    Args:
      cell: "gru" (flax's GRUCell) or "simple_rnn" (SimpleCell, tanh, no residual).
      layer_params: per layer, flax's cell parameters (bottom layer first).
      inputs: [B, T, F] features.
    """
    batch, steps, _ = inputs.shape
    depth = len(layer_params)
    stacks = [_stacked(params, cell) for params in layer_params]
    time_major = jnp.swapaxes(inputs, 0, 1)

    def advance(states, x, layers):
        """The states after one iteration in which `layers` (a range) advance."""
        new_states = list(states)
        for layer in layers:
            input_kernel, input_bias, kernel, bias = stacks[layer]
            # Each layer reads the previous iteration's state of the layer below.
            below = x if layer == 0 else states[layer - 1]
            h = states[layer]
            new_states[layer] = _update(
                cell, below @ input_kernel + input_bias, h, h @ kernel + bias
            )
        return tuple(new_states)

    # Iteration k advances the layers l with 0 <= k - l < T. Every layer does in
    # iterations L-1 .. T-1 (one scan, no masks); the few before and after, where
    # only some do, are written out.
    states = tuple(jnp.zeros((batch, hidden_size(p)), inputs.dtype) for p in layer_params)
    first_full, last_full = depth - 1, steps - 1
    tops = []

    def partial_iteration(states, iteration):
        layers = range(max(0, iteration - steps + 1), min(depth, iteration + 1))
        states = advance(states, time_major[iteration] if iteration < steps else None, layers)
        if iteration >= depth - 1:  # The top layer reached time iteration - (L - 1).
            tops.append(states[-1][None])
        return states

    for iteration in range(first_full):
        states = partial_iteration(states, iteration)
    if last_full >= first_full:

        def full_iteration(states, x):
            states = advance(states, x, range(depth))
            return states, states[-1]

        full = time_major[first_full : last_full + 1]
        states, full_tops = jax.lax.scan(full_iteration, states, full)
        tops.append(full_tops)
    for iteration in range(max(first_full, last_full + 1), steps + depth - 1):
        states = partial_iteration(states, iteration)
    return jnp.swapaxes(jnp.concatenate(tops), 0, 1)


def hidden_size(params) -> int:
    """Hidden units of a GRUCell or SimpleCell parameter tree."""
    recurrent = params["hn"] if "hn" in params else params["h"]
    return recurrent["kernel"].shape[-1]

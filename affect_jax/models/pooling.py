"""The CNN's pooling, written for speed on XLA:CPU (STACK.md, benchmarks/train_step.py).

`relu_max_pool_2x2` is ReLU followed by 2x2 stride-2 max pooling, with a
hand-written gradient. Autodiff of the same lines materialises a float mask,
a tie count and a ReLU select over the full-resolution activations (four
passes over 300 MB for the first layer at batch 128); here the forward pass
also keeps each window's winning position (int8) and the gradient is one pass
placing the pooled gradient at the first maximal element in row-major
order, the choice of `nn.max_pool` (XLA's select-and-scatter), and to none
where the window's maximum is <= 0 (ReLU's gradient is 0 there, as in
`jax.nn.relu`). Values and gradients equal `nn.max_pool(nn.relu(x))`'s, ties
included (tests/test_model.py).
"""

import jax
import jax.numpy as jnp


def _crop_even(x: jnp.ndarray) -> jnp.ndarray:
    """Drops an odd trailing row/column, as VALID 2x2 pooling does."""
    _, h, w, _ = x.shape
    if h % 2 == 0 and w % 2 == 0:
        return x
    return x[:, : h - h % 2, : w - w % 2, :]


def _windows(x: jnp.ndarray) -> jnp.ndarray:
    """NHWC (even H, W) -> N x H/2 x 2 x W/2 x 2 x C, a free reshape."""
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c)


def quadrant_pool(x: jnp.ndarray) -> jnp.ndarray:
    """Mean over each of the four image quadrants: NHWC -> N x 2 x 2 x C."""
    x = _crop_even(x)
    b, h, w, c = x.shape
    return x.reshape(b, 2, h // 2, 2, w // 2, c).mean(axis=(2, 4))


@jax.custom_vjp
def _relu_max_pool_even(x: jnp.ndarray) -> jnp.ndarray:
    # max(relu(window)) == relu(max(window)): one pass, no full-size ReLU output.
    return jnp.maximum(_windows(x).max(axis=(2, 4)), 0)


def _forward(x):
    # The backward needs only where each window's maximum was (int8), not x.
    return pooled_with_first_positions(x)


def pooled_with_first_positions(x: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """relu(max) of each 2x2 window of `x` (even-sized NHWC), and int8 [N, H/2, W/2, C]:
    the row-major position (0-3) of the window's first maximum, or 4 where the
    pooled value is <= 0 (ReLU's gradient is 0 there).

    One pass over x: each window's four elements are compared in order, a later
    one winning only if strictly greater (or NaN). (The maximum first and then a search
    for it read x twice: 1.64x slower for the first layer's activations.)
    """
    windows = _windows(x)
    best = windows[:, :, 0, :, 0, :]
    first = jnp.zeros(best.shape, jnp.int8)
    for position in (1, 2, 3):
        row, col = divmod(position, 2)
        candidate = windows[:, :, row, :, col, :]
        greater = (candidate > best) | jnp.isnan(candidate)  # NaN spreads, as in max.
        best = jnp.where(greater, candidate, best)
        first = jnp.where(greater, jnp.int8(position), first)
    return jnp.maximum(best, 0), jnp.where(best > 0, first, jnp.int8(4))


def place_at_positions(values: jnp.ndarray, first: jnp.ndarray) -> jnp.ndarray:
    """[N, H, W, C]: each value of [N, H/2, W/2, C] at its window's `first` position."""
    b, h2, w2, c = values.shape
    position = jnp.arange(4, dtype=jnp.int8).reshape(1, 1, 2, 1, 2, 1)
    wins = position == first[:, :, None, :, None, :]
    return jnp.where(wins, values[:, :, None, :, None, :], 0).reshape(b, 2 * h2, 2 * w2, c)


def _backward(first, pooled_grad):
    return (place_at_positions(pooled_grad, first),)


_relu_max_pool_even.defvjp(_forward, _backward)


def relu_max_pool_2x2(x: jnp.ndarray) -> jnp.ndarray:
    """ReLU then 2x2 stride-2 max pooling of NHWC input, with a one-pass gradient."""
    return _relu_max_pool_even(_crop_even(x))

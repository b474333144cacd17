"""The CNN's first block, input scale/shift -> convolution -> ReLU -> 2x2 max pool, with a
hand-written gradient.

Why: the first convolution has one input channel, a shape XLA:CPU runs at 20-30
GFLOP/s. Autodiff of the plain layers convolves the 96x96x64 activation
gradient (300 MB at batch 128) back to the 1-channel input only to get the two
input-scale gradients, and correlates it with the input through a transposed
copy for the kernel gradient: ~0.4 s of a 2.8 s CPU step. oneDNN is no
better at the convolution back to one channel (0.30 s of a 3.1 s step, at 13
GFLOP/s). Here:

* the activation gradient is built in one pass in its own layout: each pooled
  gradient goes to its window's first maximal element (row-major), as
  `nn.max_pool`'s gradient does, and to none where the maximum is <= 0 (ReLU);
* the kernel gradient is one matrix product of that gradient with the input's
  kh*kw shifted copies (small: the input has one channel), or with
  `conv_backend="onednn"` oneDNN's weight-gradient primitive (as is the
  forward convolution);
* the input is `scale * x_hat + bias` with `x_hat` the normalised frames, and
  convolution is linear, so the kernel gradient is `scale * K(x_hat) + bias *
  K(1)` (K(a): the kernel gradient for input a, zero padding included), and the
  scale and bias gradients are `<kernel, K(x_hat)>` and `<kernel, K(1)>`; no
  convolution back to the input is needed. K(1) is the activation gradient's
  total (a product over the pooled arrays) less padding-wide border strips.

The gradient for `x_hat` itself (say, for a saliency map over the frames) goes
through the plain convolution; in training nothing uses it and XLA drops it.
Values and gradients equal the autodiff of the plain layers, within float32
rounding (tests/test_first_layer.py).
"""

import functools

import jax
import jax.numpy as jnp
from jax import lax

from affect_jax.models.onednn import conv as onednn_conv
from affect_jax.models.pooling import (
    place_at_positions,
    pooled_with_first_positions,
    relu_max_pool_2x2,
)
from affect_jax.runtime import ConfigError

_DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def _padding(kernel_size: int, padding: str) -> tuple[int, int]:
    if padding == "SAME":
        return (kernel_size - 1) // 2, kernel_size // 2
    if padding == "VALID":
        return 0, 0
    raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}")


def _pads(kernel_shape, padding):
    return (_padding(kernel_shape[0], padding), _padding(kernel_shape[1], padding))


def _pre_activation(x_hat, scale, bias, kernel, padding, conv_backend):
    pads = _pads(kernel.shape, padding)
    if conv_backend == "onednn":
        return onednn_conv.convolve(x_hat * scale + bias, kernel, pads)
    return lax.conv_general_dilated(
        x_hat * scale + bias, kernel, (1, 1), pads, dimension_numbers=_DIMENSIONS
    )


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def normalized_conv_relu_pool(x_hat, scale, bias, kernel, padding: str, conv_backend="xla"):
    """max_pool_2x2(relu(conv(x_hat * scale + bias, kernel))), NHWC, no conv bias.

    Args:
      x_hat: [B, H, W, C] normalised input.
      scale, bias: [C] per-channel affine of the input (BatchNorm's gamma and beta).
      kernel: [kh, kw, C, F] convolution kernel.
      padding: "SAME" or "VALID".
      conv_backend: "xla" or "onednn" (resolved): who computes the convolution
        and, with oneDNN, the kernel gradient K(x_hat).
    """
    return relu_max_pool_2x2(_pre_activation(x_hat, scale, bias, kernel, padding, conv_backend))


def _forward(x_hat, scale, bias, kernel, padding, conv_backend):
    y = _pre_activation(x_hat, scale, bias, kernel, padding, conv_backend)
    _, height, width, _ = y.shape
    # The backward needs only where each window's maximum was (int8), not y.
    pooled, first = pooled_with_first_positions(y[:, : height - height % 2, : width - width % 2])
    return pooled, (x_hat, scale, bias, kernel, first, pooled)


def _tap_rows(padded, kh, kw, height, width):
    """[kh*kw*C, B*H*W]: row (i, j, c) is input channel c shifted by kernel tap (i, j)."""
    taps = [
        padded[:, i : i + height, j : j + width, c]
        for i in range(kh)
        for j in range(kw)
        for c in range(padded.shape[-1])
    ]
    return jnp.stack(taps).reshape(len(taps), -1)


def _pad_to(x, height, width):
    """Zero rows/columns after an odd size that 2x2 pooling dropped."""
    _, h, w, _ = x.shape
    if (h, w) == (height, width):
        return x
    return jnp.pad(x, ((0, 0), (0, height - h), (0, width - w), (0, 0)))


def _ones_kernel_gradient(y_grad, total, kernel_shape, rows_padding, cols_padding):
    """K(1): for each tap, the sum of y_grad over the outputs whose input under that
    tap is inside the frame (not zero padding). That is the whole sum (`total`)
    less thin border strips: only padding-wide rows and columns are read."""
    kh, kw, channels, features = kernel_shape
    top, bottom = rows_padding
    left, right = cols_padding
    _, height, width, _ = y_grad.shape
    if height < top + bottom or width < left + right:  # Strips would overlap.
        raise ConfigError(
            f"config.model.first_block='fused' needs frames of at least {top + bottom}x"
            f"{left + right} pixels; got outputs of {height}x{width}. Use first_block='plain'."
        )
    f32 = jnp.float32  # Sums accumulate in float32 whatever the compute dtype.
    top_rows = y_grad[:, :top].sum(axis=(0, 2), dtype=f32)  # [top, F]
    bottom_rows = y_grad[:, height - bottom :].sum(axis=(0, 2), dtype=f32)
    left_cols = y_grad[:, :, :left].sum(axis=(0, 1), dtype=f32)
    right_cols = y_grad[:, :, width - right :].sum(axis=(0, 1), dtype=f32)
    corners = {
        (vertical, horizontal): y_grad[:, rows, cols].sum(axis=0, dtype=f32)
        for vertical, rows in (("top", slice(0, top)), ("bottom", slice(height - bottom, height)))
        for horizontal, cols in (("left", slice(0, left)), ("right", slice(width - right, width)))
    }
    taps = []
    for i in range(kh):
        # Outputs whose tap-i input row is padding: the first/last few rows.
        cut_top, cut_bottom = max(0, top - i), max(0, i - (kh - 1 - bottom))
        row_cuts = {"top": slice(0, cut_top), "bottom": slice(bottom - cut_bottom, bottom)}
        for j in range(kw):
            cut_left, cut_right = max(0, left - j), max(0, j - (kw - 1 - right))
            col_cuts = {"left": slice(0, cut_left), "right": slice(right - cut_right, right)}
            tap = total - top_rows[row_cuts["top"]].sum(0) - bottom_rows[row_cuts["bottom"]].sum(0)
            tap = tap - left_cols[col_cuts["left"]].sum(0) - right_cols[col_cuts["right"]].sum(0)
            for (vertical, horizontal), corner in corners.items():
                tap = tap + corner[row_cuts[vertical], col_cuts[horizontal]].sum(axis=(0, 1))
            taps.append(tap)
    per_tap = jnp.stack(taps).reshape(kh, kw, 1, features)
    return jnp.broadcast_to(per_tap, kernel_shape)


def _hat_kernel_gradient(x_hat, y_grad, kernel_shape, pads, conv_backend):
    """K(x_hat) in float32: oneDNN's weight gradient, or one product of shifted copies."""
    if conv_backend == "onednn":
        return onednn_conv.kernel_gradient(x_hat, y_grad, kernel_shape, pads).astype(jnp.float32)
    kh, kw, _, features = kernel_shape
    _, height, width, _ = y_grad.shape
    (top, bottom), (left, right) = pads
    padded = jnp.pad(x_hat, ((0, 0), (top, bottom), (left, right), (0, 0)))
    hat_rows = _tap_rows(padded, kh, kw, height, width)
    # Products accumulate in float32 whatever the compute dtype.
    k_hat = jnp.matmul(hat_rows, y_grad.reshape(-1, features), preferred_element_type=jnp.float32)
    return k_hat.reshape(kernel_shape)


def _backward(padding, conv_backend, residuals, pooled_grad):
    x_hat, scale, bias, kernel, first, pooled = residuals
    kh, kw, _, features = kernel.shape
    pads = _pads(kernel.shape, padding)
    (top, bottom), (left, right) = pads
    height = x_hat.shape[1] + top + bottom - kh + 1  # The convolution's output size.
    width = x_hat.shape[2] + left + right - kw + 1
    y_grad = _pad_to(place_at_positions(pooled_grad, first), height, width)
    k_hat = _hat_kernel_gradient(x_hat, y_grad, kernel.shape, pads, conv_backend)
    f32 = jnp.float32
    # The sum of y_grad: the pooled gradients of windows with a positive maximum.
    # As a product, because XLA:CPU splits a large sum into a slow reduce-window
    # tree; from the pooled arrays, so that y_grad is not computed a second time.
    reaching = jnp.where(pooled > 0, pooled_grad, 0).reshape(-1, features)
    ones = jnp.ones((1, reaching.shape[0]), reaching.dtype)
    total = jnp.matmul(ones, reaching, preferred_element_type=f32)[0]
    k_one = _ones_kernel_gradient(y_grad, total, kernel.shape, (top, bottom), (left, right))
    kernel_f32, scale_f32, bias_f32 = (v.astype(f32) for v in (kernel, scale, bias))
    kernel_grad = scale_f32[:, None] * k_hat + bias_f32[:, None] * k_one
    scale_grad = (kernel_f32 * k_hat).sum(axis=(0, 1, 3))
    bias_grad = (kernel_f32 * k_one).sum(axis=(0, 1, 3))
    # The input gradient through the plain convolution (XLA drops it when unused).
    _, pullback = jax.vjp(
        lambda x: _pre_activation(x, scale, bias, kernel, padding, conv_backend), x_hat
    )
    grads = (scale_grad, bias_grad, kernel_grad)
    return (
        pullback(y_grad)[0],
        *(g.astype(v.dtype) for g, v in zip(grads, (scale, bias, kernel), strict=True)),
    )


normalized_conv_relu_pool.defvjp(_forward, _backward)

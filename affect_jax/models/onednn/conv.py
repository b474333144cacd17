"""A `lax.conv_general_dilated` for the CNN whose convolutions run in oneDNN.

`conv_general_dilated` takes the same arguments as the lax function (flax's
`nn.Conv(conv_general_dilated=...)` passes them) and sends what FrameCNN uses,
NHWC/HWIO, stride 1, no dilation, one group, float32 or bfloat16, to the
oneDNN handlers (csrc/conv.cc); anything else goes to lax unchanged. The
gradient is a `jax.custom_vjp` of two more handlers (input gradient, weight
gradient), so `jax.grad` and `jax.jit` work as with lax.
"""

import functools
import platform

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from jax import lax

from affect_jax.models.onednn import library, partition
from affect_jax.runtime import ConfigError

CONV_BACKENDS = ("auto", "xla", "onednn")
_NHWC = ("NHWC", "HWIO", "NHWC")


def _pads_attributes(pads) -> dict:
    (top, bottom), (left, right) = pads
    return {
        "pad_top": np.int64(top),
        "pad_bottom": np.int64(bottom),
        "pad_left": np.int64(left),
        "pad_right": np.int64(right),
    }


def _ffi_call(kind: str, first, second, shape, pads):
    loaded, reason = library.status()  # Registers the handlers on first use.
    if not loaded:
        raise ConfigError(f"oneDNN convolutions are unavailable: {reason}; {library.HOW_TO_BUILD}.")
    result = jax.ShapeDtypeStruct(shape, first.dtype)
    return jax.ffi.ffi_call(library.TARGETS[kind], result)(first, second, **_pads_attributes(pads))


def _call(kind: str, first, second, shape, pads):
    # Through the partitioning rules, so that on a data mesh each device runs its shard.
    return partition.split(kind, _ffi_call, first, second, shape, pads)


def _output_shape(x_shape, kernel_shape, pads):
    (top, bottom), (left, right) = pads
    height = x_shape[1] + top + bottom - kernel_shape[0] + 1
    width = x_shape[2] + left + right - kernel_shape[1] + 1
    return (x_shape[0], height, width, kernel_shape[3])


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv(x, kernel, pads):
    """Stride-1 NHWC convolution with an HWIO kernel, computed by oneDNN.

    Args:
      x: [N, H, W, C], float32 or bfloat16.
      kernel: [KH, KW, C, F], same dtype as x.
      pads: ((top, bottom), (left, right)) zero padding, non-negative ints.

    Returns:
      [N, H + top + bottom - KH + 1, W + left + right - KW + 1, F], x's dtype.
    """
    return _call("forward", x, kernel, _output_shape(x.shape, kernel.shape, pads), pads)


def _forward(x, kernel, pads):
    return conv(x, kernel, pads), (x, kernel)


def _backward(pads, residuals, y_grad):
    x, kernel = residuals
    y_grad = y_grad.astype(x.dtype)
    x_grad = _call("backward_data", y_grad, kernel, x.shape, pads)
    kernel_grad = _call("backward_weights", x, y_grad, kernel.shape, pads)
    return x_grad, kernel_grad


conv.defvjp(_forward, _backward)


def _native(*arrays):
    """`arrays` as oneDNN computes them here: bfloat16 as float32 where it has no native path."""
    if arrays[0].dtype == jnp.bfloat16 and not library.native_bfloat16():
        _warn_float32(str(arrays[0].dtype))
        return tuple(a.astype(jnp.float32) for a in arrays)
    return arrays


def convolve(x, kernel, pads):
    """`conv` in x's dtype, through float32 where the CPU has no native bfloat16."""
    return conv(*_native(x, kernel), pads).astype(x.dtype)


def kernel_gradient(x, y_grad, kernel_shape, pads):
    """The weight gradient of `conv(x, kernel, pads)` for the output gradient `y_grad`
    (x's dtype): oneDNN's weight-gradient primitive alone, for hand-written gradients."""
    x_native, y_native = _native(x, y_grad.astype(x.dtype))
    return _call("backward_weights", x_native, y_native, tuple(kernel_shape), pads).astype(x.dtype)


def _all_ones(values) -> bool:
    return values is None or all(v == 1 for v in values)


def _explicit_pads(padding, x_shape, kernel_shape):
    """((top, bottom), (left, right)) for lax's padding argument, or None if negative."""
    if isinstance(padding, str):
        padding = lax.padtype_to_pads(x_shape[1:3], kernel_shape[:2], (1, 1), padding)
    pads = tuple((int(low), int(high)) for low, high in padding)
    return pads if all(v >= 0 for pair in pads for v in pair) else None


@functools.cache
def _warn_float32(dtype: str) -> None:
    logging.info(
        "conv_backend=onednn: this CPU has no native bfloat16 in oneDNN; %s "
        "convolutions are computed in float32.",
        dtype,
    )


def conv_general_dilated(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    feature_group_count=1,
    batch_group_count=1,
    precision=None,
    preferred_element_type=None,
):
    """`lax.conv_general_dilated`, through oneDNN where it applies (module docstring)."""
    lax_args = (lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation)
    lax_kwargs = {
        "dimension_numbers": dimension_numbers,
        "feature_group_count": feature_group_count,
        "batch_group_count": batch_group_count,
        "precision": precision,
        "preferred_element_type": preferred_element_type,
    }
    supported = (
        lhs.ndim == 4
        and rhs.ndim == 4
        and lhs.dtype == rhs.dtype
        and lhs.dtype in (jnp.float32, jnp.bfloat16)
        and _all_ones(window_strides)
        and _all_ones(lhs_dilation)
        and _all_ones(rhs_dilation)
        and feature_group_count == 1
        and batch_group_count == 1
        and preferred_element_type is None
        and dimension_numbers is not None
        and lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
        == lax.conv_dimension_numbers(lhs.shape, rhs.shape, _NHWC)
    )
    pads = _explicit_pads(padding, lhs.shape, rhs.shape) if supported else None
    if pads is None:
        return lax.conv_general_dilated(*lax_args, **lax_kwargs)
    return convolve(lhs, rhs, pads)


@functools.cache
def _log_fallback(reason: str) -> None:
    logging.info(
        "config.model.conv_backend=auto: XLA convolutions, because %s; for the faster "
        "oneDNN ones, %s.",
        reason,
        library.HOW_TO_BUILD,
    )


def resolve_conv_backend(conv_backend: str) -> str:
    """Returns "onednn" or "xla": what `conv_backend` means on this machine.

    "auto" is oneDNN on x86-64 CPUs whose extension loads (one log line says
    why not otherwise), XLA on other backends (GPU, TPU) and machines.

    Raises:
      ConfigError: an unknown value, or "onednn" where the extension is missing.
    """
    if conv_backend not in CONV_BACKENDS:
        raise ConfigError(
            f"Unknown config.model.conv_backend {conv_backend!r}; valid: "
            f"{', '.join(CONV_BACKENDS)}."
        )
    if conv_backend == "xla":
        return "xla"
    loaded, reason = library.status()
    if conv_backend == "onednn":
        if not loaded:
            raise ConfigError(
                f"config.model.conv_backend='onednn', but {reason}; {library.HOW_TO_BUILD}, "
                "or use conv_backend='auto' or 'xla'."
            )
        return "onednn"
    if jax.default_backend() != "cpu" or platform.machine() not in ("x86_64", "AMD64"):
        return "xla"
    if not loaded:
        _log_fallback(reason)
        return "xla"
    return "onednn"

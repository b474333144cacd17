"""Batch normalisation of the input frames that hands back its parts.

The CNN's fused first block (models/first_layer.py) needs the normalised frames
and the learned scale and bias separately. This module has the variables of
`nn.BatchNorm` under the same names (params scale and bias, batch_stats mean
and var), the same statistics (float32, E[x^2] - E[x]^2 clipped at 0) and the
same running-average update, so checkpoints move freely between the fused and
the plain first block.
"""

import flax.linen as nn
import jax.numpy as jnp


class InputNormalization(nn.Module):
    """[B, H, W, C] -> (x_hat, scale, bias) with BatchNorm(x) = x_hat * scale + bias."""

    momentum: float = 0.99
    epsilon: float = 1e-3

    @nn.compact
    def __call__(self, x: jnp.ndarray, *, train: bool):
        channels = x.shape[-1]
        mean_stat = self.variable("batch_stats", "mean", jnp.zeros, (channels,), jnp.float32)
        var_stat = self.variable("batch_stats", "var", jnp.ones, (channels,), jnp.float32)
        scale = self.param("scale", nn.initializers.ones, (channels,), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros, (channels,), jnp.float32)
        x = x.astype(jnp.float32)
        if train:
            axes = tuple(range(x.ndim - 1))
            mean = x.mean(axis=axes)
            var = jnp.maximum((x * x).mean(axis=axes) - mean * mean, 0.0)
            if not self.is_initializing():
                mean_stat.value = self.momentum * mean_stat.value + (1 - self.momentum) * mean
                var_stat.value = self.momentum * var_stat.value + (1 - self.momentum) * var
        else:
            mean, var = mean_stat.value, var_stat.value
        return (x - mean) * jnp.reciprocal(jnp.sqrt(var + self.epsilon)), scale, bias


class ConvKernel(nn.Module):
    """Only the kernel of a bias-free `nn.Conv` (same name, shape and initialiser)."""

    features: int
    kernel_size: tuple[int, int]

    @nn.compact
    def __call__(self, in_channels: int) -> jnp.ndarray:
        shape = (*self.kernel_size, in_channels, self.features)
        return self.param("kernel", nn.initializers.glorot_uniform(), shape, jnp.float32)

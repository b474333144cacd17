"""The single-frame CNN: feature extractor plus a regression or class head.

Reference layout (the authors' released Keras code, REFERENCE.md):
  BatchNorm(input) -> Conv64 5x5 SAME -> MaxPool2 -> Conv128 5x5 VALID ->
  MaxPool2 -> Conv256 5x5 VALID -> quadrant pooling (mean over each 2x2 quadrant)
  -> Dense 300 (linear: the feature) -> Dropout 0.5 -> head.
Khorrami et al.'s original network (the paper's [6]) pads every convolution and
puts a ReLU on the 300-unit layer; `variant="khorrami"` builds that one.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from affect_jax.models.first_layer import normalized_conv_relu_pool
from affect_jax.models.input_norm import ConvKernel, InputNormalization
from affect_jax.models.onednn import conv as onednn_conv
from affect_jax.models.pooling import quadrant_pool, relu_max_pool_2x2
from affect_jax.runtime import ConfigError

# Padding of the three convolutions and the activation of the feature layer.
VARIANTS = {
    "reference": (("SAME", "VALID", "VALID"), None),
    "khorrami": (("SAME", "SAME", "SAME"), nn.relu),
}


COMPUTE_DTYPES = ("float32", "bfloat16")
# How the first block (input norm, conv1, ReLU, pool) is computed; same values.
# "fused": one hand-written gradient (models/first_layer.py) that never
# convolves back to the 1-channel input: a 1.07-1.09x faster CPU train step with
# XLA's convolutions, 1.01-1.08x (float32) / 1.08-1.11x (bfloat16) with oneDNN's; "plain":
# flax layers and autodiff; "auto": fused on CPU, plain elsewhere (not measured
# on GPU/TPU yet).
FIRST_BLOCKS = ("auto", "fused", "plain")


def resolve_first_block(first_block: str) -> str:
    """Returns "fused" or "plain": what `first_block` means on the current backend.

    "auto" is fused where it was measured to pay: on CPU, with either conv
    backend (with oneDNN, the fused block's convolution and kernel gradient run
    there too). benchmarks/RESULTS.md, issue 19.
    """
    if first_block not in FIRST_BLOCKS:
        raise ConfigError(
            f"Unknown config.model.first_block {first_block!r}; valid: {', '.join(FIRST_BLOCKS)}."
        )
    if first_block == "auto":
        return "fused" if jax.default_backend() == "cpu" else "plain"
    return first_block


class FrameCNN(nn.Module):
    """Maps 96x96x1 frames (uint8 pixels, or floats in [0, 1]) to outputs and features.

    Attributes:
      num_outputs: units of the head (2 for valence+arousal, 1 for one of
        them, 8 for the CK+ expression classes; logits, no softmax).
      conv_features: channels of the three 5x5 convolutions.
      feature_dim: width of the feature layer that the RNN stage consumes.
      dropout_rate: dropout between the feature layer and the head.
      variant: a key of VARIANTS.
    """

    num_outputs: int = 2
    conv_features: Sequence[int] = (64, 128, 256)
    feature_dim: int = 300
    dropout_rate: float = 0.5
    variant: str = "reference"
    # Dtype of activations and matmuls; parameters, BatchNorm statistics and
    # the returned outputs and features stay float32 (mixed precision).
    compute_dtype: str = "float32"
    first_block: str = "auto"
    # "auto", "xla" or "onednn" (onednn/conv.py): who computes conv2, conv3 (and
    # conv1 when the first block is plain); the parameters are the same.
    conv_backend: str = "xla"

    @nn.compact
    def __call__(self, images: jnp.ndarray, *, train: bool, return_features: bool = False):
        if self.variant not in VARIANTS:
            raise ConfigError(
                f"Unknown CNN variant {self.variant!r}; valid: "
                f"{', '.join(VARIANTS)} (config key model.variant)."
            )
        paddings, feature_activation = VARIANTS[self.variant]
        if len(self.conv_features) != len(paddings):
            raise ConfigError(
                f"config.model.conv_features={tuple(self.conv_features)} must give "
                f"{len(paddings)} widths, one per convolution."
            )
        if self.compute_dtype not in COMPUTE_DTYPES:
            raise ConfigError(
                f"Unknown config.model.compute_dtype {self.compute_dtype!r}; valid: "
                f"{', '.join(COMPUTE_DTYPES)}."
            )
        dtype = jnp.dtype(self.compute_dtype)
        if images.dtype == jnp.uint8:  # Pixels travel as uint8 (4x less to copy).
            images = images.astype(jnp.float32) / 255.0
        conv_backend = onednn_conv.resolve_conv_backend(self.conv_backend)
        first_block = resolve_first_block(self.first_block)
        conv_function = onednn_conv.conv_general_dilated if conv_backend == "onednn" else None
        # Keras BatchNormalization defaults: momentum 0.99, epsilon 1e-3.
        if first_block == "fused":
            x_hat, scale, bias = InputNormalization(0.99, 1e-3, name="input_norm")(
                images, train=train
            )
            kernel = ConvKernel(self.conv_features[0], (5, 5), name="conv1")(images.shape[-1])
            parts = (part.astype(dtype) for part in (x_hat, scale, bias, kernel))
            x = normalized_conv_relu_pool(*parts, paddings[0], conv_backend)
        else:
            x = nn.BatchNorm(
                use_running_average=not train,
                momentum=0.99,
                epsilon=1e-3,
                dtype=dtype,
                name="input_norm",
            )(images)
        for i, (features, padding) in enumerate(zip(self.conv_features, paddings, strict=True)):
            if i == 0 and first_block == "fused":
                continue
            x = nn.Conv(
                features,
                (5, 5),
                padding=padding,
                use_bias=False,
                kernel_init=nn.initializers.glorot_uniform(),
                dtype=dtype,
                # None: flax's default, lax.conv_general_dilated.
                conv_general_dilated=conv_function,
                name=f"conv{i + 1}",
            )(x)
            x = relu_max_pool_2x2(x) if i < 2 else quadrant_pool(nn.relu(x))
        x = x.reshape(x.shape[0], -1)
        features = nn.Dense(
            self.feature_dim,
            kernel_init=nn.initializers.glorot_uniform(),
            dtype=dtype,
            name="features",
        )(x)
        if feature_activation is not None:
            features = feature_activation(features)
        x = nn.Dropout(self.dropout_rate, deterministic=not train)(features)
        outputs = nn.Dense(
            self.num_outputs, kernel_init=nn.initializers.glorot_uniform(), dtype=dtype, name="head"
        )(x)
        outputs = outputs.astype(jnp.float32)  # The loss is computed in float32.
        if return_features:
            return outputs, features.astype(jnp.float32)
        return outputs

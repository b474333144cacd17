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
import jax.numpy as jnp

# Padding of the three convolutions and the activation of the feature layer.
VARIANTS = {
    "reference": (("SAME", "VALID", "VALID"), None),
    "khorrami": (("SAME", "SAME", "SAME"), nn.relu),
}


COMPUTE_DTYPES = ("float32", "bfloat16")


def max_pool_2x2(x: jnp.ndarray) -> jnp.ndarray:
    """2x2 stride-2 max pooling of NHWC input, written as reshape + max.

    Same values as `nn.max_pool`; its gradient is ~3x cheaper on XLA:CPU than
    the reduce-window one (STACK.md). An odd trailing row/column is dropped, as
    VALID pooling does.
    """
    b, h, w, c = x.shape
    x = x[:, : h - h % 2, : w - w % 2, :]
    return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def quadrant_pool(x: jnp.ndarray) -> jnp.ndarray:
    """Mean over each of the four image quadrants: NHWC -> N x 2 x 2 x C."""
    b, h, w, c = x.shape
    x = x[:, : h - h % 2, : w - w % 2, :]
    return x.reshape(b, 2, h // 2, 2, w // 2, c).mean(axis=(2, 4))


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

    @nn.compact
    def __call__(self, images: jnp.ndarray, *, train: bool, return_features: bool = False):
        if self.variant not in VARIANTS:
            raise ValueError(
                f"Unknown CNN variant {self.variant!r}; valid: "
                f"{', '.join(VARIANTS)} (config key model.variant)."
            )
        paddings, feature_activation = VARIANTS[self.variant]
        if len(self.conv_features) != len(paddings):
            raise ValueError(
                f"config.model.conv_features={tuple(self.conv_features)} must give "
                f"{len(paddings)} widths, one per convolution."
            )
        if self.compute_dtype not in COMPUTE_DTYPES:
            raise ValueError(
                f"Unknown config.model.compute_dtype {self.compute_dtype!r}; valid: "
                f"{', '.join(COMPUTE_DTYPES)}."
            )
        dtype = jnp.dtype(self.compute_dtype)
        if images.dtype == jnp.uint8:  # Pixels travel as uint8 (4x less to copy).
            images = images.astype(jnp.float32) / 255.0
        # Keras BatchNormalization defaults: momentum 0.99, epsilon 1e-3.
        x = nn.BatchNorm(
            use_running_average=not train,
            momentum=0.99,
            epsilon=1e-3,
            dtype=dtype,
            name="input_norm",
        )(images)
        for i, (features, padding) in enumerate(zip(self.conv_features, paddings, strict=True)):
            x = nn.Conv(
                features,
                (5, 5),
                padding=padding,
                use_bias=False,
                kernel_init=nn.initializers.glorot_uniform(),
                dtype=dtype,
                name=f"conv{i + 1}",
            )(x)
            x = nn.relu(x)
            x = max_pool_2x2(x) if i < 2 else quadrant_pool(x)
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

"""bfloat16 compute with float32 parameters learns like float32."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affect_jax.models.cnn import FrameCNN
from affect_jax.stages import train
from tests.helpers import train_helpers


def test_parameters_and_outputs_stay_float32():
    model = FrameCNN(conv_features=(8, 16, 16), feature_dim=32, compute_dtype="bfloat16")
    images = np.random.default_rng(0).integers(0, 256, (2, 96, 96, 1), dtype=np.uint8)
    # Compiled, as training and prediction run them (op by op takes seconds more).
    variables = jax.jit(lambda key: model.init(key, images, train=False))(jax.random.PRNGKey(0))
    assert {leaf.dtype for leaf in jax.tree.leaves(variables)} == {jnp.dtype("float32")}
    outputs, features = jax.jit(
        lambda v: model.apply(v, images, train=False, return_features=True)
    )(variables)
    assert outputs.dtype == features.dtype == jnp.float32
    float32_model = FrameCNN(conv_features=(8, 16, 16), feature_dim=32)
    reference = jax.jit(lambda v: float32_model.apply(v, images, train=False))(variables)
    # Same function up to bfloat16 rounding: outputs of 0.09-0.37 differ by 1.1e-3.
    np.testing.assert_allclose(outputs, reference, rtol=0, atol=3e-3)


@pytest.mark.long(18)
def test_bfloat16_training_learns_like_float32(tiny_affwild2, tmp_path, tiny_cnn_run):
    config = train_helpers.tiny_config(
        tiny_affwild2, num_train_steps=150, eval_every_steps=75, checkpoint_every_steps=75
    )
    config.model.compute_dtype = "bfloat16"
    mixed = train.train_and_evaluate(config, str(tmp_path))
    # Anchored on the same config's float32 run (whose learning test_train checks).
    full = tiny_cnn_run[1]
    for key in ("ccc_valence", "ccc_arousal"):
        assert abs(mixed[key] - full[key]) < 0.05, (key, mixed[key], full[key])

"""The oneDNN convolution backend equals lax.conv_general_dilated, values and gradients.

Nothing here skips: the project's install compiles the extension (setup.py,
build_onednn.py), so a missing one is a failure that names the reason.
Tolerances: float32 within 2e-5 of the largest reference value (summation
order differs); bfloat16 within 1e-2 of it, about two bfloat16 roundings of the
largest value (each side rounds its float32 sums to bfloat16 once).
"""

import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from affect_jax.config import load_config
from affect_jax.models.cnn import VARIANTS, FrameCNN
from affect_jax.models.onednn import conv as onednn_conv
from affect_jax.models.onednn import library
from affect_jax.runtime import ConfigError
from affect_jax.training.checkpoints import COMPUTE_ONLY_MODEL_KEYS
from tests.helpers.onednn_calls import onednn_calls

# oneDNN's handlers are registered for the CPU; on a GPU host `auto` means XLA.
pytestmark = pytest.mark.cpu_only
REPO = Path(__file__).resolve().parents[2]
_DIMENSIONS = ("NHWC", "HWIO", "NHWC")
_TOLERANCE = {"float32": 2e-5, "bfloat16": 1e-2}


def _model_shapes() -> list[tuple[int, int, int, str]]:
    """(input size, in channels, out channels, padding) of every convolution the
    reference, quickstart and tiny CNNs run, in both variants (96x96 frames)."""
    shapes = set()
    for features in ((64, 128, 256), (16, 32, 64), (8, 16, 16)):
        for paddings, _ in VARIANTS.values():
            size, channels = 96, 1
            for width, padding in zip(features, paddings, strict=True):
                shapes.add((size, channels, width, padding))
                size = (size - 4 if padding == "VALID" else size) // 2
                channels = width
    return sorted(shapes)


def _pieces(conv_function, x, kernel, padding, y_grad):
    """Output, input gradient and kernel gradient for the cotangent y_grad."""

    def apply(x, kernel):
        return conv_function(x, kernel, (1, 1), padding, dimension_numbers=_DIMENSIONS)

    y, pullback = jax.vjp(apply, x, kernel)
    return (y, *pullback(y_grad))


def _assert_close(actual, expected, dtype: str) -> None:
    for got, want in zip(actual, expected, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        got, want = np.asarray(got, np.float32), np.asarray(want, np.float32)
        scale = float(np.abs(want).max())
        np.testing.assert_allclose(got, want, rtol=0, atol=_TOLERANCE[dtype] * scale)


def _compare(batch, size, channels, features, padding, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.normal(size=(batch, size, size, channels)), dtype)
    kernel = jnp.asarray(rng.normal(size=(5, 5, channels, features)) * 0.1, dtype)
    out_size = size if padding == "SAME" else size - 4
    y_grad = jnp.asarray(rng.normal(size=(batch, out_size, out_size, features)), dtype)
    pieces = jax.jit(_pieces, static_argnums=(0, 3))
    expected = pieces(lax.conv_general_dilated, x, kernel, padding, y_grad)
    actual = pieces(onednn_conv.conv_general_dilated, x, kernel, padding, y_grad)
    _assert_close(actual, expected, dtype)
    # oneDNN computed them: the forward pass and both gradients are its calls.
    lowered = pieces.lower(onednn_conv.conv_general_dilated, x, kernel, padding, y_grad)
    assert onednn_calls(lowered) == set(library.TARGETS)
    assert not onednn_calls(pieces.lower(lax.conv_general_dilated, x, kernel, padding, y_grad))


def test_extension_loads():
    loaded, reason = library.status()
    assert loaded, f"the oneDNN extension must be built by the install: {reason}"
    assert onednn_conv.resolve_conv_backend("auto") == "onednn"


@pytest.mark.parametrize("shape", _model_shapes(), ids=str)
def test_model_shapes_float32_odd_batch(shape):
    _compare(3, *shape, "float32")


@pytest.mark.parametrize("shape", [s for s in _model_shapes() if s[1] >= 64], ids=str)
def test_reference_shapes_batch_one_float32_and_bfloat16(shape):
    _compare(1, *shape, "float32", seed=1)
    _compare(1, *shape, "bfloat16", seed=2)


def test_other_convolutions_go_to_lax():
    x = jnp.ones((2, 9, 9, 4))
    kernel = jnp.ones((3, 3, 4, 5))
    strided = onednn_conv.conv_general_dilated(
        x, kernel, (2, 2), "SAME", dimension_numbers=_DIMENSIONS
    )
    expected = lax.conv_general_dilated(x, kernel, (2, 2), "SAME", dimension_numbers=_DIMENSIONS)
    np.testing.assert_array_equal(strided, expected)


def _cnn_value_and_grads(model, images, targets):
    params = jax.jit(lambda key: model.init(key, images, train=False))(jax.random.key(0))

    def loss(params):
        outputs = model.apply(params, images, train=False)
        return jnp.mean((outputs - targets) ** 2)

    value_and_grad = jax.jit(jax.value_and_grad(loss))
    return params, value_and_grad(params), onednn_calls(value_and_grad.lower(params))


# Both variants and both first blocks, in two models (compiling is the slow part).
@pytest.mark.parametrize(
    ("variant", "first_block"), [("reference", "plain"), ("khorrami", "fused")]
)
def test_frame_cnn_same_parameters_outputs_and_gradients(variant, first_block):
    model_config = load_config("affwild2_cnn", "tiny").model
    rng = np.random.default_rng(0)
    images = jnp.asarray(rng.integers(0, 256, (3, 96, 96, 1)), jnp.uint8)
    targets = jnp.asarray(rng.uniform(-1, 1, (3, 2)), jnp.float32)
    results = {}
    for backend in ("xla", "onednn"):
        model = FrameCNN(
            conv_features=tuple(model_config.conv_features),
            feature_dim=model_config.feature_dim,
            variant=variant,
            first_block=first_block,
            conv_backend=backend,
        )
        results[backend] = _cnn_value_and_grads(model, images, targets)
    (xla_params, (xla_loss, xla_grads), xla_calls), (params, (loss, grads), calls) = (
        results.values()
    )
    # conv2 and conv3 (and their gradients) run through oneDNN only when asked.
    assert calls == set(library.TARGETS) and not xla_calls
    assert jax.tree.structure(params) == jax.tree.structure(xla_params)
    jax.tree.map(np.testing.assert_array_equal, params, xla_params)
    np.testing.assert_allclose(loss, xla_loss, rtol=1e-5)
    for got, want in zip(jax.tree.leaves(grads), jax.tree.leaves(xla_grads), strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * float(np.abs(want).max()))


def test_backend_choice_and_fallback(monkeypatch, caplog):
    assert "conv_backend" in COMPUTE_ONLY_MODEL_KEYS
    # The default: oneDNN where it loads (this CI host), so the kill-and-resume test
    # of tests/stages/test_train.py runs through oneDNN.
    assert load_config("affwild2_cnn").model.conv_backend == "auto"
    assert onednn_conv.resolve_conv_backend("auto") == "onednn"
    assert onednn_conv.resolve_conv_backend("xla") == "xla"
    with pytest.raises(ConfigError, match="conv_backend"):
        onednn_conv.resolve_conv_backend("cudnn")
    monkeypatch.setattr(library, "status", lambda: (False, "test: no extension here"))
    assert onednn_conv.resolve_conv_backend("auto") == "xla"
    with pytest.raises(ConfigError, match="test: no extension here"):
        onednn_conv.resolve_conv_backend("onednn")


# On 2 fake CPU devices each runs its half of the batch (partition.py: no
# all-gather, batch-2 calls, one all-reduce of the kernel gradient) and the
# values match lax's. tests/training/test_multi_device.py runs the whole train
# step on 2 devices with the default backend (oneDNN here).
_MESH_SCRIPT = """
import jax, jax.numpy as jnp, numpy as np
from jax import lax
from jax.sharding import NamedSharding, PartitionSpec as P
from affect_jax.models.onednn import conv
assert jax.device_count() == 2, jax.devices()
mesh = jax.make_mesh((2,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
rng = np.random.default_rng(0)
x = rng.normal(size=(4, 22, 22, 16)).astype(np.float32)
x = jax.device_put(x, NamedSharding(mesh, P("data")))
w = jnp.asarray(rng.normal(size=(5, 5, 16, 8)).astype(np.float32))
def loss(fn):
    def apply(x, w):
        y = fn(x, w, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return jnp.sum(y**2)
    return jax.jit(jax.value_and_grad(apply, (0, 1)))
step = loss(conv.conv_general_dilated)
hlo = step.lower(x, w).compile().as_text()
assert "all-gather" not in hlo and "f32[2,18,18,8]" in hlo and "all-reduce" in hlo, hlo
for a, b in zip(jax.tree.leaves(step(x, w)), jax.tree.leaves(loss(lax.conv_general_dilated)(x, w))):
    np.testing.assert_allclose(a, b, rtol=0, atol=2e-5 * float(np.abs(b).max()))
print("mesh ok")
"""


def test_two_device_data_mesh():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env["XLA_FLAGS"] = env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    result = subprocess.run(
        [sys.executable, "-c", _MESH_SCRIPT], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mesh ok" in result.stdout

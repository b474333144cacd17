r"""Where the CNN step's time goes: each convolution's forward, input-gradient and
weight-gradient pieces, against the matmul ceiling measured in the same run.

    python benchmarks/conv_pieces.py [--steps=5] [--batch=128]

Each piece is jitted alone (lax.conv_general_dilated and its VJPs, as autodiff
of the plain layers emits them) on random inputs; warm-up excluded, median of
--steps. The first layer's input gradient is what the fused first block
(models/first_layer.py) avoids; the rest are XLA:CPU's (Eigen's) convolutions.
"""

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from jax import lax
from timing import environment_line, matmul_ceiling, median_seconds

from affect_jax import runtime

_STEPS = flags.DEFINE_integer("steps", 5, "Timed runs per piece (median).")
_BATCH = flags.DEFINE_integer("batch", 128, "Frames per batch.")

# (input size, input channels, output channels, padding) of the reference CNN.
LAYERS = ((96, 1, 64, "SAME"), (48, 64, 128, "VALID"), (22, 128, 256, "VALID"))


def _conv(x, w, padding):
    return lax.conv_general_dilated(
        x, w, (1, 1), padding, dimension_numbers=("NHWC", "HWIO", "NHWC")
    )


def main(argv) -> None:
    del argv
    count, batch = _STEPS.value, _BATCH.value
    ceiling = matmul_ceiling(count)
    print(f"{environment_line()}, matmul ceiling {ceiling:.0f} GFLOP/s")
    rng = np.random.default_rng(0)
    total = 0.0
    for size, cin, cout, padding in LAYERS:
        x = jnp.asarray(rng.normal(size=(batch, size, size, cin)), jnp.float32)
        w = jnp.asarray(rng.normal(size=(5, 5, cin, cout)) * 0.1, jnp.float32)
        y = _conv(x, w, padding)
        g = jnp.asarray(rng.normal(size=y.shape), jnp.float32)
        flop = 2 * y.size * 25 * cin
        pieces = {
            "forward": jax.jit(lambda x, w, g, p=padding: _conv(x, w, p)),
            "input gradient": jax.jit(
                lambda x, w, g, p=padding: jax.vjp(lambda v: _conv(v, w, p), x)[1](g)[0]
            ),
            "weight gradient": jax.jit(
                lambda x, w, g, p=padding: jax.vjp(lambda v: _conv(x, v, p), w)[1](g)[0]
            ),
        }
        for piece, fn in pieces.items():
            args = (x, w, g)
            seconds = median_seconds(lambda fn=fn, a=args: fn(*a).block_until_ready(), count)
            total += seconds
            rate = flop / seconds / 1e9
            print(
                f"conv {cin:3d}->{cout:3d} on {size}x{size} {piece:16s} {seconds * 1e3:6.0f} ms "
                f"{rate:5.0f} GFLOP/s = {rate / ceiling:4.0%} of the ceiling"
            )
    print(f"all nine pieces: {total:.2f} s per batch of {batch}")


if __name__ == "__main__":
    runtime.apply_fast_cpu_flags()
    app.run(main)

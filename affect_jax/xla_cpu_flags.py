"""Opt-in XLA:CPU flags that make the CNN convolutions several times faster.

jaxlib 0.10 hands single convolutions and dots to YNNPACK, which runs this
CNN's convolutions at 36-58 GFLOP/s; with these flags they go to Eigen at
170-200 GFLOP/s on the project's 2-core CPU (STACK.md, measured). The flags
are experimental: an XLA that does not know a flag aborts the process, so they
are only set for jaxlib versions where they were measured to exist.
"""

import os

import jaxlib

FAST_CONVOLUTION_FLAG = (
    "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution,-individual_dot"
)
_KNOWN_GOOD_JAXLIB_PREFIXES = ("0.10.",)


def apply_fast_cpu_flags() -> bool:
    """Adds the flag to XLA_FLAGS unless the user set it or jaxlib is unknown.

    Must run before the first JAX computation (XLA reads XLA_FLAGS when the
    backend starts, not when jax is imported). Returns whether it is active.
    """
    current = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_experimental_ynn_fusion_type" in current:
        return FAST_CONVOLUTION_FLAG in current
    if not jaxlib.__version__.startswith(_KNOWN_GOOD_JAXLIB_PREFIXES):
        return False
    os.environ["XLA_FLAGS"] = f"{current} {FAST_CONVOLUTION_FLAG}".strip()
    return True

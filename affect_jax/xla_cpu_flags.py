"""Opt-in XLA:CPU flag that makes the CNN's train step several times faster.

jaxlib 0.10 hands single convolutions and dots, and fusions of reductions and
elementwise ops, to YNNPACK, which runs this CNN's convolutions at 36-58
GFLOP/s and some reductions fused into products several times slower than
XLA's own code; with the flag (an empty list of YNNPACK fusion types) they go
to Eigen and XLA's loops: convolutions at 180-285 GFLOP/s on the project's
2-core CPU (STACK.md, benchmarks/RESULTS.md). The flag is experimental: an XLA
that does not know it aborts the process, so it is only set for jaxlib versions
where it was measured to exist.
"""

import os

import jaxlib

FAST_CONVOLUTION_FLAG = "--xla_cpu_experimental_ynn_fusion_type="
_KNOWN_GOOD_JAXLIB_PREFIXES = ("0.10.",)


def apply_fast_cpu_flags() -> bool:
    """Adds the flag to XLA_FLAGS unless the user set it or jaxlib is unknown.

    Must run before the first JAX computation (XLA reads XLA_FLAGS when the
    backend starts, not when jax is imported). Returns whether it is active.
    """
    current = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_experimental_ynn_fusion_type" in current:
        return fast_flag_active()
    if not jaxlib.__version__.startswith(_KNOWN_GOOD_JAXLIB_PREFIXES):
        return False
    os.environ["XLA_FLAGS"] = f"{current} {FAST_CONVOLUTION_FLAG}".strip()
    return True


def fast_flag_active() -> bool:
    """Whether XLA_FLAGS holds exactly the fast flag (not another YNNPACK setting)."""
    return FAST_CONVOLUTION_FLAG in os.environ.get("XLA_FLAGS", "").split()

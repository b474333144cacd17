"""What a process sets up first: the XLA:CPU flag, quiet library logs, the error type.

The XLA:CPU flag makes the CNN's train step several times faster.

jaxlib 0.10 to 0.12 hand single convolutions and dots, and fusions of
reductions and elementwise ops, to YNNPACK, which runs this CNN's convolutions
at 36-58 GFLOP/s and some reductions fused into products several times slower
than XLA's own code; with the flag (an empty list of YNNPACK fusion types) they
go to Eigen and XLA's loops: convolutions at 180-285 GFLOP/s on the project's
2-core CPU (STACK.md, benchmarks/RESULTS.md; the reference CNN's train step
3.3x with jaxlib 0.10.2). The flag is experimental: an XLA that does not know
it aborts the process, so it is only set for jaxlib versions where it was
measured to exist and to keep the numbers. jaxlib 0.11.2 and 0.12.1 know it
(0.12.1: 2.0x), but with it on 0.12.1 the fused and plain first blocks' conv1
kernel gradients differ by up to 5e-5 (tests/models/test_first_layer.py allows
1e-6), so it stays off there until that is understood.
"""

import contextlib
import logging as python_logging
import os
import sys
from collections.abc import Iterator

from absl import logging

FAST_CONVOLUTION_FLAG = "--xla_cpu_experimental_ynn_fusion_type="
_KNOWN_GOOD_JAXLIB_PREFIXES = ("0.10.",)


def apply_fast_cpu_flags() -> bool:
    """Adds the flag to XLA_FLAGS unless the user set it or jaxlib is unknown.

    Must run before the first JAX computation (XLA reads XLA_FLAGS when the
    backend starts, not when jax is imported). Returns whether it is active.
    """
    import jaxlib  # Here, not above: prediction from an exported model runs without JAX.

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


class QuietLibraries(python_logging.Filter):
    """Drops Orbax's per-save and per-restore INFO lines, and JAX's INFO line that a
    machine without libtpu has no TPU backend (warnings still show).

    JAX tries each backend it knows and logs a failed optional one at INFO. It
    warns by itself where TPU chips are present but libtpu is missing, and a
    backend asked for with JAX_PLATFORMS fails loudly: no real error is hidden.
    """

    def filter(self, record: python_logging.LogRecord) -> bool:
        quiet = record.levelno < python_logging.WARNING
        if quiet and record.pathname.endswith("xla_bridge.py"):
            if record.getMessage().startswith("Unable to initialize backend 'tpu'"):
                return False
        from_orbax = "/orbax/" in record.pathname
        if from_orbax and quiet:
            return False
        # Saves between evaluations carry no validation loss, by design.
        return not (from_orbax and "did not provide metrics" in record.getMessage())


def quiet_library_logs() -> None:
    """Adds the filter to absl's handler (call once, from a main)."""
    logging.get_absl_handler().addFilter(QuietLibraries())


class ProjectError(Exception):
    """An error whose message names the file or setting at fault and the fix.

    The command lines print such an error as one line and exit 1; any other
    exception is a bug and keeps its traceback.
    """


class ConfigError(ProjectError, ValueError):
    """A config value (or config-file argument) that is not valid; the message names the key."""


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """In a command line: a ProjectError ends the process with its message as one line, status 1.

    Its message already says what to fix, so a traceback would only hide it.
    """
    try:
        yield
    except ProjectError as error:
        message = " ".join(str(error).split())
        print(f"Error ({type(error).__name__}): {message}", file=sys.stderr, flush=True)
        sys.exit(1)

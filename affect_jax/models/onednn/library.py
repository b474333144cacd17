"""Finds, loads and registers the compiled oneDNN convolution handlers, once.

Loading can fail for several reasons (not built: no compiler or no oneDNN
wheel at install time; not an x86-64 Linux machine; libdnnl or libgomp
missing); `status()` then says which, so that the backend can fall back to
XLA with one log line instead of an error.
"""

import ctypes
import functools
import importlib.metadata
import platform
import sys
import sysconfig
from pathlib import Path

import jax

# Names the handlers are registered under with XLA (jax.ffi targets).
TARGETS = {
    "forward": "affect_jax_onednn_conv_forward",
    "backward_data": "affect_jax_onednn_conv_backward_data",
    "backward_weights": "affect_jax_onednn_conv_backward_weights",
}
_SYMBOLS = {
    "forward": "AffectJaxOnednnConvForward",
    "backward_data": "AffectJaxOnednnConvBackwardData",
    "backward_weights": "AffectJaxOnednnConvBackwardWeights",
}
HOW_TO_BUILD = (
    "reinstall on x86-64 Linux with g++ present: pip install -e . (it installs "
    "onednn-cpu-gomp and onednn-devel-cpu-gomp and compiles affect_jax/models/onednn/csrc)"
)
# dnnl_cpu_isa_t values of oneDNN 3.2 (dnnl_types.h) that run bfloat16 natively.
_BF16_ISAS = {"avx512_core_bf16": 0xE7, "avx2_vnni_2": 0x1F}  # AMX (0xFEF) includes 0xE7.


def _extension_path() -> Path | None:
    # This interpreter's build first: a checkout installed into venvs of two
    # Pythons holds one build each (any loads: the handlers use no Python API).
    own = Path(__file__).parent / ("_conv" + sysconfig.get_config_var("EXT_SUFFIX"))
    found = sorted(Path(__file__).parent.glob("_conv*.so"))
    return own if own.exists() else (found[0] if found else None)


def _libdnnl_path() -> Path | None:
    """libdnnl.so.3 as the onednn-cpu-gomp wheel installed it (its prefix's lib/)."""
    try:
        files = importlib.metadata.distribution("onednn-cpu-gomp").files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    dist = importlib.metadata.distribution
    for file in files:
        if file.name == "libdnnl.so.3":
            return Path(dist("onednn-cpu-gomp").locate_file(file)).resolve()
    candidate = Path(sys.prefix) / "lib" / "libdnnl.so.3"
    return candidate if candidate.exists() else None


@functools.cache
def _load() -> tuple[ctypes.CDLL | None, str]:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None, f"oneDNN convolutions are built for x86-64 Linux, not {platform.machine()}"
    extension = _extension_path()
    if extension is None:
        return None, "the oneDNN extension was not built at install time"
    try:
        libdnnl = _libdnnl_path()
        # The extension needs libdnnl.so.3; loading it first by its full path
        # works wherever the wheel put it (the rpath covers only the build's venv).
        if libdnnl is not None:
            ctypes.CDLL(str(libdnnl), mode=ctypes.RTLD_GLOBAL)
        library = ctypes.CDLL(str(extension))
        for kind, symbol in _SYMBOLS.items():
            capsule = jax.ffi.pycapsule(getattr(library, symbol))
            jax.ffi.register_ffi_target(TARGETS[kind], capsule, platform="cpu")
    except (OSError, AttributeError) as error:
        return None, f"the oneDNN extension {extension.name} did not load ({error})"
    return library, "loaded"


def status() -> tuple[bool, str]:
    """(whether the handlers are registered, why not / "loaded")."""
    library, reason = _load()
    return library is not None, reason


def native_bfloat16() -> bool:
    """Whether oneDNN runs bfloat16 convolutions in hardware on this CPU."""
    library, _ = _load()
    if library is None:
        return False
    isa = library.AffectJaxOnednnCpuIsa()
    # Each ISA value is a bit mask that includes the ones below it.
    return any(isa & mask == mask for mask in _BF16_ISAS.values())

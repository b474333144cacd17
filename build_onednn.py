"""setup.py's build of the oneDNN convolution handlers (affect_jax/models/onednn).

The extension is optional: without a C++ compiler, the oneDNN wheels or an
x86-64 Linux machine, the install still succeeds and prints one line, and
config.model.conv_backend=auto falls back to XLA's convolutions at run time.
The oneDNN headers and library come from the onednn-devel-cpu-gomp and
onednn-cpu-gomp wheels, which pyproject.toml puts into pip's build environment.
Set AFFECT_JAX_BUILD_ONEDNN=0 to skip the build.

XLA's FFI headers: the installed jaxlib's where it is importable at build
time, else (pip's isolated build) the copy in csrc/third_party, jaxlib
0.10.2's, FFI API 0.3. XLA runs handlers built against an older minor version
of its FFI API, so either build serves every jaxlib setup.py allows (0.10 to
0.12, FFI API 0.3 to 0.5; launch/test_newest.sh runs the oneDNN tests on the
newest).
"""

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

NAME = "affect_jax.models.onednn._conv"
SOURCE = "affect_jax/models/onednn/csrc/conv.cc"
VENDORED_FFI = "affect_jax/models/onednn/csrc/third_party"
# Wheels built for x86-64 Linux only (the PyPI oneDNN wheels are manylinux1_x86_64).
MARKER = "platform_machine == 'x86_64' and sys_platform == 'linux'"
RUNTIME_REQUIREMENT = f"onednn-cpu-gomp==2023.2.0; {MARKER}"


def _wheel_file(distribution: str, suffix: str) -> Path:
    """The installed file of `distribution` whose path ends with `suffix`."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as error:
        raise RuntimeError(f"the {distribution} wheel is not installed") from error
    for file in dist.files or []:
        # RECORD paths are relative to site-packages ("../../libdnnl.so.3").
        path = Path(dist.locate_file(file)).resolve()
        if path.as_posix().endswith(suffix):
            return path
    raise RuntimeError(f"{distribution} has no {suffix}")


def _ffi_include() -> str:
    try:
        import jax.ffi  # noqa: PLC0415  (only present outside pip's build isolation)

        return jax.ffi.include_dir()
    except ImportError:
        return VENDORED_FFI


def compile_command(output: str) -> list[str]:
    """The g++ command line that builds the handlers into `output`."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        raise RuntimeError(f"built for x86-64 Linux only, not {platform.machine()}")
    compiler = os.environ.get("CXX", "g++")
    if shutil.which(compiler) is None:
        raise RuntimeError(f"no C++ compiler ({compiler})")
    header = _wheel_file("onednn-devel-cpu-gomp", "include/oneapi/dnnl/dnnl.hpp")
    library = _wheel_file("onednn-cpu-gomp", "lib/libdnnl.so.3")
    # Where the runtime wheel lands: the target environment's lib/ (sys.prefix
    # is the target's even in pip's isolated build) and, for a regular install,
    # the same directory relative to site-packages/affect_jax/models/onednn.
    rpaths = [str(Path(sys.prefix) / "lib"), "$ORIGIN/../../../../.."]
    return [
        compiler,
        "-O2",
        "-std=c++17",
        "-shared",
        "-fPIC",
        "-fopenmp",
        "-isystem",
        _ffi_include(),
        "-isystem",
        str(header.parents[2]),
        SOURCE,
        str(library),
        *(f"-Wl,-rpath,{path}" for path in rpaths),
        "-o",
        output,
    ]


def build_or_say_why(output: str) -> bool:
    """Compiles the handlers into `output`; False, with one line printed, where it cannot."""
    try:
        if os.environ.get("AFFECT_JAX_BUILD_ONEDNN", "1") == "0":
            raise RuntimeError("AFFECT_JAX_BUILD_ONEDNN=0")
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(compile_command(output), check=True, capture_output=True)
        return True
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", b"") or b""
        last = detail.decode(errors="replace").strip().splitlines()[-1:] or [str(error)]
        print(f"affect-jax: oneDNN convolutions not built ({last[0]}); XLA's are used.")
        return False


if __name__ == "__main__":
    # `python build_onednn.py`: builds next to the sources, for a checkout run
    # through PYTHONPATH with no pip install (benchmarks/gpu_check.sh's machine mode).
    in_place = Path(__file__).resolve().parent / (
        NAME.replace(".", "/") + sysconfig.get_config_var("EXT_SUFFIX")
    )
    build_or_say_why(str(in_place))

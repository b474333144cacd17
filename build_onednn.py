"""setup.py's build of the oneDNN convolution handlers (affect_jax/models/onednn).

The extension is optional: without a C++ compiler, the oneDNN wheels or an
x86-64 Linux machine, the install still succeeds and prints one line, and
config.model.conv_backend=auto falls back to XLA's convolutions at run time.
The oneDNN headers and library come from the onednn-devel-cpu-gomp and
onednn-cpu-gomp wheels, which pyproject.toml puts into pip's build environment.
Set AFFECT_JAX_BUILD_ONEDNN=0 to skip the build.
"""

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension
from setuptools.command.build_ext import build_ext

NAME = "affect_jax.models.onednn._conv"
SOURCE = "affect_jax/models/onednn/csrc/conv.cc"
VENDORED_FFI = "affect_jax/models/onednn/csrc/third_party"
# Wheels built for x86-64 Linux only (the PyPI oneDNN wheels are manylinux1_x86_64).
MARKER = "platform_machine == 'x86_64' and sys_platform == 'linux'"
RUNTIME_REQUIREMENT = f"onednn-cpu-gomp==2023.2.0; {MARKER}"


def extension() -> Extension:
    return Extension(NAME, sources=[SOURCE], language="c++")


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


class BuildOptionalOnednn(build_ext):
    """build_ext that compiles the handlers with g++ and never fails the install."""

    def build_extensions(self) -> None:
        built = []
        for ext in self.extensions:
            if ext.name != NAME:
                self.build_extension(ext)
                built.append(ext)
                continue
            try:
                if os.environ.get("AFFECT_JAX_BUILD_ONEDNN", "1") == "0":
                    raise RuntimeError("AFFECT_JAX_BUILD_ONEDNN=0")
                output = self.get_ext_fullpath(ext.name)
                Path(output).parent.mkdir(parents=True, exist_ok=True)
                subprocess.run(compile_command(output), check=True, capture_output=True)
                built.append(ext)
            except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
                detail = getattr(error, "stderr", b"") or b""
                last = detail.decode(errors="replace").strip().splitlines()[-1:] or [str(error)]
                print(f"affect-jax: oneDNN convolutions not built ({last[0]}); XLA's are used.")
        # Only what was built is copied into place (editable installs) and listed.
        self.extensions = built

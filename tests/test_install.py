"""Installing the package prints nothing of setuptools' and ships the builders' data.

The wheel is built as pip builds it (an isolated build environment with
pyproject.toml's requirements) from a copy of the tracked files, without the
optional oneDNN extension (AFFECT_JAX_BUILD_ONEDNN=0). With setup.py's former
package list (data folders not declared as packages) setuptools printed 30
BuildBackendWarnings here.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(600)
def test_the_wheel_builds_without_setuptools_warnings_and_holds_the_data(tmp_path):
    tracked = subprocess.run(
        [
            "git",
            "ls-files",
            "setup.py",
            "pyproject.toml",
            "build_onednn.py",
            "affect_jax",
            "data_builders",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    source = tmp_path / "source"
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path / "wheel"), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "AFFECT_JAX_BUILD_ONEDNN": "0"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "Warning" not in output.replace("WARNING: Location", ""), output[-4000:]
    (wheel,) = (tmp_path / "wheel").glob("affect_jax-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = {n for n in tracked if n.startswith("data_builders/") and "/dummy_data/" in n}
    data = {n for n in data if not Path(n).name.startswith(".")}  # glob's "*" skips dotfiles.
    assert data and data <= names, sorted(data - names)[:5]
    assert "data_builders/affwild2/CITATIONS.bib" in names

"""The package's layers (ARCHITECTURE.md) hold: no upward import, no import cycle.

import-linter checks the contracts in `.importlinter`; the mutation tests add
one upward import and one cycle to a copy of the package and expect the check
to name them, so the contracts cannot pass vacuously.
"""

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_LINT = (
    "from importlinter.cli import lint_imports; "
    "raise SystemExit(lint_imports(config_filename='.importlinter', no_cache=True, no_logo=True))"
)


def _lint(root: Path) -> subprocess.CompletedProcess:
    """import-linter run in `root` (which holds `affect_jax/` and `.importlinter`)."""
    return subprocess.run(
        [sys.executable, "-c", _LINT], cwd=root, capture_output=True, text=True, timeout=300
    )


def _copy_of_the_package(tmp_path: Path) -> Path:
    shutil.copytree(
        REPO / "affect_jax", tmp_path / "affect_jax", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_package_keeps_its_layers_and_has_no_cycles():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_an_upward_import_breaks_the_layers(tmp_path):
    root = _copy_of_the_package(tmp_path)
    # tasks/ sits below stages/: a loss must not know about the training loop.
    _append(
        root / "affect_jax" / "tasks" / "losses.py", "from affect_jax.stages import train  # noqa"
    )
    result = _lint(root)
    assert result.returncode != 0
    assert "affect_jax.tasks is not allowed to import affect_jax.stages" in result.stdout
    assert "affect_jax.tasks.losses -> affect_jax.stages.train" in result.stdout


def test_an_import_cycle_inside_a_sub_package_is_found(tmp_path):
    root = _copy_of_the_package(tmp_path)
    # registry imports metrics; metrics importing registry closes a cycle.
    _append(
        root / "affect_jax" / "tasks" / "metrics.py",
        "from affect_jax.tasks import registry  # noqa",
    )
    result = _lint(root)
    assert result.returncode != 0
    assert "No cycles are allowed in affect_jax.tasks" in result.stdout

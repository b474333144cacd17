"""training/run.py is the run folder's one home: its names are spelled nowhere else."""

import ast
from pathlib import Path

import pytest

from affect_jax.training import run
from affect_jax.training.checkpoints import NotACheckpointError

PACKAGE = Path(run.__file__).resolve().parents[1]
LEGACY_CNN = Path(__file__).resolve().parents[1] / "fixtures/legacy_run_2026_12_01/cnn"
NAMES = (
    run.CHECKPOINTS,
    run.CORRUPT_CHECKPOINTS,
    run.RESULTS,
    run.METRICS,
    run.TENSORBOARD,
    run.PLOTS,
    run.PREDICTIONS,
    run.BALANCING_JSON,
    run.BALANCING_PNG,
)


def _spells_a_run_name(text: str) -> bool:
    return any(text == name or f"{name}/" in text or f"/{name}" in text for name in NAMES) or any(
        "." in name and name in text for name in NAMES
    )


def _docstrings(tree: ast.AST) -> set[int]:
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, kinds)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def test_run_folder_names_are_spelled_only_in_run_py():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == Path(run.__file__).resolve():
            continue
        tree = ast.parse(path.read_text())
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and id(node) not in docstrings and _spells_a_run_name(text):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {text!r}")
    assert not found, "use training/run.py's names:\n" + "\n".join(found)
    assert _spells_a_run_name("runs/x/results.json") and _spells_a_run_name("plots")


def test_a_run_is_found_from_its_workdir_its_checkpoints_or_one_step():
    for path, step in ((LEGACY_CNN, None), (LEGACY_CNN / "checkpoints", None)):
        assert run.locate_run(path) == (LEGACY_CNN.resolve(), step)
    assert run.locate_run(LEGACY_CNN / "checkpoints" / "5") == (LEGACY_CNN.resolve(), 5)
    workdir, step, config = run.find_checkpoint(LEGACY_CNN / "checkpoints" / "5", "best")
    assert (workdir, step, config.model.name) == (LEGACY_CNN.resolve(), 5, "cnn")
    assert run.find_checkpoint(LEGACY_CNN, "latest")[1] == 10
    assert run.RunFolder(LEGACY_CNN).read_results()["step"] == 10
    with pytest.raises(NotACheckpointError, match=r"holds checkpoints/.*does not exist"):
        run.locate_run(LEGACY_CNN.parent)
    with pytest.raises(NotACheckpointError, match="No checkpoint '7'"):
        run.find_checkpoint(LEGACY_CNN, "7")

"""Every command line sets its process up with one call, in one order (affect_jax/startup.py)."""

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import jax
import ml_collections
import pytest

from affect_jax import host_memory, runtime, startup

PACKAGE = Path(__file__).resolve().parents[1] / "affect_jax"
COMMAND_LINES = (
    "main.py",
    "build.py",
    "predict.py",
    "reproduce.py",
    "import_keras.py",
    "export.py",
    "synthetic/__main__.py",
)
# The steps start_process takes; nothing else may call them.
STEPS = {
    "quiet_library_logs",
    "apply_fast_cpu_flags",
    "keep_freed_memory_unless_declined",
    "keep_freed_memory",
    "initialize",
}


def _called_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            function = node.func
            names.append(
                function.attr
                if isinstance(function, ast.Attribute)
                else getattr(function, "id", "")
            )
    return names


@pytest.mark.parametrize("command_line", COMMAND_LINES)
def test_each_command_line_starts_with_the_one_start_up_call(command_line):
    called = _called_names(PACKAGE / command_line)
    assert called.count("start_process") == 1, command_line
    assert not STEPS & set(called), f"{command_line} calls {STEPS & set(called)} itself"


def test_no_module_but_start_up_takes_its_steps():
    own = {"startup.py", "runtime.py", "host_memory.py"}  # Where the steps are defined.
    for path in PACKAGE.rglob("*.py"):
        if path.name in own and path.parent == PACKAGE:
            continue
        taken = STEPS & set(_called_names(path))
        assert not taken, f"{path.relative_to(PACKAGE)} calls {taken}: use startup.start_process"


@pytest.fixture
def recorded(monkeypatch):
    calls = []
    monkeypatch.setattr(runtime, "quiet_library_logs", lambda: calls.append("logs"))
    monkeypatch.setattr(runtime, "apply_fast_cpu_flags", lambda: calls.append("flag") or True)
    monkeypatch.setattr(
        host_memory, "keep_freed_memory_unless_declined", lambda: calls.append("memory") or True
    )
    monkeypatch.setattr(jax.distributed, "initialize", lambda: calls.append("distributed"))
    return calls


def test_start_up_runs_its_steps_in_order(recorded):
    config = ml_collections.ConfigDict({"fast_cpu_convolutions": True, "distributed": True})
    done = startup.start_process(config)
    assert recorded == ["logs", "flag", "memory", "distributed"]
    assert done == {"fast_cpu_flag": True, "keep_freed_memory": True, "distributed": True}


def test_start_up_follows_the_config_and_the_command(recorded):
    config = ml_collections.ConfigDict({"fast_cpu_convolutions": False, "distributed": False})
    assert startup.start_process(config)["fast_cpu_flag"] is False
    assert recorded == ["logs", "memory"]
    recorded.clear()
    startup.start_process()  # A command without a config: flag on, single process.
    assert recorded == ["logs", "flag", "memory"]
    recorded.clear()
    startup.start_process(config, computes=False)  # Building a dataset: no JAX set-up.
    assert recorded == ["logs"]


# What a command line's log shows once JAX has started its backends.
_START_JAX = """
from absl import logging
logging.use_absl_handler()
logging.set_verbosity(logging.INFO)
from affect_jax import startup
if {quiet}:
    startup.start_process()
import jax
jax.devices()
logging.warning("backends started")
"""


@pytest.mark.skipif(
    importlib.util.find_spec("libtpu") is not None, reason="libtpu installed: JAX logs no failure"
)
def test_a_machine_without_libtpu_starts_without_a_tpu_failure_line():
    def log(quiet: bool) -> str:
        result = subprocess.run(
            [sys.executable, "-c", _START_JAX.format(quiet=quiet)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "backends started" in result.stderr  # The handler writes there.
        return result.stderr

    # JAX itself logs the failure at INFO (the control); start-up leaves it out.
    assert "Unable to initialize backend 'tpu'" in log(quiet=False)
    assert "Unable to initialize backend" not in log(quiet=True)


def test_training_stages_keep_freed_memory_and_extraction_hands_it_back(monkeypatch, tmp_path):
    """Kept, freed blocks grew the extraction's heap with the frames it passed."""
    from types import SimpleNamespace

    from affect_jax import main as main_command
    from affect_jax.config import load_config

    kept = {}

    def start_process(config, **options):
        kept[config.stage] = options.get("keeps_freed_memory", True)
        return {"fast_cpu_flag": False, "keep_freed_memory": kept[config.stage],
                "distributed": False}  # fmt: skip

    monkeypatch.setattr(main_command.startup, "start_process", start_process)
    monkeypatch.setattr(main_command.stages, "run", lambda config, workdir: {})
    monkeypatch.setattr(main_command, "_WORKDIR", SimpleNamespace(value=str(tmp_path)))
    for name, arg in (("affwild2_extract", ""), ("affwild2_cnn", "tiny"), ("affwild2_rnn", "tiny")):
        config = load_config(name, arg)
        monkeypatch.setattr(main_command, "_CONFIG", SimpleNamespace(value=config))
        main_command.main([])
    assert kept == {"extract": False, "train_cnn": True, "train_rnn": True}

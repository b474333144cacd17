"""The XLA:CPU flag is set for every jaxlib setup.py allows, and for no unknown one."""

import jaxlib

from affect_jax import runtime


def test_the_fast_flag_is_set_for_the_installed_jaxlib():
    # conftest.py applied it, as the command lines do: 2-3x the CNN's train step.
    assert runtime.fast_flag_active(), (jaxlib.__version__, runtime.os.environ.get("XLA_FLAGS"))


def test_a_jaxlib_not_known_to_have_the_flag_gets_none(monkeypatch):
    monkeypatch.setattr(jaxlib, "__version__", "0.99.0")
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    assert runtime.apply_fast_cpu_flags() is False
    assert runtime.os.environ["XLA_FLAGS"] == "--xla_dump_to=/tmp/x"  # Unknown flags abort XLA.

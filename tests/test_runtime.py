"""The XLA:CPU flag is never set for a jaxlib not known to have it (XLA aborts on unknown flags)."""

import jaxlib

from affect_jax import runtime


def test_a_jaxlib_not_known_to_have_the_flag_gets_none(monkeypatch):
    monkeypatch.setattr(jaxlib, "__version__", "0.99.0")
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    assert runtime.apply_fast_cpu_flags() is False
    assert runtime.os.environ["XLA_FLAGS"] == "--xla_dump_to=/tmp/x"  # Unknown flags abort XLA.

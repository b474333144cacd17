"""Shared test setup: parsed absl flags (Grain needs them) and fast CPU flags."""

from absl import flags

from affect_jax import xla_cpu_flags

# Before any test touches JAX: XLA reads XLA_FLAGS when the backend starts.
xla_cpu_flags.apply_fast_cpu_flags()
flags.FLAGS.mark_as_parsed()

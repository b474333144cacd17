"""What every command line does first, in this order, before JAX starts its backend.

1. Quiet library logs (Orbax's per-save lines).
2. The XLA:CPU convolution flag (runtime.py), unless the config turns it off:
   XLA reads XLA_FLAGS when its backend starts.
3. Keeping freed memory for the next step (host_memory.py), unless
   AFFECT_JAX_KEEP_FREED_MEMORY=0 or the command asks not to: the CPU client
   fixes its dispatch when it starts. Prediction does the opposite
   (host_memory.return_large_blocks): its many small CNN calls, between which
   frames and crops are allocated, grew a never-trimmed heap by ~6 MB a batch,
   and glibc's own setting by ~34 MB over 4,720 frames
   (benchmarks/predict_memory.py).
4. `jax.distributed.initialize()` when the config says `distributed`: before
   any JAX computation, so every process sees the whole slice.

A command that computes nothing with JAX (building a dataset) takes step 1 only.
"""

from typing import Any

import ml_collections

from affect_jax import host_memory, runtime


def start_process(
    config: ml_collections.ConfigDict | None = None,
    *,
    computes: bool = True,
    keeps_freed_memory: bool = True,
) -> dict[str, bool]:
    """Sets the process up for `config` (None: a command without one); returns what it did.

    Args:
      config: the run's config: `fast_cpu_convolutions` (default on) and
        `distributed` (default off) are read from it.
      computes: False for commands that run no JAX computation: logs only.
      keeps_freed_memory: False hands large freed blocks back at once instead.
    """
    runtime.quiet_library_logs()
    started = {"fast_cpu_flag": False, "keep_freed_memory": False, "distributed": False}
    if not computes:
        return started
    if _setting(config, "fast_cpu_convolutions", True):
        started["fast_cpu_flag"] = runtime.apply_fast_cpu_flags()
    if keeps_freed_memory:
        started["keep_freed_memory"] = host_memory.keep_freed_memory_unless_declined()
    else:
        host_memory.return_large_blocks()
    if _setting(config, "distributed", False):
        import jax

        jax.distributed.initialize()
        started["distributed"] = True
    return started


def describe(started: dict[str, bool]) -> str:
    """One log line of what `start_process` did."""
    return (
        f"Process set up: fast XLA:CPU flag {started['fast_cpu_flag']}; freed memory kept "
        f"{started['keep_freed_memory']} ({host_memory.SWITCH_VARIABLE}=0 hands it back); "
        f"jax.distributed {started['distributed']}"
    )


def _setting(config: ml_collections.ConfigDict | None, key: str, default: Any) -> Any:
    return default if config is None else config.get(key, default)

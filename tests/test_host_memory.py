"""host_memory: unless AFFECT_JAX_KEEP_FREED_MEMORY=0, XLA's buffers of one call serve the next.

The kept and declined cases run in fresh processes: the setting is process-wide
and must come before the first JAX computation. The too-late case changes nothing,
so it runs here.
"""

import os
import subprocess
import sys

import jax

from affect_jax import host_memory

# Two 64 MB arrays that XLA allocates at every call (the barriers keep them
# whole); glibc maps blocks over 32 MB afresh each time, 16,400 pages each.
_CHILD = """
import resource
from affect_jax import host_memory
kept = host_memory.keep_freed_memory_unless_declined()
import jax, jax.numpy as jnp

@jax.jit
def step(x):
    y = jax.lax.optimization_barrier(jnp.tanh(x))
    z = jax.lax.optimization_barrier(y[::-1] * 2.0)
    return (z[:, ::-1] + y).sum()

x = jnp.ones((4096, 4096), jnp.float32)
faults = []
for _ in range(10):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step(x).block_until_ready()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
# The fewest after the first call: a kept heap still grows now and then while
# it settles into the calls' pattern; glibc as it comes faults in every call.
print(kept, min(faults[1:]))
"""


def _kept_and_faults_per_call(declined: bool) -> tuple[str, float]:
    env = dict(os.environ)
    env.pop(host_memory.SWITCH_VARIABLE, None)
    if declined:
        env[host_memory.SWITCH_VARIABLE] = "0"
    result = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    kept, faults = result.stdout.split()[-2:]
    return kept, float(faults)


def test_kept_memory_serves_the_next_call_without_page_faults():
    kept, faults = _kept_and_faults_per_call(declined=False)
    assert kept == "True"
    assert faults < 1_000
    # Declined (the control): glibc as it comes maps and faults in each call's buffers.
    kept, faults = _kept_and_faults_per_call(declined=True)
    assert kept == "False"
    assert faults > 16_000


def test_too_late_once_jax_has_started_and_says_so(caplog):
    jax.devices()  # This process's backends start (if no earlier test started them).
    assert host_memory.keep_freed_memory() is False
    assert "before the first JAX computation" in caplog.text

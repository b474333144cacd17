"""Keeps the memory a step frees for the next step, instead of handing it back to the kernel.

XLA:CPU allocates every execution's buffers anew with malloc and frees them
after it: ~750 MB for the reference CNN's train step at batch 128, ~260 MB for
the 3-layer GRU's. glibc serves each block above 32 MB with a fresh mmap and
returns it with munmap on free, so each step first-touches every page of its
buffers again: 190,000 page faults and ~0.45 s of kernel time per CNN step,
66,000 and ~0.15 s per GRU step on the project's 2-core CPU. TensorFlow and
PyTorch keep such memory in their own caching allocators; JAX on CPU has none.

`keep_freed_memory` tells glibc (mallopt) never to map blocks of their own
and never to trim its heap, and runs JAX's CPU computations on the calling
thread (no asynchronous dispatch): a non-main thread's arena maps every block
over 64 MB afresh whatever mallopt says (glibc's fallback), while the main
thread's heap, where the command lines call JAX, keeps freed blocks of any
size. Steps then reuse the last step's pages, with no faults. Other threads
(Grain's readers) keep their own arenas, so nothing queues on one heap's lock.

The command lines keep freed memory unless AFFECT_JAX_KEEP_FREED_MEMORY=0.
Measured (benchmarks/RESULTS.md): the quickstart's CNN stage 1.18x, the
reference GRU config 1.10x, and the quickstart's small GRU steps (batch 64)
unchanged within the host's drift. The process keeps its peak heap for its
lifetime, as those caching allocators do.

It must run before the first JAX computation: the CPU client fixes its
dispatch when it starts. It changes nothing off glibc. A library that calls
malloc_trim (protobuf does, whenever a message is freed) still hands free
pages back; the next step faults those in again.
"""

import ctypes
import os
import platform

from absl import logging

SWITCH_VARIABLE = "AFFECT_JAX_KEEP_FREED_MEMORY"

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4
# Blocks from this size get their own mapping, returned when freed (glibc's starting value).
_OWN_MAPPING_FROM = 128 * 1024
_SETTINGS = (
    (_M_MMAP_MAX, 0),  # Large blocks from the heap, not mmap.
    (_M_TRIM_THRESHOLD, -1),  # -1 is SIZE_MAX for glibc: the heap is never trimmed.
)


def keep_freed_memory_unless_declined() -> bool:
    """`keep_freed_memory` unless AFFECT_JAX_KEEP_FREED_MEMORY=0; returns whether memory is kept."""
    return os.environ.get(SWITCH_VARIABLE, "1") != "0" and keep_freed_memory()


def keep_freed_memory() -> bool:
    """Sets glibc's malloc and JAX's CPU dispatch to keep freed memory; returns whether it did.

    False (nothing changed) off glibc, or once JAX's backends have started
    (then a warning says to call it first).
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    if _jax_backends_started():
        logging.warning(
            "keep_freed_memory: JAX's backends have already started, so freed memory "
            "cannot be kept; call host_memory.keep_freed_memory() before the first "
            "JAX computation."
        )
        return False
    libc = ctypes.CDLL(None)
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    if not all(mallopt(parameter, value) == 1 for parameter, value in _SETTINGS):
        return False
    import jax  # Here, not above: prediction from an exported model runs without JAX.

    # The CPU client then allocates each execution's buffers on the calling
    # thread, whose heap (glibc's main arena) can hold them.
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    return True


def return_large_blocks() -> bool:
    """Maps every block of 128 KiB or more on its own, handed back when freed; returns whether set.

    glibc raises that size to the largest block freed so far (up to 32 MB),
    after which video frames, crops and CNN batches of a long prediction come
    from the heap, interleaved, and fragment it: peak memory grew by ~34 MB
    from 472 to 4,720 frames of one face. Fixed at glibc's starting value,
    prediction's peak stays flat (benchmarks/predict_memory.py). No-op off glibc.
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return mallopt(_M_MMAP_THRESHOLD, _OWN_MAPPING_FROM) == 1


def _jax_backends_started() -> bool:
    from jax._src import xla_bridge  # No public way to ask (jax 0.10 to 0.12).

    started = getattr(xla_bridge, "backends_are_initialized", None)
    return bool(started and started())


def reset_peak_rss() -> bool:
    """Restarts the peak resident memory count from now (Linux); returns whether it could.

    So that a stage's own peak can be read apart from the imports and
    compilation before it.
    """
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")  # 5: reset VmHWM, the peak resident set size.
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB: since the last `reset_peak_rss` on Linux."""
    try:
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

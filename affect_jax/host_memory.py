"""Keeps the memory a step frees for the next step, instead of handing it back to the kernel.

XLA:CPU allocates every execution's buffers anew with malloc and frees them
after it: ~750 MB for the reference CNN's train step at batch 128, ~260 MB for
the 3-layer GRU's. glibc serves each block above 32 MB with a fresh mmap and
returns it with munmap on free (and blocks of threads' own arenas can grow no
larger than 64 MB without one), so each step first-touches every page of its
buffers again: 190,000 page faults and ~0.45 s of kernel time per CNN step,
66,000 and ~0.19 s per GRU step on the project's 2-core CPU. TensorFlow and
PyTorch keep such memory in their own caching allocators; JAX on CPU has none.

`keep_freed_memory` tells glibc (mallopt) to serve every thread from its main
heap, never to map blocks of their own, and never to trim the heap: freed
buffers stay mapped and the next step reuses them, with no faults. It is
opt-in (AFFECT_JAX_KEEP_FREED_MEMORY=1 for the command lines), because one
heap is one lock: measured (benchmarks/RESULTS.md), the reference CNN and
GRU train steps on in-memory batches gain (1.12x and 1.11x), but the
quickstart's GRU stage, whose Grain reader threads allocate beside XLA's,
loses 30%. The process also keeps its peak heap for its lifetime, as those
caching allocators do.

It must run before many threads have allocated (glibc fixes the number of
arenas once eight exist), so before the first JAX computation; it changes
nothing but malloc's settings, and nothing off glibc. A library that calls
malloc_trim (protobuf does, whenever a message is freed) still hands free
pages back; the next step faults those in again.
"""

import ctypes
import os
import platform

OPT_IN_VARIABLE = "AFFECT_JAX_KEEP_FREED_MEMORY"

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
_SETTINGS = (
    # Threads' arenas can hold no block over 64 MB without mapping it: one arena.
    (_M_ARENA_MAX, 1),
    (_M_MMAP_MAX, 0),  # Large blocks from the heap, not mmap.
    (_M_TRIM_THRESHOLD, -1),  # -1 is SIZE_MAX for glibc: the heap is never trimmed.
)


def keep_freed_memory_if_asked() -> bool:
    """`keep_freed_memory` where AFFECT_JAX_KEEP_FREED_MEMORY=1; returns whether memory is kept."""
    return os.environ.get(OPT_IN_VARIABLE, "0") == "1" and keep_freed_memory()


def keep_freed_memory() -> bool:
    """Sets glibc's malloc to keep freed memory mapped; returns whether it did.

    False (nothing changed) off glibc.
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return all(mallopt(parameter, value) == 1 for parameter, value in _SETTINGS)

"""Keeping a large run's resident memory near what it holds.

A plan of tens of thousands of resources reads a state file of tens of megabytes and hundreds of
pages of API responses, and lets most of it go again. CPython frees those objects, but glibc's
malloc keeps the freed pages resident:
- a block it once served with its own mapping raises the size below which later blocks come from
  its heaps instead (the "dynamic mmap threshold"), so a state file's text or a page's body, once
  freed, leaves a hole in a heap;
- a heap gives memory back only from its top.
So the process would stay at its high-water mark. For a large run, `prepare_for_large_run` fixes
the threshold at glibc's default (128 KiB: larger blocks get mappings of their own, returned when
freed), and `release_free_memory` hands the free pages inside the heaps back to the kernel. Neither
changes an object; where the C library has no such functions (not glibc), nothing is done.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

# Below this many resources, the few megabytes at stake do not pay for loading ctypes (about 3 ms).
LARGE_RUN = 5_000
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
_DEFAULT_MMAP_THRESHOLD = 128 * 1024


def prepare_for_large_run(resources: int) -> None:
    """Before reading the state and the clouds for `resources` resources: large blocks get
    mappings of their own, whatever size was freed before."""
    mallopt = _libc_function("mallopt") if resources >= LARGE_RUN else None
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, _DEFAULT_MMAP_THRESHOLD)


def release_free_memory(resources: int) -> None:
    """After a read of `resources` resources: return the free pages of the heaps to the system."""
    trim = _libc_function("malloc_trim") if resources >= LARGE_RUN else None
    if trim is not None:
        trim(0)


@functools.cache
def _libc_function(name: str) -> Callable[..., int] | None:
    """A function of the C library the interpreter runs on, or None where it has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        function: Callable[..., int] = getattr(ctypes.CDLL(None), name)
    except (ImportError, OSError, AttributeError):
        return None
    return function

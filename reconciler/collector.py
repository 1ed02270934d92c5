"""Python's cycle collector, off while a run builds objects that live to its end.

A run of reconciler builds hundreds of thousands of small objects (documents, state resources,
live objects, changes) that all live until it ends, and almost no reference cycles. The
collector would scan each of them again and again as they pile up, for nothing, and once more
when the interpreter exits: about 0.3 s of a 10,000-peer plan's CPU (docs/architecture.md).

- The program (`program_runs`) runs with the collector off, and at exit freezes what is still
  alive, so that the interpreter's last collection does not scan it either.
- An apply's calls and waits may last hours: they run `collecting`, with the collector on for
  what they make (what was built before is frozen: it lives to the end of the run anyway).
- `paused` is for a part of a run inside another program (the manifest loader in the tests).
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager


def program_runs() -> None:
    """The collector off for the rest of the process, and what is alive frozen at its exit."""
    gc.disable()
    atexit.register(gc.freeze)


@contextmanager
def collecting() -> Iterator[None]:
    """The collector on meanwhile, for work that may last long; as it was afterwards. When it
    was off, everything made so far is frozen first, so that no collection scans it again."""
    if gc.isenabled():
        yield
        return
    gc.freeze()
    gc.enable()
    try:
        yield
    finally:
        gc.disable()


@contextmanager
def paused() -> Iterator[None]:
    """The collector off meanwhile, then on again if it was on (also after an error)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()

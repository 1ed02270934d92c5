"""A cold run on several cores: helper processes fill the manifest cache while this one reads.

The first command of a CI job finds the manifest cache empty (`cache.py`) and parses every file,
on one core. When there is enough to parse, the files the cache lacks are split by size: this
process keeps the first share and reads it as usual, while helper processes (one per other core)
parse the rest and store the clean files in the cache. Once its own share is read, this process
waits for the helpers, then reads the remaining files like any others: from the cache where a
helper stored an entry, parsed here where none is.

So the documents, positions and diagnostics are exactly those of reading alone, by construction:
a helper only adds cache entries, each named by the content it read (what is clean is decided by
`check_files`, for both), and a helper that fails, or finds a problem, only leaves a file for
this process to parse and report. Helpers never see Ctrl-C (SIGINT is blocked in them): this
process stops them when it is interrupted.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.manifest.cache import ManifestCache
from reconciler.manifest.files import read_regular_file
from reconciler.manifest.load import MAX_FILE_BYTES

if TYPE_CHECKING:  # multiprocessing is imported only when helpers start
    from multiprocessing.context import ForkContext, SpawnContext
    from multiprocessing.process import BaseProcess

# A helper's share must take longer to parse than starting the helper: about 0.25 s at the
# 2 MB/s a core parses, checks and stores manifests at (README, "Performance": validate with an empty cache).
MIN_SHARE_BYTES = 512 * 1024
MAX_HELPERS = 7
SAMPLE = 16  # files looked up in the cache to judge how much there is to parse


@dataclass(frozen=True)
class Helpers:
    """Helper processes at work on the files from `first` on (in the order they are read)."""

    first: int  # the index of the first file left to the helpers
    processes: tuple[BaseProcess, ...]

    def wait(self) -> None:
        for process in self.processes:
            process.join()

    def stop(self) -> None:
        """End the helpers still at work (this process was interrupted); a no-op once they are done."""
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        self.wait()


def start_helpers(files: Sequence[tuple[Path, str]], cache: ManifestCache) -> Helpers | None:
    """Helpers for the files from some point of `files` on, or None when they would not pay for
    themselves: one core, little to parse, or most files in the cache already (judged from a
    sample, so that a warm run reads only a few files twice)."""
    spare = min(_cores() - 1, MAX_HELPERS)
    if spare < 1 or len(files) < 2:
        return None
    sizes = [_size(path) for path, _ in files]
    total = sum(sizes)
    if total < 2 * MIN_SHARE_BYTES:  # not enough even if nothing is stored: no file read
        return None
    sample = files[:: max(1, len(files) // SAMPLE)]
    missing = sum(1 for path, display in sample if not _stored(cache, path, display)) / len(sample)
    count = min(spare, int(total * missing) // MIN_SHARE_BYTES - 1)
    if count < 1:
        return None
    shares = _split(sizes, count + 1)
    if len(shares) < 2:  # one file is most of it
        return None
    first = shares[1][0]  # this process reads the first share itself
    context = _context()
    processes = []
    with _sigint_blocked():  # the helpers inherit the blocked signal, and keep it
        for share in shares[1:]:
            process = context.Process(
                target=fill,
                args=([(str(files[i][0]), files[i][1]) for i in share], str(cache.folder)),
                name="reconciler-manifest-helper",
                daemon=True,  # never outlives this process
            )
            try:
                process.start()
            except OSError:  # no process to be had (a limit on processes, or memory): its files are read here
                continue
            processes.append(process)
    return Helpers(first, tuple(processes)) if processes else None


def fill(share: Sequence[tuple[str, str]], folder: str) -> None:
    """A helper's work: read the files of `share` and store the clean ones in the cache."""
    from reconciler.collector import paused
    from reconciler.manifest import check_files
    from reconciler.manifest.load import load_file

    try:
        with paused():
            cache = ManifestCache(Path(folder))
            results = [load_file(Path(path), display, cache=cache) for path, display in share]
            check_files(results, cache)  # stores the clean files it parsed
    except Exception:  # whatever goes wrong, the main process parses the files itself
        return


def _split(sizes: Sequence[int], parts: int) -> list[list[int]]:
    """The indexes of `sizes` in at most `parts` runs, in order, of about equal size in bytes."""
    total = max(sum(sizes), 1)
    shares: list[list[int]] = [[] for _ in range(parts)]
    done = 0
    for index, size in enumerate(sizes):
        shares[min(parts - 1, done * parts // total)].append(index)
        done += size
    return [share for share in shares if share]


def _stored(cache: ManifestCache, path: Path, display: str) -> bool:
    content, refusal = read_regular_file(path, MAX_FILE_BYTES)  # never a FIFO's endless read
    return refusal is not None or cache.has(display, content)  # a refused file: nothing to parse


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # the cores this process may run on, not the machine's
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _context() -> ForkContext | SpawnContext:
    """Forked helpers start at once, with everything imported. A process with other threads
    (the in-process sandbox's servers) is not forked, as a thread may hold a lock the copy needs:
    its helpers start afresh."""
    import multiprocessing  # only when helpers start

    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


@contextmanager
def _sigint_blocked() -> Iterator[None]:
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)  # as it was: blocked only if it was

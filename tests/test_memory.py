"""`reconciler.memory`: a large run gives the memory it freed back to the system. Each case runs
in a process of its own, whose C heap holds nothing else of interest."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from reconciler.memory import LARGE_RUN

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc is what this works around")

# Prints the resident size, in MiB, after each step of a run that frees 200 MiB of blocks that
# sit between small ones that stay (so that no heap can shrink from its top).
_RUN = """
import os, sys
from reconciler.memory import prepare_for_large_run, release_free_memory

def resident() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

def churn(size: int) -> list[bytes]:
    blocks, kept = [], []
    for _ in range(200 * 2**20 // size):
        blocks.append(b"\1" * size)  # written: bytes(size) could be untouched zero pages
        kept.append(b"\1" * 600)  # a small block after each: above pymalloc's 512 bytes, so in the heap
    before = resident()
    del blocks
    print(round(resident() - before))
    return kept

{steps}
"""


def freed_mib(steps: str) -> list[int]:
    """What each `churn` of the steps gave back, in MiB (negative: given back)."""
    code = _RUN.format(steps=textwrap.dedent(steps))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120).stdout
    return [int(line) for line in out.split()]


def test_a_large_run_hands_free_heap_pages_back() -> None:
    steps = f"""
    kept = churn(4096)
    before = resident()
    release_free_memory({LARGE_RUN - 1})  # a small run: nothing done
    print(round(resident() - before))
    release_free_memory({LARGE_RUN})
    print(round(resident() - before))
    """
    kept_after_free, small_run, large_run = freed_mib(steps)
    assert kept_after_free > -50  # freed, but still resident: the heap cannot shrink
    assert small_run > -20
    assert large_run < -150


@pytest.mark.parametrize(("resources", "given_back"), [(LARGE_RUN - 1, False), (LARGE_RUN, True)])
def test_a_large_run_gives_large_blocks_mappings_of_their_own(resources: int, given_back: bool) -> None:
    # A 16 MiB block, once freed, raises glibc's threshold: 1 MiB blocks come from the heap after it.
    steps = f"""
    b"\\1" * (16 * 2**20)
    prepare_for_large_run({resources})
    kept = churn(2**20)
    """
    [freed] = freed_mib(steps)
    assert (freed < -150) is given_back  # each block was a mapping of its own, unmapped when freed

"""A separate process that holds the state lock, for the locking and durability tests.

python holder.py URL hold OPERATION   take the lock, print "locked <id>", release when a line
                                      arrives on stdin (or on Ctrl-C), print "released"
python holder.py URL hold-for SECONDS take the lock, print "locked <id>", release after SECONDS
python holder.py URL append COUNT     take the lock, append COUNT journal entries printing
                                      "appended <i>" after each one is durable, then wait
                                      to be killed
python holder.py URL write-on-line OPERATION
                                      take the lock, print "locked <id>", and when a line arrives
                                      on stdin try to append a journal entry and then to write a
                                      changed state, printing "append ok" or "append refused <msg>"
                                      and "write ok <serial>" or "write refused <msg>" (the message
                                      as one JSON string), then release
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace

from reconciler.errors import StateError
from reconciler.model import JournalEntry
from reconciler.state import StateBackend, open_backend


def entry(i: int) -> JournalEntry:
    phase = "intent" if i % 2 == 0 else "done"
    return JournalEntry(
        id=f"op-{i // 2}",
        address=f"AlibabaBgpPeer/peer-{i // 2}",
        kind="AlibabaBgpPeer",
        action="create",
        phase=phase,
        time=f"2024-01-01T00:00:{i // 2:02d}Z",
        cloud_id=f"bgp-{i // 2}" if phase == "done" else None,
        attributes={"peerIpAddress": f"10.0.{i // 512}.{(i // 2) % 256}"} if phase == "done" else None,
    )


def append_then_write(backend: StateBackend) -> None:
    """What an apply does once it holds the lock: journal a call, then save the state."""
    try:
        backend.journal_append(entry(1))
        print("append ok", flush=True)
    except StateError as exc:
        print(f"append refused {json.dumps(str(exc))}", flush=True)
    try:
        state = backend.read()
        written = backend.write(replace(state, extra={**state.extra, "written_by": "holder"}))
        print(f"write ok {written.serial}", flush=True)
    except StateError as exc:
        print(f"write refused {json.dumps(str(exc))}", flush=True)


def main(url: str, mode: str, arg: str) -> int:
    backend = open_backend(url)
    operation = arg if mode in ("hold", "write-on-line") else f"test {mode}"
    try:
        with backend.lock(operation) as info:
            print(f"locked {info.id}", flush=True)
            if mode == "hold":
                sys.stdin.readline()
            elif mode == "write-on-line":
                sys.stdin.readline()
                append_then_write(backend)
            elif mode == "hold-for":
                time.sleep(float(arg))
            elif mode == "append":
                for i in range(int(arg)):
                    backend.journal_append(entry(i))
                    print(f"appended {i}", flush=True)
                time.sleep(600)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        return 130
    finally:
        backend.close()
    print("released", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))

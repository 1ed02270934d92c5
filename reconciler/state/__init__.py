"""State: what reconciler manages, where it lives, and the write-ahead journal
(docs/architecture.md, "State and the journal").

Typical use (the apply engine)::

    backend = open_backend(app.state_url)  # a path, or a postgresql:// URL
    with backend.lock("apply", timeout=app.lock_timeout):
        state = backend.read()  # journal folded in; unsettled intents in state.pending
        backend.journal_append(intent)  # before each mutating call: durable when it returns
        backend.journal_append(done)  # right after it
        backend.write(backend.read())  # once at the end: journal emptied; a new serial only if something changed
"""

from __future__ import annotations

from pathlib import Path

from reconciler.errors import StateError
from reconciler.state.base import LockInfo, StateBackend
from reconciler.state.codec import FORMAT_VERSION, dump_state, load_state
from reconciler.state.journal import fold

__all__ = ["FORMAT_VERSION", "LockInfo", "StateBackend", "dump_state", "fold", "load_state", "open_backend"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_backend(url: str) -> StateBackend:
    """A path (or file:// URL) -> LocalBackend; postgresql:// or postgres:// -> PostgresBackend."""
    if url.startswith(POSTGRES_SCHEMES):
        try:
            from reconciler.state.postgres import PostgresBackend
        except ImportError:
            raise StateError("the PostgreSQL state backend needs psycopg: pip install 'reconciler[postgres]'") from None
        return PostgresBackend(url)
    if url.startswith("file://"):
        url = url.removeprefix("file://")
    elif "://" in url:
        scheme = url.split("://", 1)[0]
        raise StateError(
            f"unsupported state backend {scheme}://: use a file path (e.g. state/reconciler.json) "
            "or a postgresql:// URL"
        )
    if not url.strip():
        raise StateError("the state location is empty: use a file path or a postgresql:// URL")
    from reconciler.state.local import LocalBackend

    return LocalBackend(Path(url).expanduser())

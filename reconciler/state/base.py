"""What every state backend provides, the lock record they share, and the rule that a write
which would change nothing but the serial writes nothing.

A backend stores one state document (`reconciler.model.StateDoc`), a write-ahead journal of
`JournalEntry` lines appended during an apply, and an exclusive lock that says who holds it.
"""

from __future__ import annotations

import getpass
import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from reconciler.errors import LockError
from reconciler.log import get_logger
from reconciler.model import JournalEntry, StateDoc
from reconciler.state.codec import dump_state

if TYPE_CHECKING:
    import tenacity

# How long to sleep between attempts to take a busy lock: 0.1 s doubling up to 2 s.
LOCK_POLL_FIRST = 0.1
LOCK_POLL_MAX = 2.0


@dataclass(frozen=True, slots=True)
class LockInfo:
    """Who holds the state lock. `id` is what `reconciler state unlock` asks for."""

    id: str
    operation: str  # apply, import, state rm, ...
    user: str
    host: str
    pid: int
    created: str  # ISO 8601, UTC
    path: str  # where the lock lives: the lock file, or the PostgreSQL table and state name
    info: str = ""  # the CI job that holds it, when known

    @property
    def who(self) -> str:
        return f"{self.user}@{self.host} (pid {self.pid})"

    def describe(self) -> str:
        """Multi-line description for messages, like Terraform's "Lock Info" block."""
        lines = [
            f"  lock id:   {self.id}",
            f"  operation: {self.operation}",
            f"  who:       {self.who}",
            f"  since:     {self.created}{_age(self.created)}",
            f"  path:      {self.path}",
        ]
        if self.info:
            lines.append(f"  info:      {self.info}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LockInfo:
        return cls(
            id=str(data["id"]),
            operation=str(data["operation"]),
            user=str(data["user"]),
            host=str(data["host"]),
            pid=int(data["pid"]),
            created=str(data["created"]),
            path=str(data["path"]),
            info=str(data.get("info", "")),
        )


def new_lock_info(operation: str, path: str) -> LockInfo:
    """A fresh lock record for this process."""
    return LockInfo(
        id=str(uuid.uuid4()),
        operation=operation,
        user=_current_user(),
        host=socket.gethostname(),
        pid=os.getpid(),
        created=utc_now(),
        path=path,
        info=_ci_job_url(),
    )


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a uid without a passwd entry (containers)
        return str(os.getuid())


def _ci_job_url() -> str:
    """The CI job holding the lock, so a blocked colleague can follow the link."""
    env = os.environ
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return env.get("CI_JOB_URL", "")  # GitLab


def _age(created: str) -> str:
    try:
        seconds = int((datetime.now(UTC) - datetime.fromisoformat(created)).total_seconds())
    except (ValueError, TypeError):
        return ""
    if seconds < 0:
        return ""
    if seconds < 120:
        return f" ({seconds}s ago)"
    if seconds < 7200:
        return f" ({seconds // 60}m ago)"
    return f" ({seconds // 3600}h ago)"


def only_the_serial_differs(stored_text: str | None, stored_serial: int, new: StateDoc, new_text: str) -> bool:
    """Whether `new` (whose text is `new_text`) records exactly what is stored: a write of it
    would change nothing but the serial. The lengths are compared first, so that most real
    changes cost no second rendering of the document."""
    if stored_text is None:
        return False
    same_length = len(new_text) - len(str(new.serial)) + len(str(stored_serial))
    return len(stored_text) == same_length and stored_text == dump_state(replace(new, serial=stored_serial))


@runtime_checkable
class StateBackend(Protocol):
    """Where the state lives. `reconciler.state.open_backend(url)` returns one.

    Reads need no lock (plans are lock-free); `write` and `journal_append` require the lock
    held through `lock()` on the same backend object, and check before writing anything that
    this process still holds it (else `LockError`, and nothing is written).
    """

    description: str  # for messages; a password in a URL is masked

    def read(self) -> StateDoc:
        """The stored state with the journal folded in (in memory; nothing is written).

        Missing state -> `StateDoc()` (lineage None, serial 0). Unsettled intents are in
        `.pending`. Raises `StateError` for a corrupt or too-new state.
        """
        ...

    def write(self, doc: StateDoc) -> StateDoc:
        """Store `doc` atomically as the next serial and empty the journal.

        `doc` must reflect every journal entry (build it from `read()` made after the last
        append) and `doc.serial` must be the stored serial (else the state moved: StateError).
        Assigns a lineage if `doc.lineage` is None. When `doc` records exactly what is stored
        (an apply whose calls all failed), nothing is stored and the serial stays, so plans
        saved against it stay valid; the journal is emptied all the same. Returns the state
        as stored now.
        """
        ...

    def lock(self, operation: str, timeout: float = 0.0) -> AbstractContextManager[LockInfo]:
        """Hold the exclusive state lock for the `with` block; released on every exit path.

        Busy: polls with backoff for up to `timeout` seconds, then raises `LockError`
        naming the holder.
        """
        ...

    def current_lock(self) -> LockInfo | None:
        """The recorded lock holder, if any (possibly a dead one, see `force_unlock`)."""
        ...

    def force_unlock(self, lock_id: str) -> LockInfo:
        """Remove the lock record `lock_id` left by a holder that died. Refuses (LockError)
        if no such lock exists or its holder is still alive."""
        ...

    def journal_append(self, entry: JournalEntry) -> None:
        """Append one entry; it is durable (fsynced / committed) when this returns.

        Safe to call from many threads at once: entries appended at the same time are written
        together (one fdatasync / one transaction, `group_commit.py`), each call returning once
        the write that holds its entry has succeeded, or raising what that write raised.
        """
        ...

    def journal_append_many(self, entries: Sequence[JournalEntry]) -> None:
        """Append `entries` in order, in one write; all are durable when this returns."""
        ...

    def journal_entries(self) -> list[JournalEntry]:
        """The entries not yet folded into the stored state, in append order."""
        ...

    def close(self) -> None: ...


class LockBusy(Exception):
    """Internal: one attempt to take the lock failed; `holder` is who has it, if known."""

    def __init__(self, holder: LockInfo | None) -> None:
        super().__init__("state lock is busy")
        self.holder = holder


T = TypeVar("T")


def acquire_with_backoff(
    attempt: Callable[[], T],
    timeout: float,
    description: str,
    on_first_wait: Callable[[LockInfo | None], None] | None = None,
) -> T:
    """Call `attempt` until it stops raising LockBusy, for up to `timeout` seconds.

    Sleeps 0.1 s doubling to 2 s between attempts, never past the deadline; a last attempt is
    made at the deadline. Gives up with a LockError that names the holder. (tenacity is imported
    here, not with the module: a plan reads the state without its lock.)
    """
    import tenacity

    timeout = max(0.0, timeout)
    backoff = tenacity.wait_exponential(multiplier=LOCK_POLL_FIRST, max=LOCK_POLL_MAX)

    def wait(state: tenacity.RetryCallState) -> float:
        remaining = timeout - (state.seconds_since_start or 0.0)
        return max(0.0, min(backoff(state), remaining))

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if state.attempt_number == 1 and on_first_wait is not None and state.outcome is not None:
            error = state.outcome.exception()
            on_first_wait(error.holder if isinstance(error, LockBusy) else None)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(LockBusy),
        stop=tenacity.stop_after_delay(timeout),
        wait=wait,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except LockBusy as busy:
        raise lock_busy_error(description, busy.holder, timeout) from None


def lock_busy_error(description: str, holder: LockInfo | None, timeout: float) -> LockError:
    waited = f" after waiting {timeout:g}s" if timeout > 0 else ""
    if holder is None:
        detail = "  (no record says who holds it: the holder is just starting, or its record was deleted)"
    else:
        detail = holder.describe()
    return LockError(
        f"the state {description} is locked by another process{waited}:\n{detail}",
        hint="wait for it to finish, or pass --lock-timeout SECONDS to wait for the lock; "
        "if its process is gone, `reconciler state unlock LOCK_ID` removes a stale lock record",
    )


def waiting_logger(description: str, timeout: float) -> Callable[[LockInfo | None], None]:
    """Logs once that we are waiting for a busy lock, and for whom."""

    def waiting(holder: LockInfo | None) -> None:
        get_logger("reconciler.state").info(
            "state lock is busy; waiting for it",
            state=description,
            holder=holder.who if holder else "unknown",
            operation=holder.operation if holder else "unknown",
            timeout_s=timeout,
        )

    return waiting

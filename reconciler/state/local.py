"""The local state backend: one JSON file plus its companions in the same folder.

    state/reconciler.json            the state document (mode 0600)
    state/reconciler.json.backup     the previous version, kept on every write
    state/reconciler.json.journal    write-ahead journal: JSON lines, appended and fdatasynced
    state/reconciler.json.lock.json  who holds the lock; left behind only if the holder died

**The lock** is an exclusive `flock` on the state's folder itself (opened O_RDONLY|O_DIRECTORY),
held while a command works on the state and released by the OS when the process dies. Nothing
a user deletes by accident releases it: a lock on a separate lock file is lost when that file is
deleted (the next process creates and locks a new file of the same name), and a lock on the
state file would not survive its first write, which replaces the file by a rename. The folder
cannot go away without the state in it. The price is that states kept in one folder share one
lock and take turns; a filesystem that cannot lock a folder (some network filesystems) gets a
message saying so. Earlier versions locked a `.lock` file; it is no longer used.

The holder record (`.lock.json`) is what messages and `reconciler state unlock` show. The
holder checks it before every journal append and every state write: if it no longer names this
process's lock id (deleted, or rewritten), or the folder is no longer the one locked, nothing is
written and the command stops with a message saying so.

Appends made at the same time by the apply engine's worker threads are written together, in
one write and one fdatasync (group commit, `reconciler.state.group_commit`); each append still
returns only once its lines are synced. A crash mid-write leaves complete lines and at most one
torn last line, which reading skips and the next append cuts off.

Each journal line carries `base_serial`, the state serial it was appended on top of. A write
folds the journal into the next serial and then empties the journal; if the process dies in
between, the leftover lines have a base_serial below the file's serial and are known to be
folded already, so nothing is applied twice. A write that changes nothing but the serial (an
apply whose calls all failed) leaves the file and its serial as they are and only empties the
journal: its lines changed nothing, so folding them again after a crash changes nothing either.

Only regular files are read, at most MAX_FILE_BYTES of each, and never in a way that can block:
a folder, a device or a FIFO at any of these paths is refused with a message, before anything
is written. A read-only state file or folder is refused when the lock is taken, before any
cloud is called.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from reconciler.durable import fsync_folder, write_atomically
from reconciler.errors import LockError, StateError
from reconciler.log import get_logger
from reconciler.model import JournalEntry, StateDoc
from reconciler.state.base import (
    LockBusy,
    LockInfo,
    acquire_with_backoff,
    new_lock_info,
    only_the_serial_differs,
    waiting_logger,
)
from reconciler.state.codec import (
    FORMAT_VERSION,
    Invalid,
    check_entry,
    check_entry_json,
    dump_state,
    entry_from_json,
    load_state,
)
from reconciler.state.group_commit import GroupCommit
from reconciler.state.journal import fold

FILE_MODE = 0o600
DIR_MODE = 0o700  # only for folders we create
# Far above any real state or journal (10,000 resources make a state of about 5 MB); a bound
# so that a wrong path can never exhaust memory.
MAX_FILE_BYTES = 256 * 1024 * 1024
READ_CHUNK_BYTES = 1024 * 1024  # what is read at a time past the size the file had when opened
RECORD_SUFFIX = ".lock.json"
RECORD_RECHECK = 1.0  # seconds: the lock record is read again at least this often while writing
_BASE_SERIAL = frozenset({"base_serial"})
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)  # never blocks on a FIFO

log = get_logger("reconciler.state")


class LocalBackend:
    """State in a local JSON file. See the module docstring for the files it uses."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.description = str(self.path)
        self.folder = self.path.parent
        self.backup_path = self._sibling(".backup")
        self.journal_path = self._sibling(".journal")
        self.lock_info_path = self._sibling(RECORD_SUFFIX)
        self._held: LockInfo | None = None
        self._folder_id: tuple[int, int] | None = None  # (st_dev, st_ino) of the locked folder
        # The lock record as last read and found to name our lock (`_record_signature`), and when:
        # while the file is unchanged it need not be read again before each journal batch.
        self._verified_record: tuple[int, int, int, int] | None = None
        self._verified_at = 0.0
        self._journal: BinaryIO | None = None  # open for appending while we hold the lock
        self._base_serial = 0  # the stored serial that journal appends build on
        # The apply engine appends from worker threads: their lines are written a batch at a time.
        self._journal_group: GroupCommit[dict[str, Any]] = GroupCommit(self._write_journal_lines)

    def _sibling(self, suffix: str) -> Path:
        return self.path.with_name(self.path.name + suffix)

    # -- reading -----------------------------------------------------------------------------

    def read(self) -> StateDoc:
        # The journal first, then the state: if a writer folds the journal in between, we see
        # the new state and recognise the journal lines as folded by their base_serial.
        lines = self._read_journal()
        _, stored = self._read_stored()
        return fold(stored, self._unfolded(lines, stored.serial))

    def journal_entries(self) -> list[JournalEntry]:
        lines = self._read_journal()
        _, stored = self._read_stored()
        return self._unfolded(lines, stored.serial)

    def _read_stored(self, *, keep_raw: bool = False) -> tuple[bytes | None, StateDoc]:
        """The parsed document, and with `keep_raw` the raw bytes (None if there is no file)."""
        raw = read_regular_file(self.path, "the state file", STATE_PATH_ADVICE)
        if raw is None:
            return None, StateDoc()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise StateError(f"{self.path}: not UTF-8 text; the file is corrupt", hint=self._untouched_hint()) from None
        if not keep_raw:
            raw = None  # a large state is not held twice while it is parsed
        try:
            doc = load_state(text, str(self.path))
        except StateError as exc:
            raise StateError(exc.message, hint=self._untouched_hint()) from None
        return raw, doc

    def _untouched_hint(self) -> str:
        if not self.backup_path.exists():
            return f"the file was not modified; there is no backup ({self.backup_path} does not exist)"
        serial = ""
        with suppress(StateError, ValueError, TypeError, KeyError):
            backup = read_regular_file(self.backup_path, "the backup", "")
            serial = f", serial {json.loads(backup or b'')['serial']}"
        return (
            f"the file was not modified; the previous version is in {self.backup_path}{serial}. "
            f"To go back to it: cp {self.backup_path} {self.path}"
        )

    def _read_journal(self) -> list[tuple[int, JournalEntry]]:
        """(base_serial, entry) for every complete line; a torn last line is skipped."""
        raw = read_regular_file(self.journal_path, "the journal", COMPANION_ADVICE)
        if raw is None:
            return []
        lines = raw.split(b"\n")
        torn = lines.pop()  # what follows the last newline: empty unless a write was cut short
        if torn.strip():
            log.warning(
                "journal: ignoring a torn last line (a process was killed while appending it)",
                journal=str(self.journal_path),
                line=len(lines) + 1,
                bytes=len(torn),
            )
        entries = []
        for number, line in enumerate(lines, start=1):
            if line.strip():
                entries.append(self._parse_journal_line(line, number))
        return entries

    def _parse_journal_line(self, line: bytes, number: int) -> tuple[int, JournalEntry]:
        try:
            data: Any = json.loads(line)
            check_entry_json(data, "$", extra_fields=_BASE_SERIAL)
            base = data.pop("base_serial", None)
            if not isinstance(base, int) or isinstance(base, bool) or base < 0:
                raise Invalid("$.base_serial", "must be an integer >= 0")
        except (ValueError, Invalid) as exc:
            raise StateError(
                f"{self.journal_path}:{number}: corrupt journal entry ({exc})",
                hint="complete lines are never damaged by a crash; inspect the file (each line is one "
                "JSON object) and fix or remove that line",
            ) from None
        return base, entry_from_json(data)

    def _unfolded(self, lines: list[tuple[int, JournalEntry]], serial: int) -> list[JournalEntry]:
        """The entries not yet folded into the state file at `serial`."""
        if any(base > serial for base, _ in lines):
            log.warning(
                "journal: entries were appended on top of a newer state than the file holds "
                "(was it restored from a backup?); folding them anyway",
                journal=str(self.journal_path),
                state_serial=serial,
            )
        return [entry for base, entry in lines if base >= serial]

    # -- writing -----------------------------------------------------------------------------

    def write(self, doc: StateDoc) -> StateDoc:
        self._check_held("write the state")
        old_raw, stored = self._read_stored(keep_raw=True)  # a corrupt or too-new file stops us here
        if doc.serial != stored.serial:
            raise StateError(
                f"the state {self.description} moved from serial {doc.serial} to {stored.serial} since "
                "this document was read; nothing was written",
                hint="read the state again and redo the change",
            )
        if stored.lineage and doc.lineage and doc.lineage != stored.lineage:
            raise StateError(
                f"refusing to write a state of lineage {doc.lineage} over {self.description}, "
                f"which has lineage {stored.lineage}; nothing was written"
            )
        new = replace(
            doc,
            lineage=doc.lineage or stored.lineage or str(uuid.uuid4()),
            serial=stored.serial + 1,
            format_version=FORMAT_VERSION,
        )
        text = dump_state(new)  # checks everything before the disk is touched
        old_text = None if old_raw is None else old_raw.decode("utf-8")  # checked as UTF-8 when read
        if only_the_serial_differs(old_text, stored.serial, new, text):
            # Nothing but the serial would change: keep the serial, so saved plans stay valid.
            self._empty_journal()
            return stored
        try:
            self._ensure_folder()
            if old_raw is not None:
                write_atomically(self.backup_path, old_raw)
            write_atomically(self.path, text.encode("utf-8"))
        except OSError as exc:
            raise StateError(
                f"cannot write the state file {self.path}: {exc.strerror}; the previous state is unchanged"
            ) from None
        self._empty_journal()
        self._base_serial = new.serial
        return new

    def _empty_journal(self) -> None:
        # Lines left behind by a crash just before this point are recognised as folded by
        # their base_serial (or changed nothing), so emptying the journal is an optimisation,
        # not a correctness step.
        try:
            if self._journal is not None:
                os.ftruncate(self._journal.fileno(), 0)
                os.fsync(self._journal.fileno())
            elif self.journal_path.exists():
                fd = self._open_journal_fd(create=False)
                try:
                    os.ftruncate(fd, 0)
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except (OSError, StateError) as exc:
            log.warning("journal: could not empty it after a write", journal=str(self.journal_path), error=str(exc))

    def journal_append(self, entry: JournalEntry) -> None:
        self.journal_append_many((entry,))

    def journal_append_many(self, entries: Sequence[JournalEntry]) -> None:
        # Checked in the appender's thread: an entry that cannot be stored fails its own append
        # only, never the batch it would have joined.
        self._journal_group.append([check_entry(entry) for entry in entries])

    def _write_journal_lines(self, batch: Sequence[dict[str, Any]]) -> None:
        """One batch of entries (as JSON data): checked against the lock, then one write and one
        fdatasync. Called by one thread at a time (the batch's leader)."""
        self._check_held("append to the journal")
        journal = self._journal or self._open_journal()
        lines = []
        for data in batch:
            data["base_serial"] = self._base_serial
            lines.append(json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n")
        try:
            journal.write("".join(lines).encode("utf-8"))
            journal.flush()
            sync_data(journal.fileno())
        except OSError as exc:
            raise StateError(f"cannot append to the journal {self.journal_path}: {exc.strerror}") from None

    def _open_journal(self) -> BinaryIO:
        _, stored = self._read_stored()
        self._base_serial = stored.serial
        created = not self.journal_path.exists()
        fd = self._open_journal_fd(create=True)
        try:
            self._drop_torn_tail(fd)
            self._journal = os.fdopen(fd, "ab")
        except StateError:
            os.close(fd)
            raise
        except OSError as exc:
            os.close(fd)
            raise StateError(f"cannot open the journal {self.journal_path}: {exc.strerror}") from None
        if created:
            fsync_folder(self.folder)
        return self._journal

    def _open_journal_fd(self, *, create: bool) -> int:
        """The journal, open for appending; refuses anything but a regular file, without
        blocking (O_NONBLOCK: opening a FIFO for writing would wait for a reader)."""
        flags = os.O_RDWR | os.O_APPEND | os.O_NONBLOCK | (os.O_CREAT if create else 0)
        try:
            fd = os.open(self.journal_path, flags, FILE_MODE)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # a FIFO without a reader
                raise not_a_regular_file(self.journal_path, stat.S_IFIFO, "the journal", COMPANION_ADVICE) from None
            raise StateError(f"cannot open the journal {self.journal_path}: {exc.strerror}") from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise not_a_regular_file(self.journal_path, mode, "the journal", COMPANION_ADVICE)
        return fd

    def _drop_torn_tail(self, fd: int) -> None:
        """Cut a torn last line (from a kill mid-append) so the next line starts cleanly."""
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return
        if size > MAX_FILE_BYTES:
            raise too_large(self.journal_path, size, "the journal")
        keep = os.pread(fd, size, 0).rfind(b"\n") + 1
        os.ftruncate(fd, keep)
        os.fsync(fd)
        log.warning(
            "journal: removed a torn last line left by a process killed while appending it",
            journal=str(self.journal_path),
            bytes=size - keep,
        )

    def _close_journal(self) -> None:
        if self._journal is not None:
            with suppress(OSError):
                self._journal.close()
            self._journal = None

    # -- locking -----------------------------------------------------------------------------

    @contextmanager
    def lock(self, operation: str, timeout: float = 0.0) -> Iterator[LockInfo]:
        if self._held is not None:
            raise StateError(f"this process already holds the state lock (for {self._held.operation})")
        self._check_paths()  # before anything is created: a wrong path damages nothing
        try:
            self._ensure_folder()
        except OSError as exc:
            raise StateError(
                f"cannot create the state folder {self.folder}: {exc.strerror}",
                hint="create it, or choose a state path in a folder you can write (--state / RECONCILER_STATE)",
            ) from None
        self._check_writable()
        folder_fd = self._open_folder()
        try:

            def attempt() -> None:
                try:
                    fcntl.flock(folder_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise LockBusy(self._folder_holder()) from None
                except OSError as exc:
                    raise self._cannot_lock(exc) from None

            acquire_with_backoff(attempt, timeout, self.description, waiting_logger(self.description, timeout))
            with self._holding(operation, folder_fd) as info:
                yield info
        finally:
            os.close(folder_fd)  # releases the flock

    @contextmanager
    def _holding(self, operation: str, folder_fd: int) -> Iterator[LockInfo]:
        """With the folder locked: record ourselves as the holder for the `with` block."""
        dead = self.current_lock()
        if dead is not None:
            log.warning(
                "state lock: its previous holder died without releasing it; taking it over",
                lock_id=dead.id,
                operation=dead.operation,
                holder=dead.who,
                since=dead.created,
            )
        info = new_lock_info(operation, str(self.lock_info_path))
        try:
            write_atomically(self.lock_info_path, json.dumps(info.to_json(), indent=2).encode("utf-8"))
        except OSError as exc:
            raise StateError(
                f"cannot record the lock holder in {self.lock_info_path}: {exc.strerror}; nothing was written",
                hint=f"reconciler writes its files in {self.folder}: make that folder writable",
            ) from None
        folder = os.fstat(folder_fd)
        self._folder_id = (folder.st_dev, folder.st_ino)
        self._held = info
        self._verified_record = None
        try:
            yield info
        finally:
            self._held = None
            self._verified_record = None
            self._folder_id = None
            self._close_journal()
            self._base_serial = 0
            recorded = self.current_lock()
            if recorded is not None and recorded.id == info.id:  # never remove another's record
                self.lock_info_path.unlink(missing_ok=True)

    def _open_folder(self) -> int:
        try:
            return os.open(self.folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError as exc:
            raise StateError(f"cannot open the state folder {self.folder} to lock it: {exc.strerror}") from None

    def _cannot_lock(self, exc: OSError) -> StateError:
        return StateError(
            f"cannot lock the state folder {self.folder}: {exc.strerror}. reconciler locks the folder "
            "that holds the state (flock), and this filesystem does not support that",
            hint="keep a local state on a local filesystem, or use the PostgreSQL backend "
            "(--state postgresql://...) for a shared one",
        )

    def current_lock(self) -> LockInfo | None:
        return self._record(self.lock_info_path)

    def _record(self, path: Path) -> LockInfo | None:
        try:
            raw = read_regular_file(path, "the lock record", COMPANION_ADVICE)
            return None if raw is None else LockInfo.from_json(json.loads(raw))
        except (StateError, ValueError, KeyError, TypeError) as exc:
            log.warning("state lock: unreadable lock record", path=str(path), error=str(exc))
            return None

    def _folder_holder(self) -> LockInfo | None:
        """Who holds the folder's lock: the newest holder record in the folder. Every record
        was written under the lock, so the current holder's is the newest one; it may belong
        to another state kept in the same folder."""
        try:
            records = [path for path in self.folder.iterdir() if path.name.endswith(RECORD_SUFFIX)]
        except OSError:
            return None
        holders = [holder for path in records if (holder := self._record(path)) is not None]
        return max(holders, key=lambda holder: holder.created, default=None)

    def force_unlock(self, lock_id: str) -> LockInfo:
        info = self.current_lock()
        if info is None:
            raise LockError(f"the state {self.description} is not locked: there is no lock {lock_id!r}")
        if info.id != lock_id:
            raise LockError(
                f"there is no lock {lock_id!r} on {self.description}; the current lock is:\n{info.describe()}"
            )
        folder_fd = self._open_folder()
        try:
            try:
                fcntl.flock(folder_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise self._live_lock(info) from None
            except OSError as exc:
                raise self._cannot_lock(exc) from None
            self.lock_info_path.unlink(missing_ok=True)
        finally:
            os.close(folder_fd)
        return info

    def _live_lock(self, info: LockInfo) -> LockError:
        holder = self._folder_holder()
        if holder is None or holder.id == info.id:
            return LockError(
                f"lock {info.id} is held by a live process ({info.who}); "
                "it is released when that process exits, so it is not stale",
                hint=f"if that process hangs, stop it (kill {info.pid} on {info.host})",
            )
        return LockError(
            f"the state folder {self.folder} is locked by a live process, so lock {info.id} cannot be "
            f"removed now (states in one folder share its lock); the holder is:\n{holder.describe()}",
            hint="run `reconciler state unlock` again once that process has finished",
        )

    def _check_held(self, what: str) -> None:
        """Refuse to write unless this process still holds the lock: its record names our lock
        id and the folder is the one we locked."""
        held = self._held
        if held is None:
            raise StateError(f"cannot {what} without holding the state lock (internal error: call lock() first)")
        untouched = f"refusing to {what}: nothing was written (the state {self.path} and its journal are as they were)"
        hint = (
            "run the command again: it resolves unsettled journal intents first. Lock files are not to be "
            "deleted by hand: `reconciler state unlock LOCK_ID` removes a stale lock safely"
        )
        try:
            now = os.stat(self.folder)
            same_folder = (now.st_dev, now.st_ino) == self._folder_id
        except OSError:
            same_folder = False
        if not same_folder:
            raise LockError(
                f"the state folder {self.folder} was removed or replaced while this process held its lock "
                f"{held.id}; {untouched}",
                hint=hint,
            )
        # Reading and parsing the record before every journal batch cost an apply of 1,000 creates
        # about a tenth of its time (each file call lets busy workers take the interpreter). A file
        # that is unchanged (same inode, size and modification time) is still ours; it is read
        # again at least every RECORD_RECHECK seconds all the same, since a rewrite in place of
        # the same size may keep the time, which the system keeps to a few milliseconds.
        signature = self._record_signature()
        checked_at = time.monotonic()
        unchanged = signature is not None and signature == self._verified_record
        if unchanged and checked_at - self._verified_at < RECORD_RECHECK:
            return
        recorded = self.current_lock()
        if recorded is None:
            raise LockError(
                f"the lock record {self.lock_info_path} was deleted (or damaged) while this process held the "
                f"state lock {held.id}; {untouched}",
                hint=hint,
            )
        if recorded.id != held.id:
            raise LockError(
                f"the lock record {self.lock_info_path} no longer names this process's lock {held.id}; it names:\n"
                f"{recorded.describe()}\n{untouched}",
                hint=hint,
            )
        # The signature was taken before the read: a change since then is read next time.
        self._verified_record, self._verified_at = signature, checked_at

    def _record_signature(self) -> tuple[int, int, int, int] | None:
        """The lock record's identity and version (device, inode, size, modification time), or None
        when it cannot be looked at."""
        try:
            found = os.stat(self.lock_info_path, follow_symlinks=False)
        except OSError:
            return None
        return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)

    # -- paths -------------------------------------------------------------------------------

    def _check_paths(self) -> None:
        """Every path we may write is a regular file or absent (else a clear message)."""
        check_kind(self.path, "the state file", STATE_PATH_ADVICE)
        for path, what in (
            (self.backup_path, "the backup"),
            (self.journal_path, "the journal"),
            (self.lock_info_path, "the lock record"),
        ):
            check_kind(path, what, COMPANION_ADVICE)

    def _check_writable(self) -> None:
        """A read-only state is refused when the lock is taken, before any cloud is called."""
        if not os.access(self.folder, os.W_OK | os.X_OK):
            raise StateError(
                f"the state folder {self.folder} is not writable: reconciler writes the state, its backup, "
                "journal and lock record there; nothing was written",
                hint=f"make it writable (chmod u+w {self.folder}), or choose a state path in a writable "
                "folder (--state / RECONCILER_STATE); plan and drift only read the state",
            )
        for path, what in ((self.path, "state file"), (self.journal_path, "journal")):
            if path.exists() and not os.access(path, os.W_OK):
                raise StateError(
                    f"the {what} {path} is read-only: reconciler replaces the state file on every write and "
                    "appends to its journal; nothing was written",
                    hint=f"make it writable (chmod u+w {path}) if the state may change; plan and drift only read it",
                )

    def _ensure_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)

    def close(self) -> None:
        self._close_journal()

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


STATE_PATH_ADVICE = (
    "the state must be a regular file, or not exist yet (it is created by the first apply): "
    "pass --state (or set RECONCILER_STATE to) a file path such as state/reconciler.json"
)
COMPANION_ADVICE = "reconciler keeps it beside the state file as a regular file: move the thing at that path away"
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_regular_file(path: Path, what: str, advice: str) -> bytes | None:
    """The content of `path`, or None if it does not exist.

    Refuses (StateError naming the path) anything but a regular file of at most MAX_FILE_BYTES,
    and never blocks: a FIFO is opened with O_NONBLOCK and refused, a device never read."""
    if check_kind(path, what, advice) is None:
        return None
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped in since the check
            raise not_a_regular_file(path, info.st_mode, what, advice)
        return _read_to_end(fd, info.st_size, path, what)
    except OSError as exc:
        raise StateError(f"cannot read {what} {path}: {exc.strerror}") from None
    finally:
        os.close(fd)


def _read_to_end(fd: int, expected: int, path: Path, what: str) -> bytes:
    """The rest of `fd`, refusing more than MAX_FILE_BYTES.

    The first read asks for the `expected` size (from fstat) and one byte more, so that a file
    that does not change meanwhile comes in one piece: no chunks to join, one copy of a 6 MB
    state fewer. Any more is read a chunk at a time, up to the bound, as before."""
    chunks = []
    size = 0
    want = min(expected + 1, MAX_FILE_BYTES)
    while chunk := os.read(fd, want):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise too_large(path, size, what)
        want = READ_CHUNK_BYTES
    return b"".join(chunks)  # a single chunk is returned as it is, not copied


def check_kind(path: Path, what: str, advice: str) -> os.stat_result | None:
    """`path`'s stat if it is a regular file, None if nothing is there, else StateError."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise StateError(
            f"cannot use {what} {path}: a part of its folder {path.parent} is not a folder", hint=advice
        ) from None
    except OSError as exc:
        raise StateError(f"cannot read {what} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise not_a_regular_file(path, info.st_mode, what, advice)
    return info


def not_a_regular_file(path: Path, mode: int, what: str, advice: str) -> StateError:
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    if stat.S_ISDIR(mode) and advice == STATE_PATH_ADVICE:
        advice = f"--state names the state file itself, e.g. {path / 'reconciler.json'}; " + advice
    return StateError(f"{what} {path} is {kind}, not a regular file; nothing was read or written", hint=advice)


def too_large(path: Path, size: int, what: str) -> StateError:
    return StateError(
        f"{what} {path} is larger than {MAX_FILE_BYTES} bytes ({size} bytes read so far): "
        "not a state reconciler wrote; nothing was changed",
        hint="check the state path (--state / RECONCILER_STATE)",
    )


def sync_data(fd: int) -> None:
    """fsync for appends: fdatasync where it exists (it also persists the new file size, which
    is all an append changes; about 3x cheaper than fsync on Linux ext4)."""
    getattr(os, "fdatasync", os.fsync)(fd)

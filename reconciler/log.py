"""Logging setup (structlog), to stderr, as text or JSON lines.

Log lines are for operators and CI logs; command results go to stdout. Secrets travel as
`SecretValue`, whose repr is masked, and two library habits are kept out on purpose:
tracebacks never show local variables (a provider frame may hold a request with a key), and
HTTP libraries never log request lines (a cloud SDK may put every parameter, a BGP key included,
in the URL).

structlog (and rich, which its console renderer imports) is imported on the first line that is
logged at an enabled level, not at start: most runs of validate, plan and drift log nothing
without -v, and the import costs about 0.06 s of CPU, a quarter of a small `validate`.
`configure` records the settings; the loggers `get_logger` returns drop lines below the level
without importing anything.
"""

from __future__ import annotations

import logging
import queue
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO, cast

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger, Processor

_QUERY = re.compile(r"\?[^\s\"']*")
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class _NoQueryStrings(logging.Filter):
    """Defence in depth for library log records: drop URL query strings from the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _QUERY.sub("?(parameters omitted)", record.getMessage())
        record.args = None
        return True


@dataclass(frozen=True)
class _Settings:
    log_format: str
    verbose: bool

    @property
    def level(self) -> int:
        return logging.DEBUG if self.verbose else logging.INFO


@dataclass
class _Pending:
    """Settings `configure` received that structlog has not been given yet (it is not imported yet)."""

    settings: _Settings | None = None


_lock = threading.Lock()
_pending = _Pending()
BEHIND_INTERVAL = 0.05  # seconds at least between two writes of `written_behind`
BEHIND_FLUSH_TIMEOUT = 10.0  # seconds `written_behind` waits for its queued lines at its end


class _Stream:
    """Where log lines go (stderr): written at once, or, within `written_behind`, queued and
    written by a thread of its own. structlog's logger writes and flushes each line through this."""

    def __init__(self, file: TextIO) -> None:
        self.file = file
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[str | None] | None = None

    def write(self, text: str) -> None:
        with self._lock:
            if self._queue is not None:
                self._queue.put(text)
                return
        self.file.write(text)

    def flush(self) -> None:
        if self._queue is None:
            self.file.flush()

    @contextmanager
    def behind(self) -> Iterator[None]:
        lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        ending = threading.Event()
        writer = threading.Thread(target=_write_out, args=(lines, self.file, ending), name="log-writer", daemon=True)
        with self._lock:
            self._queue = lines
        writer.start()
        try:
            yield
        finally:
            with self._lock:  # no line is queued after the end mark (None)
                self._queue = None
                lines.put(None)
            ending.set()
            writer.join(BEHIND_FLUSH_TIMEOUT)


def _write_out(lines: queue.SimpleQueue[str | None], file: TextIO, ending: threading.Event) -> None:
    """Write the queued lines in order until the end mark: a line that finds the writer idle at
    once, then at most one write every `BEHIND_INTERVAL`, of every line queued meanwhile."""
    while True:
        batch: list[str] = []
        item = lines.get()
        with suppress(queue.Empty):
            while item is not None:
                batch.append(item)
                item = lines.get_nowait()
        if batch:
            try:
                file.write("".join(batch))
                file.flush()
            except (OSError, ValueError):  # a closed or broken stderr: these lines are lost, as they would be
                pass
        if item is None:
            return
        ending.wait(BEHIND_INTERVAL)


@dataclass
class _Output:
    """The stream structlog writes to, once `_apply` configured it."""

    stream: _Stream | None = None


_output = _Output()


@contextmanager
def written_behind() -> Iterator[None]:
    """Within: log lines are queued and a thread of its own writes them, in order, as many as are
    waiting in one write; at the end, every queued line is written before this returns.

    An apply's engine logs each step from the thread that hands out the steps. A write there lets
    go of the GIL for the system call, and with the worker threads busy, getting it back takes
    until one of them lets go: three lines a step paced the apply (about 7% of an apply of 1,000
    creates at 0 ms, in interleaved runs). A line that finds the writer idle is written at once;
    while lines keep coming, they are written every `BEHIND_INTERVAL`, so a line reaches stderr
    that much later at most. A line still queued when the process is killed is lost (the
    journal, not the log, is the record)."""
    _enabled("info")  # structlog configured now (the run logs its steps at info), not at the first line
    stream = _output.stream
    if stream is None:  # structlog configured by someone else (tests capture): nothing to queue
        yield
        return
    with stream.behind():
        yield


def configure(log_format: str = "text", verbose: bool = False) -> None:
    settings = _Settings(log_format, verbose)
    # Libraries log through the standard `logging` module: with -v their warnings go through
    # the same renderer (JSON stays JSON); otherwise they are silent.
    root = logging.getLogger()
    root.setLevel(logging.WARNING if verbose else logging.CRITICAL)
    # A cloud SDK's credential chain attaches its own handler (with tracebacks) at import time.
    logging.getLogger("credentials").disabled = not verbose
    with _lock:
        if verbose or "structlog" in sys.modules:  # -v logs at once; an import already paid costs nothing
            _pending.settings = None
            _apply(settings)
        else:
            _pending.settings = settings
            root.handlers[:] = [logging.NullHandler()]


def _apply(settings: _Settings) -> None:
    import structlog

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if settings.log_format == "json":
        shared.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(settings.level),
        logger_factory=structlog.WriteLoggerFactory(file=_new_stream(sys.stderr)),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    if settings.verbose:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
                foreign_pre_chain=shared,
            )
        )
        handler.addFilter(_NoQueryStrings())
    else:
        handler = logging.NullHandler()
    root.handlers[:] = [handler]


def _new_stream(file: TextIO) -> TextIO:
    _output.stream = _Stream(file)
    return cast("TextIO", _output.stream)  # structlog's logger only calls `write` and `flush`


def _enabled(level: str) -> bool:
    """Whether a line at `level` is logged; structlog is configured before the first one is."""
    settings = _pending.settings
    if settings is None:
        return True  # configured (or never: structlog's own defaults), structlog decides
    if _LEVELS[level] < settings.level and "structlog" not in sys.modules:
        return False  # what the filtering logger would do, without importing it
    with _lock:
        if _pending.settings is not None:
            imported = sys.modules.get("structlog")
            if imported is None or not imported.is_configured():  # else configured since: that wins
                _apply(_pending.settings)
            _pending.settings = None
    return True


class Logger:
    """A structlog logger, bound on its first enabled line."""

    __slots__ = ("_bound", "_name")

    def __init__(self, name: str | None) -> None:
        self._name = name
        self._bound: FilteringBoundLogger | None = None

    def _logger(self) -> FilteringBoundLogger:
        if self._bound is None:
            import structlog

            # A lazy proxy: each line is bound with the configuration of the moment (tests capture).
            proxy = structlog.get_logger(self._name) if self._name else structlog.get_logger()
            self._bound = cast("FilteringBoundLogger", proxy)
        return self._bound

    def debug(self, event: str, **fields: object) -> None:
        if _enabled("debug"):
            self._logger().debug(event, **fields)

    def info(self, event: str, **fields: object) -> None:
        if _enabled("info"):
            self._logger().info(event, **fields)

    def warning(self, event: str, **fields: object) -> None:
        if _enabled("warning"):
            self._logger().warning(event, **fields)

    def error(self, event: str, **fields: object) -> None:
        if _enabled("error"):
            self._logger().error(event, **fields)


def get_logger(name: str | None = None) -> Logger:
    return Logger(name)

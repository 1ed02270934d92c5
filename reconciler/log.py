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
import re
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

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
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
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

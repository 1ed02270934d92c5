"""Logging setup (structlog), to stderr, as text or JSON lines.

Log lines are for operators and CI logs; command results go to stdout. Secrets travel as
`SecretValue`, whose repr is masked, and two library habits are kept out on purpose:
tracebacks never show local variables (a provider frame may hold a request with a key), and
HTTP libraries never log request lines (a cloud SDK may put every parameter, a BGP key included,
in the URL).
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_QUERY = re.compile(r"\?[^\s\"']*")


class _NoQueryStrings(logging.Filter):
    """Defence in depth for library log records: drop URL query strings from the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _QUERY.sub("?(parameters omitted)", record.getMessage())
        record.args = None
        return True


def configure(log_format: str = "text", verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any
    if log_format == "json":
        shared.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries log through the standard `logging` module: with -v their warnings go through
    # the same renderer (JSON stays JSON); otherwise they are silent.
    root = logging.getLogger()
    if verbose:
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
    root.setLevel(logging.WARNING if verbose else logging.CRITICAL)
    # A cloud SDK's credential chain attaches its own handler (with tracebacks) at import time.
    logging.getLogger("credentials").disabled = not verbose


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name) if name else structlog.get_logger()

"""Logging setup (structlog), to stderr, as text or JSON lines.

Log lines are for operators and CI logs; command results go to stdout. Nothing here ever
receives a secret value: secrets travel as `SecretValue`, whose repr is masked.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def configure(log_format: str = "text", verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if log_format == "json":
        processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        processors.append(structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    # Libraries log through the standard `logging` module (the Alibaba credential chain logs
    # whole tracebacks): show them only with -v, never as a traceback in normal output.
    root = logging.getLogger()
    root.handlers[:] = [logging.StreamHandler(sys.stderr) if verbose else logging.NullHandler()]
    root.setLevel(logging.DEBUG if verbose else logging.CRITICAL)
    # Alibaba's credential chain attaches its own handler at import time: switch it off instead.
    logging.getLogger("credentials").disabled = not verbose
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name) if name else structlog.get_logger()

"""A live status line while a command reads the clouds: the API calls made, the objects listed so
far and the elapsed time (`plan`, `drift`, `generate`, `doctor`).

Shown only when stderr is a terminal and logs are not JSON lines; otherwise nothing is drawn and
the output is exactly what it was. rich draws the line on stderr (never stdout, which holds the
command's result), redraws it four times a second from its own thread, and removes it when the
read ends. What it shows comes from thread-safe counters: the providers' call counts, and the
objects of each provider whose listing finished (providers do not report objects page by page,
so nothing is estimated).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, cast

from reconciler.clouds.base import Provider, RefreshResult, RefreshScope
from reconciler.context import AppContext

if TYPE_CHECKING:
    from rich.live import Live
    from rich.text import Text

    from reconciler.workflow import Workspace

# Calls made so far, by provider, then by operation (`Workspace.api_calls`).
CallCounts = Callable[[], Mapping[str, Mapping[str, int]]]


def wanted(app: AppContext) -> bool:
    """A status line only for a person at a terminal: never in JSON logs, pipes or files."""
    return app.log_format != "json" and sys.stderr.isatty()


class ReadStatus:
    """What the line shows, fed from the reading threads and read by rich's refresh thread."""

    def __init__(self, what: str, calls: CallCounts) -> None:
        self.what = what
        self._calls = calls
        self._lock = threading.Lock()
        self._listed: dict[str, int] = {}
        self._checks = 0
        self._started = time.monotonic()
        self._live: Live | None = None

    def listed(self, provider: str, objects: int) -> None:
        """A provider finished listing its scope."""
        with self._lock:
            self._listed[provider] = self._listed.get(provider, 0) + objects

    def checked(self) -> None:
        """One more check done (`doctor`)."""
        with self._lock:
            self._checks += 1

    def watch(self, provider: Provider) -> Provider:
        """`provider`, telling this status how many objects its refresh listed."""
        return cast(Provider, _Listing(provider, self))

    def line(self) -> str:
        """`reading the clouds: 14 API calls, 32 objects listed (one cloud 20, another 12), 3.1s`."""
        with self._lock:
            listed, checks = dict(self._listed), self._checks
        calls = sum(sum(by_operation.values()) for by_operation in self._calls().values())
        parts = [f"{calls} API call{'' if calls == 1 else 's'}"] if calls or not checks else []
        if listed:
            per_provider = ", ".join(f"{name} {n}" for name, n in sorted(listed.items()))
            parts.append(f"{sum(listed.values())} objects listed ({per_provider})")
        if checks:
            parts.append(f"{checks} check{'' if checks == 1 else 's'} done")
        parts.append(f"{time.monotonic() - self._started:.1f}s")
        return f"{self.what}: {', '.join(parts)}"

    def _renderable(self) -> Text:
        from rich.text import Text

        # Text, not markup: provider names are plain words, but nothing here is ever markup.
        return Text(self.line(), style="dim")

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Remove the line while the command writes to stdout (`doctor` prints as it checks), so
        the two never share a terminal line."""
        live = self._live
        if live is None:
            yield
            return
        live.stop()
        try:
            yield
        finally:
            live.start()


class _Listing:
    """A provider whose refresh also reports its object count; every other attribute is the
    provider's own."""

    def __init__(self, provider: Provider, status: ReadStatus) -> None:
        self._provider = provider
        self._status = status

    def refresh(self, scope: RefreshScope) -> RefreshResult:
        result = self._provider.refresh(scope)
        self._status.listed(self._provider.name, len(result.objects))
        return result

    def __getattr__(self, name: str) -> object:
        return getattr(self._provider, name)


@contextmanager
def read_status(app: AppContext, calls: CallCounts, what: str = "reading the clouds") -> Iterator[ReadStatus | None]:
    """The live status line for the duration of the block, on a terminal; None elsewhere."""
    if not wanted(app):
        yield None
        return
    from rich.console import Console
    from rich.live import Live

    status = ReadStatus(what, calls)
    console = Console(stderr=True)
    live = Live(
        console=console,
        get_renderable=status._renderable,
        refresh_per_second=4,
        transient=True,
        redirect_stdout=False,  # stdout holds the result: never routed through the status line
        redirect_stderr=False,
    )
    status._live = live
    live.start()
    try:
        yield status
    finally:
        status._live = None
        live.stop()


@contextmanager
def reading(ws: Workspace, what: str = "reading the clouds") -> Iterator[ReadStatus | None]:
    """`read_status` over the workspace's providers; `observe` reports the objects they list."""
    with read_status(ws.app, ws.api_calls, what) as status:
        ws.status = status
        try:
            yield status
        finally:
            ws.status = None

"""Apply progress: a live display on a terminal, one log line per event otherwise."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from reconciler.apply.engine import StepResult
from reconciler.apply.steps import Step
from reconciler.log import get_logger, written_behind

_VERBS = {
    "create": "creating",
    "update": "updating",
    "adopt": "adopting",
    "delete": "deleting",
    "forget": "forgetting",
    "record": "recording",
    "wait": "waiting for",
}


class LogReporter:
    """One structured log line per event (CI logs, pipes), written behind the engine
    (`log.written_behind`): the thread that hands out the steps never waits on stderr."""

    def __init__(self) -> None:
        self.log = get_logger("reconciler.apply")
        self._behind = ExitStack()

    def started(self, step: Step) -> None:
        self.log.info(_VERBS[step.op.value], address=step.address)

    def waiting(self, step: Step, cloud_id: str | None) -> None:
        self.log.info("waiting for the cloud to settle", address=step.address, op=step.op.value, id=cloud_id)

    def finished(self, result: StepResult) -> None:
        fields: dict[str, Any] = {"address": result.step.address, "op": result.step.op.value}
        if result.elapsed:
            fields["elapsed"] = f"{result.elapsed:.1f}s"
        if result.cloud_id:
            fields["id"] = result.cloud_id
        if result.outcome == "done":
            self.log.info(f"{result.step.op.value} complete", **fields)
        else:
            self.log.warning(f"{result.step.op.value} {result.outcome}", reason=result.message, **fields)

    def __enter__(self) -> LogReporter:
        self._behind.enter_context(written_behind())
        return self

    def __exit__(self, *exc: object) -> None:
        self._behind.close()  # every line of the run is written before anything else is


class LiveReporter:
    """A rich live display: the steps in flight with their elapsed time, and an overall bar."""

    def __init__(self, steps: Sequence[Step]) -> None:
        from rich.console import Console
        from rich.live import Live
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]apply"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )
        self.task = self.progress.add_task("apply", total=len(steps))
        self.active: dict[str, tuple[Step, float, str]] = {}
        self.lock = threading.Lock()
        self.live = Live(console=self.console, refresh_per_second=4, get_renderable=self._render)

    def _render(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 2))
        now = time.monotonic()
        with self.lock:
            rows = sorted(self.active.values(), key=lambda item: item[1])[:15]
            hidden = max(0, len(self.active) - len(rows))
        for step, since, phase in rows:
            table.add_row(Text(step.address, style="cyan"), Text(phase), Text(f"{now - since:5.1f}s"))
        if hidden:
            table.add_row(f"... and {hidden} more", "", "")
        return Group(table, self.progress)

    def started(self, step: Step) -> None:
        with self.lock:
            self.active[step.key] = (step, time.monotonic(), _VERBS[step.op.value])

    def waiting(self, step: Step, cloud_id: str | None) -> None:
        with self.lock:
            _, since, _ = self.active.get(step.key, (step, time.monotonic(), ""))
            self.active[step.key] = (step, since, "waiting for the cloud")

    def finished(self, result: StepResult) -> None:
        from rich.text import Text

        with self.lock:
            self.active.pop(result.step.key, None)
        self.progress.advance(self.task)
        style = {"done": "green", "failed": "red", "skipped": "yellow", "cancelled": "yellow", "sent": "cyan"}[
            result.outcome
        ]
        detail = f" ({result.message})" if result.message else ""
        # Text, not markup: addresses and cloud messages may hold brackets (`[/ne/v1/bgp/...]`).
        line = Text.assemble(
            (f"{result.outcome:>9}", style),
            f" {result.step.address} {result.step.op.value} ",
            (f"{result.elapsed:.1f}s", "dim"),
            detail,
        )
        self.live.console.print(line, highlight=False)

    def __enter__(self) -> LiveReporter:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

"""Log output: lines written at once, or behind the caller (`written_behind`), never lost or
reordered."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pytest
import structlog

from reconciler import log


class RecordingStderr(io.StringIO):
    """A stderr that records which thread made each write."""

    def __init__(self) -> None:
        super().__init__()
        self.writers: list[int] = []

    def write(self, text: str) -> int:
        self.writers.append(threading.get_ident())
        return super().write(text)


class BrokenStderr(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError("broken pipe")


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingStderr]:
    """reconciler's logging configured to write to a recording stderr; structlog's configuration
    restored afterwards."""
    before = structlog.get_config()
    recording = RecordingStderr()
    monkeypatch.setattr("sys.stderr", recording)
    log.configure("text", verbose=False)
    try:
        yield recording
    finally:
        structlog.configure(**before)


def logged_numbers(text: str) -> list[int]:
    return [int(line.rsplit("n=", 1)[1]) for line in text.splitlines() if "n=" in line]


def test_lines_written_behind_are_all_written_in_order_by_the_end_and_not_by_the_caller(
    stderr: RecordingStderr,
) -> None:
    logger = log.get_logger("reconciler.apply")
    with log.written_behind():
        for n in range(1000):
            logger.info("step", n=n)
    assert logged_numbers(stderr.getvalue()) == list(range(1000))
    caller = threading.get_ident()
    assert caller not in stderr.writers  # the caller only queued its lines
    assert len(stderr.writers) < 100  # many lines a write, not one write a line


def test_lines_outside_written_behind_are_written_at_once_by_the_caller(stderr: RecordingStderr) -> None:
    logger = log.get_logger("reconciler.apply")
    with log.written_behind():
        logger.info("step", n=0)
    logger.info("step", n=1)
    assert logged_numbers(stderr.getvalue()) == [0, 1]  # the second without waiting for anything
    assert stderr.writers[-1] == threading.get_ident()


def test_lines_from_many_threads_are_all_written(stderr: RecordingStderr) -> None:
    logger = log.get_logger("reconciler.apply")

    def emit(start: int) -> None:
        for n in range(start, start + 200):
            logger.info("step", n=n)

    with log.written_behind():
        threads = [threading.Thread(target=emit, args=(i * 200,)) for i in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(logged_numbers(stderr.getvalue())) == list(range(1000))


def test_a_broken_stderr_does_not_hold_up_the_end_of_written_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    before = structlog.get_config()
    monkeypatch.setattr("sys.stderr", BrokenStderr())
    log.configure("text", verbose=False)
    finished = threading.Event()
    try:

        def run() -> None:
            with log.written_behind():
                log.get_logger("reconciler.apply").info("step", n=0)
            finished.set()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        assert finished.wait(log.BEHIND_FLUSH_TIMEOUT / 2)  # the writer gave up on the line, not on the wait
    finally:
        structlog.configure(**before)

"""`reconciler apply`'s own logic: what the first and the second interrupt do, and lazy loading."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from reconciler.commands.apply import _interrupt_handler, _interrupts


class Exited(Exception):
    """Stands for `os._exit`, which cannot run inside the test process."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    codes: list[int] = []

    def fake_exit(code: int) -> None:
        codes.append(code)
        raise Exited(code)

    monkeypatch.setattr(os, "_exit", fake_exit)
    return codes


@pytest.fixture
def signal_handlers() -> Iterator[None]:
    """Whatever a test installs, the process's handlers are back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def test_the_first_interrupt_stops_new_work_and_says_so(exits: list[int], capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    _interrupt_handler(stop)(signal.SIGINT, None)
    assert stop.is_set()
    assert exits == []
    assert "Interrupted: finishing the calls in flight and saving state (Ctrl-C again" in capsys.readouterr().err


def test_the_second_interrupt_exits_at_once_with_status_1(exits: list[int]) -> None:
    stop = threading.Event()
    handler = _interrupt_handler(stop)
    handler(signal.SIGINT, None)
    with pytest.raises(Exited):
        handler(signal.SIGTERM, None)
    assert exits == [1]


@pytest.mark.usefixtures("signal_handlers")
def test_handlers_are_restored_after_an_apply_that_was_not_interrupted() -> None:
    before = signal.getsignal(signal.SIGINT)
    with _interrupts(threading.Event()):
        assert signal.getsignal(signal.SIGINT) is not before
        assert signal.getsignal(signal.SIGTERM) is signal.getsignal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.usefixtures("signal_handlers")
def test_after_an_interrupt_the_handler_stays_so_that_a_second_one_still_exits(exits: list[int]) -> None:
    stop = threading.Event()
    with _interrupts(stop):
        installed = signal.getsignal(signal.SIGINT)
        assert callable(installed)
        installed(signal.SIGINT, None)
    assert signal.getsignal(signal.SIGINT) is installed  # saving state may take a while
    with pytest.raises(Exited):
        installed(signal.SIGINT, None)
    assert exits == [1]


def test_loading_the_cli_and_the_apply_command_loads_no_engine_no_provider_and_no_sdk() -> None:
    probe = (
        "import sys, reconciler.cli, reconciler.commands.apply\n"
        "heavy = ('reconciler.apply', 'reconciler.clouds.equinix.provider', 'reconciler.clouds.alibaba.provider',\n"
        "         'httpx', 'alibabacloud_', 'Tea', 'darabonba')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"

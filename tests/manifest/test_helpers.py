"""Helper processes of a cold read (`manifest/helpers.py`): they start only when there is enough
to parse and a core to spare, they parse the files they are given and store the clean ones, and
the read is exactly what reading alone gives, whatever the files hold. Ctrl-C never reaches them,
and an interrupted read stops them."""

from __future__ import annotations

import errno
import os
import runpy
import signal
import threading
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pytest

from reconciler.manifest import helpers, load_manifests, parse
from reconciler.manifest.cache import DISABLE_VARIABLE, ManifestCache
from reconciler.manifest.helpers import Helpers, start_helpers
from reconciler.manifest.load import find_files
from tests.manifest.builders import dump, equinix, group, peer

SECRET = "LiteralKeyNeverCached1"  # a made-up key, refused wherever it is written
FIFO = "pipe.yaml"
UNCLEAN = ("m005.yaml", "m009.yaml", "m013.yaml", "m021.yaml", "m022.yaml")  # never stored (`write_repository`)


def peerings(file: int, count: int) -> list[dict[str, Any]]:
    """`count` valid peerings, each on a connection of its own, named after `file`."""
    return [equinix(f"f{file}-p{i}", connectionUuid=f"00000000-0000-4000-8000-{file:06d}{i:06d}") for i in range(count)]


def write_repository(root: Path, files: int = 24, per_file: int = 3) -> Path:
    """A repository of clean files, with files of every kind of problem among them."""
    folder = root / "bgp"
    folder.mkdir()
    for number in range(files):
        (folder / f"m{number:03d}.yaml").write_text(dump(peerings(number, per_file)))
    problems = {
        "m005.yaml": dump([equinix("literal", authenticationKey=SECRET)]),  # refused by the schema
        "m009.yaml": "a: [1,\n",  # not YAML
        "m013.yaml": dump([group("g1"), peer("p1", "g1", bfdMultiHop=0)]),  # a rule on one document
        "m017.yaml": dump(peerings(4, 1)),  # a name m004 holds: a rule across documents
        "m021.yaml": dump([group("g2", description="dd")]).replace(
            "  name: g2\n", "  name: g2\n  driftIgnore: [&entry {field: description, reason: r}, *entry]\n"
        ),  # values built through a YAML alias
        "m022.yaml": "hello: world\n",  # not a reconciler document
    }
    for name, text in problems.items():
        (folder / name).write_text(text)
    os.mkfifo(folder / FIFO)  # refused, never read (a read would wait forever)
    return folder


def outcome(folder: Path) -> tuple[Any, ...]:
    manifests = load_manifests([folder])
    documents = [
        (c.doc.file, c.doc.index, c.doc.data, c.doc.line, c.doc.col, c.kind, c.failed) for c in manifests.checked
    ]
    positions = [dict(c.doc.positions) for c in manifests.checked]
    return [str(d) for d in manifests.diagnostics], documents, positions, manifests.digest, manifests.documents


def read_alone(folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """What reading gives with the cache off, so with no helper."""
    with monkeypatch.context() as patch:
        patch.setenv(DISABLE_VARIABLE, "off")
        return outcome(folder)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Helpers]]:
    """Every group of helpers a read starts, once the threshold lets any file start them."""
    monkeypatch.setattr(helpers, "MIN_SHARE_BYTES", 1)
    monkeypatch.setattr(helpers, "_cores", lambda: 3)
    found: list[Helpers] = []

    def spy(*args: Any) -> Helpers | None:
        helping = start_helpers(*args)
        if helping is not None:
            found.append(helping)
        return helping

    monkeypatch.setattr("reconciler.manifest.start_helpers", spy)
    yield found
    for helping in found:
        helping.stop()


def test_a_cold_read_with_helpers_gives_exactly_what_reading_alone_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[Helpers]
) -> None:
    folder = write_repository(tmp_path)
    alone = read_alone(folder, monkeypatch)
    assert not started  # no cache, no helpers
    for expected in ("literal", "already defined", FIFO):
        assert any(expected in line for line in alone[0]), expected

    parsed: list[str] = []  # the files this process parsed itself (a helper's count stays in the helper)
    parse_text = parse.parse_text

    def counted(text: str, display: str, *rest: Any) -> Any:
        parsed.append(display)
        return parse_text(text, display, *rest)

    monkeypatch.setattr(parse, "parse_text", counted)
    cold = outcome(folder)
    [helping] = started
    assert len(helping.processes) == 2 and all(p.exitcode == 0 for p in helping.processes)
    assert cold == alone
    files = [display for _, display in find_files([folder])]
    theirs = set(files[helping.first :])
    # This process parsed its own share, and of the helpers' files only those they could not store.
    unclean = {f for f in files if f.endswith(UNCLEAN)}
    assert set(parsed) == {f for f in files[: helping.first] if not f.endswith(FIFO)} | (theirs & unclean)
    assert theirs - unclean  # the helpers stored some files
    # The literal key of m005 is refused by the schema: no message quotes it, no entry holds it.
    assert not any(SECRET in line for line in cold[0])
    entries = list((Path(os.environ["XDG_CACHE_HOME"]) / "reconciler" / "manifests").iterdir())
    assert entries and not any(SECRET.encode() in entry.read_bytes() for entry in entries)

    parsed.clear()
    assert outcome(folder) == alone  # warm: the helpers' entries read back like any other
    assert set(parsed) == unclean  # only the files never stored are parsed again


def test_helpers_that_cannot_start_leave_their_files_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[Helpers]
) -> None:
    folder = write_repository(tmp_path)
    alone = read_alone(folder, monkeypatch)

    def refused(process: BaseProcess) -> None:
        raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")  # fork's answer at a limit

    monkeypatch.setattr(BaseProcess, "start", refused)
    assert outcome(folder) == alone
    assert started == []  # none started: read alone


def test_helpers_start_only_with_a_core_to_spare_and_enough_to_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_repository(tmp_path, files=40, per_file=40)
    files = [found for found in find_files([folder]) if not found[1].endswith(FIFO)]  # all parsed
    cache = ManifestCache(tmp_path / "cache")
    size = sum(path.stat().st_size for path, _ in files)
    monkeypatch.setattr(helpers, "_cores", lambda: 1)
    assert start_helpers(files, cache) is None
    monkeypatch.setattr(helpers, "_cores", lambda: 4)
    monkeypatch.setattr(helpers, "MIN_SHARE_BYTES", size // 2 + 1)  # not two shares' worth
    assert start_helpers(files, cache) is None
    monkeypatch.setattr(helpers, "MIN_SHARE_BYTES", size // 3)  # three shares: two helpers
    helping = start_helpers(files, cache)
    assert helping is not None and len(helping.processes) == 2
    helping.wait()
    assert start_helpers(files, cache) is None  # everything is stored now


def test_shares_are_runs_in_order_of_about_equal_size() -> None:
    assert helpers._split([10, 10, 10, 10, 10, 10], 3) == [[0, 1], [2, 3], [4, 5]]
    assert helpers._split([50, 1, 1, 1, 1, 1], 2) == [[0], [1, 2, 3, 4, 5]]
    assert helpers._split([100, 1], 4) == [[0], [1]]  # fewer shares than asked: never an empty one


def test_helpers_started_afresh_store_the_same_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process with other threads (the in-process sandbox's servers) is not forked."""
    folder = write_repository(tmp_path, files=6)
    files = find_files([folder])
    monkeypatch.setattr(helpers, "MIN_SHARE_BYTES", 1)
    monkeypatch.setattr(helpers, "_cores", lambda: 2)
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        helping = start_helpers(files, ManifestCache(tmp_path / "cache"))
        assert helping is not None
        assert [type(p).__name__ for p in helping.processes] == ["SpawnProcess"]
        helping.wait()
    finally:
        release.set()
        other.join()
    assert helping.processes[0].exitcode == 0
    cache = ManifestCache(tmp_path / "cache")
    theirs = [(path, display) for path, display in files[helping.first :] if not display.endswith(FIFO)]
    stored = [display for path, display in theirs if cache.has(display, path.read_bytes())]
    assert stored == [display for _, display in theirs if not display.endswith(UNCLEAN)]


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads a process's signal mask in /proc")
def test_helpers_never_see_ctrl_c(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C reaches every process of the terminal's group: a helper keeps it blocked (its
    KeyboardInterrupt would print a traceback), and the process it helps stops it instead."""
    folder = write_repository(tmp_path, files=6)
    monkeypatch.setattr(helpers, "MIN_SHARE_BYTES", 1)
    monkeypatch.setattr(helpers, "_cores", lambda: 2)
    helping = start_helpers(find_files([folder]), ManifestCache(tmp_path / "cache"))
    assert helping is not None
    [process] = helping.processes
    # Read before the helper is waited for: even one that is done keeps its entry until then.
    status = Path(f"/proc/{process.pid}/status").read_text()
    blocked = int(status.split("SigBlk:")[1].split()[0], 16)
    assert blocked & (1 << (signal.SIGINT - 1))
    helping.wait()
    assert process.exitcode == 0
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])  # this process still gets it


def test_a_signal_blocked_before_stays_blocked() -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        with helpers._sigint_blocked():
            pass
        assert signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def test_an_interrupted_read_stops_its_helpers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[Helpers]
) -> None:
    folder = write_repository(tmp_path, files=30, per_file=150)
    monkeypatch.setattr(helpers, "_cores", lambda: 2)

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr("reconciler.manifest.load_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_manifests([folder])
    [helping] = started
    [process] = helping.processes
    assert not process.is_alive() and process.exitcode == -signal.SIGTERM  # stopped, not finished


def test_a_helper_started_afresh_imports_the_package_without_running_the_program(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A spawned helper imports the main module of `python -m reconciler` under another name."""
    runpy.run_module("reconciler", run_name="__mp_main__")
    assert capsys.readouterr() == ("", "")

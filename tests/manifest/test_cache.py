"""The manifest cache (`manifest/cache.py`) only saves the parse: plans, positions and messages
are the same with it, without it, cold or warm; a changed file is parsed again; only clean files
are stored (never a literal key, never a document with a problem of its own), and their documents
are checked neither against the same schema nor by the same rules on one document again; and the
folder is safe to damage or delete."""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.clouds.equinix import rules as equinix_rules
from reconciler.manifest import cache, load_manifests, schema
from reconciler.manifest.cache import DISABLE_VARIABLE, UNUSED_DAYS, ManifestCache, _Sharing
from reconciler.manifest.load import load_file
from tests.e2e.conftest import EXAMPLE_KEYS, EXAMPLES, Result, cli
from tests.manifest.builders import dump, equinix, group, peer

SECRET = "LiteralKeyNeverCached1"
CONNECTION_TWO = "0c4f1b7e-2d9a-4e61-9b3c-5a8d7e6f1a20"  # another connection: one peering each


def cache_folder() -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "reconciler" / "manifests"


def entries() -> list[Path]:
    folder = cache_folder()
    return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES / "alibaba", tmp_path / "bgp" / "alibaba")
    shutil.copytree(EXAMPLES / "equinix", tmp_path / "bgp" / "equinix")
    monkeypatch.chdir(tmp_path)
    for name, value in EXAMPLE_KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    return tmp_path / "bgp"


def plan(monkeypatch: pytest.MonkeyPatch, cached: bool) -> tuple[str, dict[str, Any]]:
    """The text plan and the JSON plan, less what differs between any two plans (the time, and
    the random salts of the key digests)."""
    with monkeypatch.context() as patch:
        if not cached:
            patch.setenv(DISABLE_VARIABLE, "off")
        text = ok(cli("--sandbox", "plan", "bgp"))
        document = json.loads(ok(cli("--sandbox", "plan", "--format", "json", "bgp")))
    document.pop("created_at")
    document.pop("secret_digests")
    return text, document


def ok(result: Result) -> str:
    assert result.code == 0, result.both
    return result.out


def test_plans_are_byte_identical_with_and_without_the_cache(examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    without = plan(monkeypatch, cached=False)
    assert entries() == []  # turned off: nothing stored
    cold = plan(monkeypatch, cached=True)
    stored = entries()
    assert len(stored) == len(list(examples.rglob("*.yaml")))
    warm = plan(monkeypatch, cached=True)
    assert entries() == stored  # read, not written again
    assert cold == without and warm == without
    assert "will be created" in without[0]

    # A changed file is parsed again: the plan shows the change, exactly as without the cache.
    changed = next(path for path in sorted(examples.rglob("*.yaml")) if "description: " in path.read_text())
    changed.write_text(changed.read_text().replace("description: ", "description: Changed ", 1))
    after = plan(monkeypatch, cached=True)
    assert len(entries()) == len(stored) + 1
    assert after != without and "Changed " in after[0]
    assert after == plan(monkeypatch, cached=False)


def test_positions_and_messages_from_cached_files_are_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cross-document problems are reported at positions read from the cache."""
    (tmp_path / "a.yaml").write_text("# first\n" + dump([group("g1"), peer("p1", "g1")]))
    (tmp_path / "b.yaml").write_text("\n\n" + dump([group("g1", virtualBorderRouterId="vbr-t4nexample0000000002")]))

    def report() -> list[str]:
        return [str(d) for d in load_manifests([tmp_path]).diagnostics]

    with monkeypatch.context() as patch:
        patch.setenv(DISABLE_VARIABLE, "off")
        expected = report()
    assert any("already defined at" in line for line in expected)
    assert report() == expected  # cold: files stored
    assert len(entries()) == 2
    assert report() == expected  # warm: positions from the cache


def test_a_stored_file_reads_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("# a comment\n" + dump([group("g1", routeQuota=10, isFakeAsn=False), peer("p1", "g1")]))
    cache = ManifestCache(tmp_path / "cache")
    fresh = load_file(path, "m.yaml", cache=cache)
    assert not fresh.cached
    cache.put(fresh.file, fresh.content, fresh.documents)
    again = load_file(path, "m.yaml", cache=cache)
    assert again.cached and again.diagnostics == () and again.content == fresh.content
    for a, b in zip(fresh.documents, again.documents, strict=True):
        assert (a.file, a.index, a.data, a.positions, a.unreadable, a.plain_numbers) == (
            b.file,
            b.index,
            b.data,
            b.positions,
            b.unreadable,
            b.plain_numbers,
        )
    assert load_file(path, "other/m.yaml", cache=cache).cached is False  # the name shown is part of the key


def test_a_stored_file_reads_back_with_its_repeated_values_shared(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(dump([equinix("a"), equinix("b")]))
    cache = ManifestCache(tmp_path / "cache")
    fresh = load_file(path, "m.yaml", cache=cache)
    cache.put(fresh.file, fresh.content, fresh.documents)
    first, second = load_file(path, "m.yaml", cache=cache).documents
    assert first.data == fresh.documents[0].data and second.data == fresh.documents[1].data
    first_keys = {key: key for key in first.data["spec"]}
    shared_keys = [key for key in second.data["spec"] if first_keys[key] is key]
    assert shared_keys == list(second.data["spec"])  # one object per key, however many documents
    assert first.data["spec"]["connectionUuid"] is second.data["spec"]["connectionUuid"]
    assert first.data["spec"]["localAsn"] == 65010
    assert first.data["spec"]["localAsn"] is second.data["spec"]["localAsn"]  # not one of Python's cached small ints
    assert first.data["apiVersion"] is second.data["apiVersion"]
    assert dict(first.positions) == dict(fresh.documents[0].positions)
    assert dict(second.positions) == dict(fresh.documents[1].positions)


def test_positions_are_stored_with_each_path_and_number_once() -> None:
    # Equal paths and numbers become one object each (then `marshal` writes each once), whatever
    # objects the documents held.
    def text(value: str) -> str:
        return "".join(list(value))  # equal to `value`, another object

    big = 70_000  # not one of Python's cached small integers
    tables = [{text("spec.localAsn"): (big + 1, 5), text("kind"): (2, big + 7)} for _ in range(2)]
    assert next(iter(tables[0])) is not next(iter(tables[1]))
    share = _Sharing()
    first, second = (share.positions(table) for table in tables)
    assert first == second == tables[0]
    assert [a is b for a, b in zip(first, second, strict=True)] == [True, True]
    assert first["spec.localAsn"][0] is second["spec.localAsn"][0]
    assert first["kind"][1] is second["kind"][1]


def test_only_clean_files_are_stored(tmp_path: Path) -> None:
    literal = dump([equinix(authenticationKey=SECRET)])
    # Valid, but its values built through an alias count against the run's alias budget.
    aliases = dump([group("g1", description="dd")]).replace(
        "  name: g1\n", "  name: g1\n  driftIgnore: [&entry {field: description, reason: r}, *entry]\n"
    )
    files = {
        "clean.yaml": dump([equinix()]),
        "literal-key.yaml": literal,  # the schema refuses it: never copied to the cache
        "duplicate-key.yaml": literal.replace("kind:", "kind: EquinixBgpPeering\nkind:", 1),
        "aliases.yaml": aliases,
        "not-reconciler.yaml": "hello: world\n",
        "syntax.yaml": "a: [1,\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    load_manifests([tmp_path])
    [entry] = entries()
    assert SECRET.encode() not in entry.read_bytes()
    assert (entry.stat().st_mode & 0o777) == 0o600
    assert load_file(
        tmp_path / "clean.yaml", (tmp_path / "clean.yaml").as_posix(), cache=ManifestCache.for_user()
    ).cached


def test_a_damaged_or_deleted_cache_changes_nothing(tmp_path: Path) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "a.yaml").write_text(dump([group("g1"), peer("p1", "g1", bfdMultiHop=0)]))
    (manifests / "b.yaml").write_text(dump([equinix()]))
    expected = [str(d) for d in load_manifests([manifests]).diagnostics]
    assert expected and len(entries()) == 1  # a.yaml has a problem: only b.yaml is stored
    damages: list[Callable[[bytes], bytes]] = [
        lambda _: b"",
        lambda _: b"\x00" * 40,
        lambda stored: stored[:-3],  # cut short
        lambda stored: stored.replace(b"reconciler/v1", b"reconciler/v2"),  # still reads, says otherwise
    ]
    for damage in damages:
        [entry] = entries()  # stored again after each miss
        damaged = damage(entry.read_bytes())
        assert damaged != entry.read_bytes()
        entry.write_bytes(damaged)
        assert [str(d) for d in load_manifests([manifests]).diagnostics] == expected
    shutil.rmtree(cache_folder())
    assert [str(d) for d in load_manifests([manifests]).diagnostics] == expected


def test_an_unwritable_cache_folder_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    (tmp_path / "a.yaml").write_text(dump([equinix()]))
    assert load_manifests([tmp_path / "a.yaml"]).ok


def test_entries_not_read_for_a_month_are_removed_when_new_ones_are_stored(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(dump([equinix("a")]))
    load_manifests([tmp_path])
    [first] = entries()
    (tmp_path / "b.yaml").write_text(dump([equinix("b", connectionUuid="80afc8be-0ce3-4950-be27-3d3e678e6874")]))
    load_manifests([tmp_path])
    [second] = set(entries()) - {first}
    month_ago = time.time() - (UNUSED_DAYS + 1) * 24 * 3600
    for entry in (first, second):
        os.utime(entry, (month_ago, month_ago))
    load_manifests([tmp_path])  # both read: renewed, and nothing new is stored
    assert entries() == sorted([first, second]) and all(e.stat().st_mtime > month_ago + 3600 for e in entries())

    for entry in (first, second):
        os.utime(entry, (month_ago, month_ago))
    (tmp_path / "b.yaml").unlink()
    (tmp_path / "c.yaml").write_text(dump([equinix("c", connectionUuid="80afc8be-0ce3-4950-be27-3d3e678e6875")]))
    load_manifests([tmp_path])  # a.yaml read (renewed), c.yaml stored, b.yaml's entry unread for a month
    remaining = entries()
    assert len(remaining) == 2 and first in remaining and second not in remaining


def test_cached_positions_are_unpacked_only_when_a_message_needs_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import marshal

    from reconciler.manifest import cache as cache_module

    path = tmp_path / "m.yaml"
    path.write_text("\n" + dump([group("g1"), peer("p1", "g1")]))
    store = ManifestCache(tmp_path / "cache")
    fresh = load_file(path, "m.yaml", cache=store)
    store.put(fresh.file, fresh.content, fresh.documents)
    unpacked: list[object] = []
    real_loads = marshal.loads

    def counted(data: bytes) -> Any:
        unpacked.append(data)
        return real_loads(data)

    monkeypatch.setattr(cache_module.marshal, "loads", counted)
    again = load_file(path, "m.yaml", cache=store)
    assert again.cached and len(unpacked) == 1  # the entry; not yet its positions
    assert [(d.line, d.col) for d in again.documents] == [(d.line, d.col) for d in fresh.documents]
    assert len(unpacked) == 1  # a document's own position is at hand
    assert again.documents[1].position("spec.bgpGroup") == fresh.documents[1].position("spec.bgpGroup")
    assert len(unpacked) == 2  # now the positions, once for the file
    assert again.documents[0].position("spec.peerAsn") == fresh.documents[0].position("spec.peerAsn")
    assert len(unpacked) == 2


@pytest.mark.parametrize("packed", [b"\x00 not marshal", "not a list", ["one", "two"], [{"": (3, 1)}, {}]])
def test_positions_of_an_unexpected_shape_fall_back_to_the_documents_own(packed: object) -> None:
    import marshal

    from reconciler.manifest.cache import _documents

    blob = packed if isinstance(packed, bytes) else marshal.dumps(packed)
    documents = _documents("m.yaml", (2, [(0, {"spec": {}}, 3, 1, True)], blob))
    assert documents is not None
    assert documents[0].position("spec.peerAsn") == (3, 1)


def test_stored_documents_are_not_checked_against_the_schema_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.yaml").write_text(dump([group("g1"), peer("p1", "g1")]))
    (tmp_path / "b.yaml").write_text(dump([group("g2")]))
    checked: list[str] = []
    real = schema.schema_problems

    def counting(kind: str, data: Any, plain_numbers: bool = False) -> list[schema.Problem]:
        checked.append(kind)
        return real(kind, data, plain_numbers)

    monkeypatch.setattr(schema, "schema_problems", counting)
    cold = load_manifests([tmp_path])
    assert len(checked) == 3 and len(entries()) == 2
    checked.clear()
    warm = load_manifests([tmp_path])
    assert checked == []  # both files came from the cache: their documents were valid when stored
    assert [c.doc.data for c in warm.checked] == [c.doc.data for c in cold.checked]
    assert warm.diagnostics == cold.diagnostics == ()


def test_stored_documents_are_not_checked_by_the_rules_on_one_document_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.yaml").write_text(dump([equinix("e1"), equinix("e2", connectionUuid=CONNECTION_TWO)]))
    checked: list[str] = []
    real = equinix_rules.addresses

    def counting(doc: Any) -> Iterator[Any]:
        checked.append(doc.name)
        return real(doc)

    monkeypatch.setattr(equinix_rules, "addresses", counting)
    cold = load_manifests([tmp_path])
    assert checked == ["e1", "e2"] and len(entries()) == 1
    checked.clear()
    warm = load_manifests([tmp_path])
    assert checked == []  # stored: its documents passed these rules under the same code
    assert warm.diagnostics == cold.diagnostics == ()


def test_a_file_with_a_problem_of_its_own_is_not_stored_and_says_so_on_every_run(tmp_path: Path) -> None:
    (tmp_path / "clean.yaml").write_text(dump([equinix("e1")]))
    # Valid against the schema, but the device's address is its subnet's network address.
    (tmp_path / "network.yaml").write_text(
        dump([equinix("e2", connectionUuid=CONNECTION_TWO, localIpAddress="10.0.0.0/30")])
    )
    first = load_manifests([tmp_path])
    assert [(d.file.rsplit("/", 1)[-1], d.path) for d in first.diagnostics] == [("network.yaml", "spec.localIpAddress")]
    [stored] = entries()
    assert load_file(
        tmp_path / "clean.yaml", (tmp_path / "clean.yaml").as_posix(), cache=ManifestCache.for_user()
    ).cached
    assert load_manifests([tmp_path]).diagnostics == first.diagnostics
    assert entries() == [stored]


def forget_schema() -> None:
    """Drop what the schema module and the cache worked out from the schema."""
    for function in (
        schema._assembled,
        schema._kind_schemas,
        schema._compiled,
        schema._fast_checks,
        schema.fingerprint,
        cache._reader_fingerprint,
    ):
        function.cache_clear()


@pytest.fixture
def schema_changes() -> Iterator[None]:
    """A test that changes the schema starts and ends with none of it worked out."""
    forget_schema()
    yield
    forget_schema()


@pytest.mark.usefixtures("schema_changes")
def test_a_stricter_schema_checks_stored_documents_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.yaml").write_text(dump([group("g1", description="a long description")]))
    assert load_manifests([tmp_path]).diagnostics == ()
    [stored] = entries()

    real = schema._assembled

    def stricter(clouds: tuple[str, ...]) -> dict[str, Any]:
        assembled = copy.deepcopy(real(clouds))
        assembled["$defs"]["AlibabaBgpGroupSpec"]["properties"]["description"]["maxLength"] = 4
        return assembled

    monkeypatch.setattr(schema, "_assembled", functools.cache(stricter))
    forget_schema()
    diagnostics = load_manifests([tmp_path]).diagnostics
    assert [d.path for d in diagnostics] == ["spec.description"]  # not taken from the cache
    assert entries() == [stored]  # the file is invalid now: nothing new stored


def stored_again_under_a_new_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listing: str, changed: Callable[[str], bytes]
) -> None:
    """A stored file is read again, and stored under a new name, once the installed files that
    `listing` (a function of `installed`, as the cache calls it) reports have changed by `changed`."""
    (tmp_path / "a.yaml").write_text(dump([group("g1")]))
    load_manifests([tmp_path])
    [stored] = entries()
    real: Callable[[str], bytes] = getattr(cache, listing)

    def rewritten(name: str) -> bytes:
        return real(name) + changed(name)

    monkeypatch.setattr(cache, listing, rewritten)
    forget_schema()
    assert not load_file(tmp_path / "a.yaml", (tmp_path / "a.yaml").as_posix(), cache=ManifestCache.for_user()).cached
    load_manifests([tmp_path])
    assert len(entries()) == 2 and stored in entries()  # parsed again, and stored under a new name


@pytest.mark.usefixtures("schema_changes")
def test_a_change_of_reconciler_code_gives_other_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stored_again_under_a_new_name(tmp_path, monkeypatch, "package_tree", lambda folder: b"\0rules.py\0edited")


@pytest.mark.usefixtures("schema_changes")
def test_another_yaml_library_gives_other_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stored_again_under_a_new_name(
        tmp_path, monkeypatch, "package_files", lambda name: b"\0upgraded" if name == "yaml" else b""
    )

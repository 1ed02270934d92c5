"""The invalid-manifest corpus: every file in `corpus/` declares, in its header, each problem
the validator must report: `# expect: <line> <json.path or -> | <message fragment>`.

Each file must produce exactly the declared diagnostics (no more, no fewer), at the declared
line and JSON path, with the fragment in the message.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.manifest import Diagnostic, load_manifests

CORPUS = Path(__file__).parent / "corpus"
EXPECT = re.compile(r"^# expect: (\d+) (\S+) \| (.+)$")


def expectations(path: Path) -> list[tuple[int, str, str]]:
    header = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    found = []
    for line in header:
        match = EXPECT.match(line)
        if match:
            line_no, json_path, fragment = match.groups()
            found.append((int(line_no), "" if json_path == "-" else json_path, fragment))
    return found


CASES = sorted(CORPUS.glob("*.yaml"))


def test_the_corpus_is_large_and_every_file_declares_what_it_expects() -> None:
    assert len(CASES) >= 40
    assert all(expectations(path) for path in CASES), [p.name for p in CASES if not expectations(p)]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_corpus_file_reports_exactly_its_declared_problems(path: Path) -> None:
    manifests = load_manifests([path])
    assert not manifests.ok
    assert manifests.resources == ()
    expected = expectations(path)
    got = [(d.line, d.path, d.message) for d in manifests.diagnostics]
    for line, json_path, fragment in expected:
        matches = [g for g in got if g[0] == line and g[1] == json_path and fragment in g[2]]
        assert matches, f"expected line {line} {json_path!r} ~ {fragment!r}; got:\n" + "\n".join(map(str, got))
    unexpected = [g for g in got if not any(g[0] == e[0] and g[1] == e[1] and e[2] in g[2] for e in expected)]
    assert not unexpected, "unexpected diagnostics:\n" + "\n".join(map(str, unexpected))
    for diag in manifests.diagnostics:
        assert diag.file == path.as_posix()
        assert diag.code, diag


@pytest.mark.parametrize(
    "name",
    ["literal-secret-group", "literal-secret-equinix", "secret-ref-unknown-field"],
)
def test_literal_secrets_are_never_echoed(name: str) -> None:
    path = CORPUS / f"{name}.yaml"
    literal = {"literal-secret-group": "hunter2LiteralKey", "literal-secret-equinix": "S3cretLiteral99"}.get(
        name, "hunter2InAMapping"
    )
    assert literal in path.read_text(encoding="utf-8")
    manifests = load_manifests([path])
    assert manifests.diagnostics
    text = "\n".join(str(d) for d in manifests.diagnostics) + manifests.report("json")
    assert literal not in text


def test_a_literal_secret_says_how_to_write_a_reference() -> None:
    [diag] = load_manifests([CORPUS / "literal-secret-group.yaml"]).diagnostics
    assert diag == Diagnostic(
        file=(CORPUS / "literal-secret-group.yaml").as_posix(),
        line=11,
        col=12,
        path="spec.authKey",
        message=(
            "a literal key is not allowed: secrets are references only, so the repository never holds "
            "a key; write authKey: {fromEnv: NAME} (an environment variable) or authKey: {fromFile: path} "
            "(a file, relative to this manifest)"
        ),
        code="secret-literal",
    )


def test_the_design_example_prints_in_the_documented_shape() -> None:
    path = CORPUS / "bfd-hop-zero.yaml"
    [diag] = load_manifests([path]).diagnostics
    assert str(diag) == f"{path.as_posix()}:20:16: spec.bfdMultiHop: 0 is below the minimum 1 (BFD hop count 1..255)"

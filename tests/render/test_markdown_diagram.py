"""The plan comment's Mermaid diagram: the sessions a plan changes, with their context, capped in
nodes, and the first thing to shrink or go when the comment's size limit is tight."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.graph.build import MAX_NODES
from reconciler.model import ResourceMetadata
from reconciler.plan.model import Action, Change, Plan
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT, comment_size, render_markdown
from tests.graph.parser import assert_parses
from tests.graph.samples import HOSTILE
from tests.render.samples import noop_peer, sample_plan

DETAILS = "<details><summary>"


def diagrams(md: str) -> list[str]:
    return [t.content for t in MarkdownIt("commonmark").parse(md) if t.type == "fence" and t.info == "mermaid"]


def linked_sessions(n: int, action: Action = Action.CREATE) -> Plan:
    """`n` linked sessions: an Equinix config, an Alibaba group on its own VBR and its peer each."""
    changes = []
    for i in range(n):
        link = ResourceMetadata(labels={"link": f"link-{i:04d}"})
        group = f"{ALIBABA_GROUP}/g-{i:04d}"
        changes += [
            Change(
                f"{EQUINIX_PEERING}/ne-{i:04d}",
                EQUINIX_PEERING,
                action,
                "equinix",
                after={"connectionUuid": f"00000000-0000-4000-8000-{i:012d}", "localAsn": 65010, "remoteAsn": 45104},
                metadata=link,
            ),
            Change(
                group,
                ALIBABA_GROUP,
                action,
                "alibaba",
                after={"regionId": "ap-southeast-1", "virtualBorderRouterId": f"vbr-{i:020d}", "peerAsn": 65010},
            ),
            Change(
                f"{ALIBABA_PEER}/p-{i:04d}",
                ALIBABA_PEER,
                action,
                "alibaba",
                after={"peerIpAddress": "10.0.0.1"},
                refs={"bgpGroup": group},
                metadata=link,
            ),
        ]
    return Plan(changes=tuple(changes), lineage="lin", serial=3, tool_version="0.1.0")


def test_the_diagram_comes_after_the_warnings_and_before_the_details() -> None:
    md = render_markdown(sample_plan())
    (diagram,) = diagrams(md)
    assert md.index("> [!WARNING]") < md.index("**Affected sessions**") < md.index("```mermaid") < md.index(DETAILS)
    assert "AlibabaBgpPeer/sg-vbr2-peer1" in diagram and "<br>create" in diagram
    assert "sg-vbr1-peer1" not in diagram  # the no-op is neither a change nor context of one


def test_no_diagram_without_changes() -> None:
    assert "mermaid" not in render_markdown(sample_plan(changes=(noop_peer(),), warnings=()))


def test_linked_other_end_and_parents_are_drawn_for_context() -> None:
    plan = linked_sessions(2, Action.NOOP)
    changed = plan.changes[0].__class__(**{**_fields(plan.changes[0]), "action": Action.UPDATE})
    plan = Plan(changes=(changed, *plan.changes[1:]), lineage="lin", serial=3)
    (diagram,) = diagrams(render_markdown(plan))
    assert "ne-0000<br>" in diagram and "p-0000<br>" in diagram and "g-0000<br>" in diagram
    assert "vbr-00000000000000000000" in diagram and '"link-0000"' in diagram
    assert "0001" not in diagram  # the other session is unchanged and unrelated


def _fields(change: Change) -> dict[str, object]:
    return {name: getattr(change, name) for name in change.__dataclass_fields__}


def test_a_large_plan_draws_at_most_the_cap_and_still_fits_github() -> None:
    plan = linked_sessions(1000)  # 3000 changes
    md = render_markdown(plan)
    assert comment_size(md) <= GITHUB_COMMENT_LIMIT
    (diagram,) = diagrams(md)
    nodes = re.findall(r"^    n\d+[\[(]", diagram, flags=re.MULTILINE)
    assert 0 < len(nodes) <= MAX_NODES
    drawn = len(re.findall(r"ne-\d{4}<br>", diagram))
    assert f"_{3000 - 3 * drawn} more changes not drawn._" in md  # a session drawn is three changes drawn
    assert md.count(DETAILS) > 0  # the details still get most of the room
    assert md.rstrip().splitlines()[-1].startswith("<sub>reconciler")


def test_the_diagram_shrinks_then_goes_when_the_limit_is_tight() -> None:
    plan = sample_plan()
    nodes = []
    for limit in range(1200, 12000, 200):
        md = render_markdown(plan, max_chars=limit)
        assert comment_size(md) <= limit, limit
        found = diagrams(md)
        nodes.append(len(re.findall(r"^    n\d+[\[(]", found[0], flags=re.MULTILINE)) if found else 0)
    assert nodes[0] == 0 and nodes[-1] > 0  # gone when tight, whole when there is room
    assert nodes == sorted(nodes)


def test_comment_diagrams_parse_plain_large_and_hostile() -> None:
    hostile = Plan(
        changes=(
            Change(
                f"{ALIBABA_GROUP}/{HOSTILE}",
                ALIBABA_GROUP,
                Action.DELETE,
                "alibaba",
                before={"virtualBorderRouterId": HOSTILE, "regionId": HOSTILE, "peerAsn": HOSTILE},
            ),
            Change(
                f"{EQUINIX_PEERING}/{HOSTILE}",
                EQUINIX_PEERING,
                Action.REPLACE,
                "equinix",
                after={"connectionUuid": HOSTILE, "localAsn": HOSTILE, "remoteAsn": 1},
                metadata=ResourceMetadata(labels={"link": HOSTILE}),
            ),
            Change(
                f"{ALIBABA_PEER}/{HOSTILE}",
                ALIBABA_PEER,
                Action.ADOPT,
                "alibaba",
                after={"peerIpAddress": HOSTILE},
                refs={"bgpGroup": f"{ALIBABA_GROUP}/{HOSTILE}"},
                metadata=ResourceMetadata(labels={"link": HOSTILE}),
            ),
        ),
        lineage="l",
        serial=1,
    )
    md = render_markdown(hostile)
    assert "click" not in re.sub(r'"[^"]*"', "", diagrams(md)[0])
    found = [diagrams(render_markdown(p))[0] for p in (sample_plan(), linked_sessions(200), hostile)]
    assert_parses(found)

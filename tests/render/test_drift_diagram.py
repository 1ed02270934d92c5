"""The drift issue body's Mermaid diagram: the sessions with a finding, with what they hang from
and the other end of their link, coloured by health; none on a clean report; and on a large
report only a capped part, inside the issue body's size limit."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from markdown_it import MarkdownIt

from reconciler.drift import DriftOptions, DriftReport, detect
from reconciler.render.drift import render_markdown
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT, comment_size
from tests.builders import equinix, group, live_of, live_peer, peer, state_of
from tests.graph.parser import assert_parses

NOW = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)


def diagrams(md: str) -> list[str]:
    return [t.content for t in MarkdownIt("commonmark").parse(md) if t.type == "fence" and t.info == "mermaid"]


def linked_report(count: int, equinix_session: str = "Established") -> DriftReport:
    """`count` linked sessions (an Equinix config, an Alibaba group and its peer each)."""
    desired, entries, live = [], [], []
    for i in range(count):
        link = {"link": f"link-{i:04d}"}
        e = dataclasses.replace(equinix(f"ne-{i:04d}", conn=f"00000000-0000-4000-8000-{i:012d}"), labels=link)
        g = group(f"g-{i:04d}", vbr=f"vbr-{i:020d}")
        p = dataclasses.replace(peer(f"p-{i:04d}", grp=f"g-{i:04d}"), labels=link)
        desired += [e, g, p]
        entries += [
            (e, f"eq-{i}", {}),
            (g, f"bgpg-{i}", {}),
            (p, f"bgp-{i}", {"bgpGroupId": f"bgpg-{i}", "regionId": "ap-southeast-1"}),
        ]
        live += [
            live_of(e, f"eq-{i}", session=equinix_session),
            live_of(g, f"bgpg-{i}"),
            live_peer(p, f"bgp-{i}", f"bgpg-{i}"),
        ]
    return detect(desired, state_of(*entries), live, DriftOptions(now=NOW))


def test_a_clean_report_draws_nothing() -> None:
    md = render_markdown(linked_report(2))
    assert diagrams(md) == []
    assert "Affected sessions" not in md


def test_an_unhealthy_session_is_drawn_with_its_other_end_and_parses() -> None:
    md = render_markdown(linked_report(1, equinix_session="Idle"))
    [diagram] = diagrams(md)
    assert "### Affected sessions" in md
    assert diagram.startswith("flowchart LR")
    assert "ne-0000" in diagram and "p-0000" in diagram  # the down end and its linked other end
    assert "link-0000" in diagram  # the session edge, labelled with the link
    assert "classDef" in diagram  # coloured by health
    assert_parses([diagram])


def test_a_large_report_draws_a_capped_part_and_still_fits() -> None:
    md = render_markdown(linked_report(1500, equinix_session="Idle"))
    assert comment_size(md) <= GITHUB_COMMENT_LIMIT
    [diagram] = diagrams(md)
    assert diagram.count("-->") < 100  # a part, not 1,500 sessions
    assert "more findings not drawn" in md
    assert_parses([diagram])

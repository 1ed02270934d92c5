"""The destructive warning in text as in markdown, subsets, metadata updates and destroy plans."""

from __future__ import annotations

from dataclasses import replace

from reconciler.model import DeletionPolicy
from reconciler.plan.planner import make_plan
from reconciler.render import render_plan
from tests.builders import group, live_of, state_of


def test_text_and_markdown_share_the_destructive_warning() -> None:
    g = group()
    plan = make_plan([], state_of((g, "bgpg-1", {})), [live_of(g, "bgpg-1")])
    text = render_plan(plan, "text", color=False).splitlines()
    assert text[:3] == [
        "Warning: this plan will delete 1 of the managed resources. Review them carefully.",
        "  delete (-): removed from the manifests",
        "    - AlibabaBgpGroup/sg-vbr1",
    ]
    markdown = render_plan(plan, "markdown")
    assert "**This plan will delete 1 of the managed resources.**" in markdown
    assert "removed from the manifests" in markdown


def test_outside_paths_are_listed_apart_and_not_as_destructive() -> None:
    g = group()
    state = state_of((g, "bgpg-1", {}))
    plan = make_plan([], state, [live_of(g, "bgpg-1")], outside_paths={g.address: "x"})
    text = render_plan(plan, "text", color=False)
    assert "Warning" not in text
    assert "Note: not in the given paths (1): AlibabaBgpGroup/sg-vbr1; --prune deletes them." in text
    markdown = render_plan(plan, "markdown")
    assert "Not in the given paths (1)" in markdown and "WARNING" not in markdown


def test_destroy_and_metadata_notes() -> None:
    g = group()
    state = state_of((g, "bgpg-1", {}))
    destroy = make_plan([], state, [live_of(g, "bgpg-1")], destroy=True)
    assert render_plan(destroy, "text", color=False).startswith("Destroy plan:")
    assert "Destroy plan:" in render_plan(destroy, "markdown")
    orphan = make_plan([replace(g, deletion_policy=DeletionPolicy.ORPHAN)], state, [live_of(g, "bgpg-1")])
    text = render_plan(orphan, "text", color=False)
    assert "No changes." in text and "The state's records of 1 resource" in text

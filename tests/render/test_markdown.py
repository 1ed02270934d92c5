"""The pull-request comment: layout, escaping, the 65,536-character limit."""

from __future__ import annotations

import re
from collections.abc import Callable

from markdown_it import MarkdownIt

from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP
from reconciler.plan.model import Action, Change, FieldChange
from reconciler.render import render_plan
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT, md_code, md_escape, render_markdown
from tests.render.samples import big_plan, drifted_group, noop_peer, sample_plan

DETAILS = "<details><summary>"
DIAGRAM = "**Affected sessions**"


def _destructive_section(md: str) -> str:
    return md.split(DIAGRAM, 1)[0].split(DETAILS, 1)[0]


def test_sample_plan_markdown_snapshot(snapshot: Callable[[str, str], None]) -> None:
    snapshot("sample.md", render_markdown(sample_plan(), plan_file="plan.json"))


def test_no_changes_markdown_snapshot(snapshot: Callable[[str, str], None]) -> None:
    snapshot("no-changes.md", render_markdown(sample_plan(changes=(noop_peer(),), warnings=())))


def test_truncated_markdown_snapshot(snapshot: Callable[[str, str], None]) -> None:
    md = render_markdown(sample_plan(), max_chars=3500)
    assert len(md) <= 3500
    snapshot("truncated.md", md)


def test_summary_first_then_destructive_warning_then_details_then_provenance() -> None:
    md = render_markdown(sample_plan())
    lines = md.splitlines()
    assert lines[0] == "**Plan:** `+2 ~2 -1` · 1 to replace · 1 to forget · 1 to adopt · 1 unchanged"
    assert lines[2] == "> [!WARNING]"
    assert lines[3] == (
        "> **This plan will delete 1, replace 1 and forget 1 of the managed resources.** Review them carefully."
    )
    warning_at, details_at = md.index("> [!WARNING]"), md.index(DETAILS)
    provenance_at = md.index("<sub>reconciler `0.1.0`")
    assert warning_at < details_at < provenance_at
    assert md.count(DETAILS) == 8 == md.count("</details>")  # every actionable change, no no-op
    assert "sg-vbr1-peer1" not in md  # the no-op
    assert "state lineage `6f1c2a9e-3b7d-4c55-9a2e-1d2f3a4b5c6d` serial 7" in md
    assert "manifests `sha256:2c26b46b" in md


def test_destructive_list_names_every_destructive_change_with_its_reason() -> None:
    head = _destructive_section(render_markdown(sample_plan()))
    assert "> - **replace** `-/+` (delete, then create): connectionUuid cannot be changed in place\n" in head
    assert ">   - `EquinixBgpPeering/sg-ne1`\n" in head
    assert "> - **delete** `-`: removed from the manifests\n>   - `AlibabaBgpPeer/sg-vbr1-peer2`\n" in head
    forget = next(line for line in head.splitlines() if line.startswith("> - **forget**"))
    assert "nothing is deleted in the cloud" in forget
    assert "has no delete for BGP configs" in forget
    assert ">   - `EquinixBgpPeering/hk-ne1`" in head
    # Creates, updates and adoptions are not in the warning.
    assert "sg-vbr2" not in head and "hk-vbr1" not in head


def test_no_warning_block_without_destructive_changes() -> None:
    md = render_markdown(sample_plan(changes=(drifted_group(),), warnings=()))
    assert "[!WARNING]" not in md
    assert md.startswith(f"**Plan:** `+0 ~1 -0` · 0 to replace · 0 to forget · 0 to adopt\n\n{DIAGRAM}\n\n```mermaid")


def test_details_hold_the_diff_in_a_fenced_diff_block() -> None:
    md = render_markdown(sample_plan())
    block = md[md.index("<code>-/+</code>") :].split("</details>", 1)[0]
    assert block.startswith(
        "<code>-/+</code> <code>EquinixBgpPeering/sg-ne1</code> "
        "(<code>4d5e6f70-1111-4222-8333-944455556666</code>) must be replaced</summary>\n\n```diff\n"
    )
    assert "# connectionUuid cannot be changed in place\n~ connectionUuid: " in block
    assert block.endswith("# forces replacement\n```\n\n")
    assert "<code>&lt;=</code> <code>AlibabaBgpGroup/hk-vbr1</code>" in md  # HTML-escaped marker


def test_3000_changes_fit_github_and_keep_every_destructive_change() -> None:
    plan = big_plan(3000)
    md = render_markdown(plan)
    assert len(md) < GITHUB_COMMENT_LIMIT
    assert len(md.encode("utf-16-le")) // 2 < GITHUB_COMMENT_LIMIT
    assert md.splitlines()[0] == "**Plan:** `+0 ~2640 -240` · 60 to replace · 60 to forget · 0 to adopt"
    head = _destructive_section(md)
    destructive = [c.address for c in plan.changes if c.destructive]
    assert len(destructive) == 360
    listed = re.findall(r"^>   - `([^`]+)`$", head, flags=re.MULTILINE)
    assert listed == [  # grouped by action and reason, plan order inside each group
        *[c.address for c in plan.changes if c.action is Action.REPLACE],
        *[c.address for c in plan.changes if c.action is Action.DELETE],
        *[c.address for c in plan.changes if c.action is Action.FORGET],
    ]
    assert "… and" not in head
    shown = md.count(DETAILS)
    assert 0 < shown < 3000
    assert md.count("</details>") == shown
    note = f"**{3000 - shown} of 3000 changed resources are not shown** to keep this comment under 65,536 characters."
    assert note in md
    assert "See the whole plan with `reconciler show PLANFILE`." in md
    assert md.rstrip().splitlines()[-1].startswith("<sub>reconciler")  # provenance survives
    # The details kept are the first ones, in plan order.
    first = re.findall(r"<summary><code>[^<]+</code> <code>([^<]+)</code>", md)
    assert first == [c.address for c in plan.changes[:shown]]


def test_destructive_list_too_long_for_the_limit_is_cut_with_a_count() -> None:
    plan = big_plan(3000)
    md = render_markdown(plan, max_chars=4000, plan_file="out/plan.json")
    assert len(md) <= 4000
    head = _destructive_section(md)
    listed = re.findall(r"^>   - `([^`]+)`$", head, flags=re.MULTILINE)
    assert 0 < len(listed) < 360
    assert f"> - … and {360 - len(listed)} more (see them with `reconciler show out/plan.json`)" in head
    assert "**3000 of 3000 changed resources are not shown**" in md
    lines = head.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("> - **"):  # a group heading is never left without its first address
            assert lines[i + 1].startswith(">   - `"), lines[i : i + 2]
    small = big_plan(120)
    for max_chars in range(1200, 3200, 3):  # wherever the cut falls
        cut = render_markdown(small, max_chars=max_chars)
        if "> - … and " not in cut:
            break
        assert len(cut) <= max_chars
        cut_lines = cut.splitlines()
        more_at = next(i for i, line in enumerate(cut_lines) if line.startswith("> - … and "))
        assert cut_lines[more_at - 1].startswith(">   - `"), cut_lines[more_at - 2 : more_at + 1]


def test_one_huge_change_is_left_out_not_cut() -> None:
    huge = Change(
        address=f"{ALIBABA_GROUP}/g",
        kind=ALIBABA_GROUP,
        action=Action.UPDATE,
        provider="alibaba",
        fields=(FieldChange("description", before="a", after="x" * 100_000),),
    )
    md = render_markdown(sample_plan(changes=(huge,), warnings=()))
    assert len(md) < GITHUB_COMMENT_LIMIT
    assert DETAILS not in md
    assert "**1 of 1 changed resource is not shown**" in md


def test_user_strings_cannot_break_the_comment_structure() -> None:
    evil = "```\n</details>\n# Pwned <script>alert(1)</script> [click](https://evil.example) | a | b |\n- item"
    change = Change(
        address=f"{ALIBABA_GROUP}/g",
        kind=ALIBABA_GROUP,
        action=Action.DELETE,
        provider="alibaba",
        reason=evil,
        cloud_id="bgpg-`x`</code>",
        fields=(FieldChange("description", before=evil),),
    )
    plan = sample_plan(changes=(change, drifted_group()), warnings=(evil,), lineage="l`</sub>")
    md = render_markdown(plan)
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    kinds = [t.type for t in tokens]
    # one per changed resource and the diagram's, none opened or closed by the text
    assert [t.info for t in tokens if t.type == "fence"] == ["mermaid", "diff", "diff"]
    assert "heading_open" not in kinds
    assert "table_open" not in kinds
    html_blocks = [t.content for t in tokens if t.type == "html_block"]
    assert len(html_blocks) == 4
    assert all(b.startswith((DETAILS, "</details>")) for b in html_blocks)
    inline = [c for t in tokens if t.type == "inline" for c in t.children or []]
    assert {c.content for c in inline if c.type == "html_inline"} == {"<sub>", "</sub>"}
    assert not [c for c in inline if c.type == "link_open"]
    assert "&lt;script&gt;" in md and "<script>" not in md.split("```diff", 1)[0]
    assert "(<code>bgpg-`x`&lt;/code&gt;</code>)" in md
    fence = next(t for t in tokens if t.type == "fence" and t.info == "diff")
    assert '- description: "```\\n</details>\\n# Pwned' in fence.content  # the value, verbatim, inside


def test_md_escape_and_code() -> None:
    assert md_escape("a*b_c [x](y) <b> & ~s~ |") == r"a\*b\_c \[x\](y) &lt;b&gt; &amp; \~s\~ \|"
    assert md_escape("- x\n# y") == r"\- x # y"
    assert md_escape("1. one") == r"1\. one"
    assert md_escape("sg-vbr1: ok.") == "sg-vbr1: ok."  # ordinary text stays readable
    assert md_code("a`b") == "`` a`b ``"
    assert md_code("plain") == "`plain`"


def test_render_plan_markdown_is_render_markdown() -> None:
    plan = sample_plan()
    assert render_plan(plan, "markdown") == render_markdown(plan)
    assert render_plan(plan, "markdown", plan_file="p.json") == render_markdown(plan, plan_file="p.json")

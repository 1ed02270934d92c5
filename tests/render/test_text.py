"""Terraform-like text rendering: markers, field lines, comments, colours."""

from __future__ import annotations

import re
from collections.abc import Callable

from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.plan.model import Action, Change, FieldChange, Plan, SecretChange
from reconciler.render.text import (
    change_view,
    render_change_styled,
    render_change_text,
    render_field,
    render_text,
    summary_line,
)
from tests.render.samples import (
    FORGET_REASON,
    adopt_group,
    create_group,
    create_peer,
    delete_peer,
    drifted_group,
    forget_peering,
    noop_peer,
    replace_peering,
    sample_plan,
    update_group,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_sample_plan_text_snapshot(snapshot: Callable[[str, str], None]) -> None:
    snapshot("sample.txt", render_text(sample_plan()))


def test_create_lists_every_field_unknown_ones_and_the_secret_without_value() -> None:
    lines = render_change_text(create_peer())
    assert lines == [
        "  + AlibabaBgpPeer/sg-vbr2-peer1 will be created",
        '      + regionId: "ap-southeast-1"',
        "      + bgpGroupId: (known after apply) # from AlibabaBgpGroup/sg-vbr2",
        '      + peerIpAddress: "10.0.0.1"',
        "      + enableBfd: true",
        "      + bfdMultiHop: 1",
    ]
    assert render_change_text(create_group())[-1] == "      + authKey: (sensitive value)"


def test_create_without_field_changes_is_derived_from_after() -> None:
    change = Change(
        address=f"{ALIBABA_GROUP}/g",
        kind=ALIBABA_GROUP,
        action=Action.CREATE,
        provider="alibaba",
        after={"description": "x", "peerAsn": 65010, "regionId": "cn-hongkong"},
        after_unknown=("virtualBorderRouterId",),
        secret_refs={"authKey": "env:K"},
    )
    # The kind's field order, not the mapping's.
    assert render_change_text(change)[1:] == [
        '      + regionId: "cn-hongkong"',
        "      + virtualBorderRouterId: (known after apply)",
        "      + peerAsn: 65010",
        '      + description: "x"',
        "      + authKey: (sensitive value)",
    ]


def test_update_shows_old_and_new_value_and_masks_the_changed_secret() -> None:
    assert render_change_text(update_group()) == [
        "  ~ AlibabaBgpGroup/sg-vbr1 (bgpg-t4n0000000000000001) will be updated in place",
        "      ~ peerAsn: 65010 -> 65020",
        "      ~ authKey: (sensitive value changed)",
    ]


def test_replace_names_the_field_and_the_reason() -> None:
    lines = render_change_text(replace_peering())
    assert lines[0].startswith("-/+ EquinixBgpPeering/sg-ne1 (")
    assert lines[0].endswith(" must be replaced")
    assert lines[1] == "      # connectionUuid cannot be changed in place"
    assert lines[2].endswith(" # forces replacement")
    assert lines[2].startswith('      ~ connectionUuid: "80afc8be-')


def test_replace_field_marked_by_replace_fields_even_if_the_field_does_not_say_so() -> None:
    change = Change(
        address=f"{EQUINIX_PEERING}/x",
        kind=EQUINIX_PEERING,
        action=Action.REPLACE,
        provider="equinix",
        fields=(FieldChange("connectionUuid", before="a", after="b"),),
        replace_fields=("connectionUuid",),
    )
    assert render_change_text(change)[1] == '      ~ connectionUuid: "a" -> "b" # forces replacement'


def test_delete_lists_the_attributes_that_go_away() -> None:
    assert render_change_text(delete_peer()) == [
        "  - AlibabaBgpPeer/sg-vbr1-peer2 (bgpp-t4n0000000000000002) will be deleted",
        "      # removed from the manifests",
        '      - regionId: "ap-southeast-1" -> null',
        '      - bgpGroupId: "bgpg-t4n0000000000000001" -> null',
        '      - peerIpAddress: "10.0.0.5" -> null',
    ]


def test_forget_cannot_be_mistaken_for_a_delete() -> None:
    lines = render_change_text(forget_peering())
    assert lines[0] == (
        "  - (forget) EquinixBgpPeering/hk-ne1 (9a8b7c6d-1111-4222-8333-944455556666) "
        "will be forgotten (removed from state only, not deleted)"
    )
    assert lines[1] == f"      # {FORGET_REASON}"
    assert "has no delete" in lines[1]
    assert "will be deleted" not in "\n".join(lines)
    assert len(lines) == 2  # no "- field -> null" lines: nothing is removed anywhere


def test_adopt_shows_where_it_moved_from() -> None:
    lines = render_change_text(adopt_group())
    assert lines[0] == " <= AlibabaBgpGroup/hk-vbr1 (bgpg-j6c0000000000000009) will be adopted"
    assert lines[-1] == "      # (moved from AlibabaBgpGroup/hk-old)"


def test_outside_change_is_said_once() -> None:
    assert render_change_text(drifted_group())[1:] == [
        "      # changed outside reconciler",
        '      ~ description: "edited in the console" -> "Singapore VBR 3"',
    ]
    quiet = Change(
        address=f"{ALIBABA_GROUP}/g",
        kind=ALIBABA_GROUP,
        action=Action.UPDATE,
        provider="alibaba",
        fields=(FieldChange("peerAsn", before=1, after=2),),
        outside_change=True,
    )
    assert render_change_text(quiet)[1] == "      # this difference was made outside reconciler"


def test_noop_changes_are_counted_not_listed() -> None:
    text = render_text(sample_plan())
    assert noop_peer().address not in text
    assert text.rstrip().endswith(
        "Plan: 2 to add, 2 to change, 1 to destroy, 1 to replace, 1 to forget, 1 to adopt. 1 unchanged."
    )


def test_no_changes() -> None:
    plan = Plan(changes=(noop_peer(),), lineage=None, serial=0)
    assert render_text(plan) == "No changes. The clouds match the manifests. 1 unchanged.\n"
    assert summary_line(Plan(changes=(), lineage=None, serial=0)) == "No changes. The clouds match the manifests."


def test_render_field_every_shape() -> None:
    assert render_field(FieldChange("peerAsn", before=65010, after=65020)) == "~ peerAsn: 65010 -> 65020"
    assert render_field(FieldChange("peerIpAddress", after="10.0.0.1")) == '+ peerIpAddress: "10.0.0.1"'
    assert render_field(FieldChange("description", before="x")) == '- description: "x" -> null'
    assert render_field(FieldChange("bgpGroupId", after_unknown=True)) == "+ bgpGroupId: (known after apply)"
    assert (
        render_field(FieldChange("bgpGroupId", before="bgpg-1", after_unknown=True))
        == '~ bgpGroupId: "bgpg-1" -> (known after apply)'
    )
    secret = {
        SecretChange.ADDED: "+ authKey: (sensitive value)",
        SecretChange.REMOVED: "- authKey: (sensitive value)",
        SecretChange.CHANGED: "~ authKey: (sensitive value changed)",
    }
    for change, expected in secret.items():
        assert render_field(FieldChange("authKey", sensitive=True, secret_change=change)) == expected
    assert (
        render_field(FieldChange("ipVersion", before="IPv4", after="IPv6", forces_replacement=True))
        == '~ ipVersion: "IPv4" -> "IPv6" # forces replacement'
    )


def test_values_cannot_smuggle_terminal_control_characters() -> None:
    field = FieldChange("description", before="ok", after="\x1b[2Jgone\u202eevil\x9b31m\nnext")
    line = render_field(field)
    assert "\x1b" not in line and "\u202e" not in line and "\x9b" not in line and "\n" not in line
    assert line == '~ description: "ok" -> "\\u001b[2Jgone\\u202eevil\\u009b31m\\nnext"'


def test_colour_only_when_asked() -> None:
    plan = sample_plan()
    plain = render_text(plan, color=False)
    coloured = render_text(plan, color=True)
    assert not ANSI.search(plain)
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured) == plain  # same text, only styled
    # Colour per action: create green (32), update yellow (33), replace/delete red (31),
    # forget magenta (35), adopt cyan (36).
    header_codes = {
        "AlibabaBgpGroup/sg-vbr2": "32",
        "AlibabaBgpGroup/sg-vbr1": "33",
        "EquinixBgpPeering/sg-ne1": "31",
        "AlibabaBgpPeer/sg-vbr1-peer2": "31",
        "EquinixBgpPeering/hk-ne1": "35",
        "AlibabaBgpGroup/hk-vbr1": "36",
    }
    for address, code in header_codes.items():
        header = next(
            line for line in coloured.splitlines() if re.search(rf" {address} .*(will|must) be", ANSI.sub("", line))
        )
        assert re.match(rf"^\x1b\[1;{code}m", header), (address, header)


def test_styled_lines_match_plain_lines() -> None:
    change = replace_peering()
    assert [t.plain for t in render_change_styled(change)] == render_change_text(change)
    spans = {str(span.style) for t in render_change_styled(change) for span in t.spans}
    assert "bold red" in spans  # the header and "# forces replacement"


def test_width_wraps_only_comments() -> None:
    lines = render_change_text(forget_peering(), width=60)
    comments = [line for line in lines if line.lstrip().startswith("#")]
    assert len(comments) == 3
    assert all(len(line) <= 60 for line in comments)
    assert " ".join(c.strip()[2:] for c in comments) == FORGET_REASON
    assert len(lines[0]) > 60  # the header is never cut


def test_change_view_body_is_unindented_for_reuse() -> None:
    view = change_view(update_group())
    assert [line.plain for line in view.body] == ["~ peerAsn: 65010 -> 65020", "~ authKey: (sensitive value changed)"]


def test_refresh_only_targets_and_warnings_are_announced() -> None:
    plan = sample_plan(
        changes=(drifted_group(),), mode="refresh-only", targets=("AlibabaBgpGroup/sg-vbr3",), warnings=("w1",)
    )
    lines = render_text(plan).splitlines()
    assert lines[0].startswith("Refresh-only plan:")
    assert lines[2] == "Note: only these addresses were planned (--target): AlibabaBgpGroup/sg-vbr3"
    assert "Warning: w1" in lines

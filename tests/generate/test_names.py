"""Manifest names: valid whatever the cloud calls things, unique per kind, stable suffixes."""

from __future__ import annotations

from reconciler.generate.keys import variable_name
from reconciler.generate.names import NAME, assign_names, suffixed, valid_name


def test_names_are_made_valid() -> None:
    assert valid_name("Core_Router 1") == "core-router-1"
    assert valid_name("--x--") == "x"
    assert valid_name("!!!") == ""
    long = valid_name("a" * 70 + "-b")
    assert len(long) == 63 and NAME.match(long)


def test_collisions_get_a_suffix_from_the_cloud_id_that_does_not_move() -> None:
    names = assign_names([("K", "id-2", ["core"]), ("K", "id-1", ["core"]), ("J", "id-3", ["core"])])
    assert names[("K", "id-1")] == "core"  # the lowest id keeps the name
    assert names[("K", "id-2")] == suffixed("core", "id-2")
    assert names[("J", "id-3")] == "core"  # unique per kind only
    more = assign_names([("K", "id-2", ["core"]), ("K", "id-1", ["core"]), ("K", "id-9", ["core"])])
    assert more[("K", "id-2")] == names[("K", "id-2")]


def test_invalid_candidates_fall_back_to_the_next_one_or_a_suffixed_name() -> None:
    names = assign_names([("K", "id-1", ["", "vbr-1-10.0.0.1"]), ("K", "id-2", ["***"])])
    assert names[("K", "id-1")] == "vbr-1-10-0-0-1"
    assert NAME.match(names[("K", "id-2")])
    long = suffixed("a" * 63, "id")
    assert len(long) <= 63 and NAME.match(long)


def test_variable_names_are_valid_and_never_a_credential() -> None:
    assert variable_name("sg-vbr1") == "SG_VBR1_BGP_KEY"
    assert variable_name("1st") == "BGP_1ST_BGP_KEY"
    assert variable_name("github-edge") == "BGP_GITHUB_EDGE_BGP_KEY"

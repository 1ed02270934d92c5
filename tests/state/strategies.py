"""Hypothesis strategies for journal entries and state documents (valid ones)."""

from __future__ import annotations

import string
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from reconciler.model import JournalEntry, StateDoc, StateResource
from reconciler.state.codec import ACTIONS, PHASES, RECORDING_ACTIONS, secret_field_names

KINDS = ("AlibabaBgpGroup", "AlibabaBgpPeer", "EquinixBgpPeering")
ADDRESSES = tuple(f"{kind}/{name}" for kind in KINDS for name in ("sg-1", "hk-2", "x"))
TIMES = tuple(f"2024-05-01T10:00:{second:02d}.000Z" for second in range(6))

text = st.text(alphabet=string.ascii_letters + string.digits + "-_.:/ é", max_size=12)
ids = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=20)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
attribute_names = st.text(alphabet=string.ascii_letters, min_size=1, max_size=10).filter(
    lambda name: name not in secret_field_names()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(attribute_names, inner, max_size=3),
    max_leaves=6,
)
attributes = st.dictionaries(attribute_names, values, max_size=4)


@st.composite
def journal_entries(draw: st.DrawFn, entry_ids: st.SearchStrategy[str] = ids) -> JournalEntry:
    address = draw(st.sampled_from(ADDRESSES))
    action = draw(st.sampled_from(ACTIONS))
    phase = draw(st.sampled_from(PHASES))
    settles = phase == "done" and action in RECORDING_ACTIONS  # must say what is in the cloud
    optional_text: Any = st.none() | text
    return JournalEntry(
        id=draw(entry_ids),
        address=address,
        kind=address.split("/")[0],
        action=action,
        phase=phase,
        time=draw(st.sampled_from(TIMES)),
        token=draw(optional_text),
        cloud_id=draw(ids if settles else st.none() | ids),
        region=draw(optional_text),
        attributes=draw(attributes if settles else st.none() | attributes),
        natural_key=draw(st.none() | st.lists(scalars, max_size=3).map(tuple)),
        dependencies=tuple(draw(st.lists(st.sampled_from(ADDRESSES), max_size=3))),
        error=draw(optional_text) if phase == "failed" else None,
    )


@st.composite
def state_resources(draw: st.DrawFn, address: str) -> StateResource:
    return StateResource(
        address=address,
        kind=address.split("/", maxsplit=1)[0],
        cloud_id=draw(ids),
        region=draw(st.none() | text),
        attributes=draw(attributes),
        dependencies=tuple(draw(st.lists(st.sampled_from(ADDRESSES), max_size=3, unique=True))),
    )


@st.composite
def state_docs(draw: st.DrawFn) -> StateDoc:
    addresses = draw(st.lists(st.sampled_from(ADDRESSES), unique=True, max_size=5))
    pending = draw(st.lists(journal_entries(), max_size=3, unique_by=lambda entry: entry.id))
    return StateDoc(
        lineage=str(draw(st.uuids())),
        serial=draw(st.integers(min_value=1, max_value=10**9)),
        resources={address: draw(state_resources(address)) for address in addresses},
        pending=tuple(replace(entry, phase="intent") for entry in pending),
        extra=draw(attributes),
    )

"""Cross-cloud links inferred from what is live: the two ends of one BGP session.

Each cloud says what its end of a session exposes (`Cloud.link_end`, the same hook validation
uses), over the generated documents. Two ends of different clouds mirror each other when one's
local ASN is the other's remote ASN both ways, every address both know agrees (at least one
does), and their live keys are equal (compared in memory). Only an end that mirrors exactly one
other end, which mirrors only it, is linked: an ambiguous match is left for people to decide.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.clouds import KINDS, cloud_of
from reconciler.manifest.checked import Checked
from reconciler.manifest.links import LinkEnd
from reconciler.manifest.load import Document
from reconciler.model import SecretValue


@dataclass(frozen=True, slots=True)
class _End:
    index: int  # of the document in the caller's sequence
    cloud: str
    local_asn: Hashable
    remote_asn: Hashable
    local_address: Hashable
    remote_address: Hashable
    key: SecretValue | None


def infer_links(
    documents: Sequence[Mapping[str, Any]], keys: Sequence[SecretValue | bool | None]
) -> list[tuple[int, int]]:
    """Pairs of indexes of `documents` that are the two ends of one session, in document order.

    `keys[i]` is the live key of document i (None: no key; False: it holds no key field)."""
    checked = [
        Checked.of(Document(file="(generated)", index=i, data=doc, positions={"": (1, 1)}), str(doc["kind"]), ())
        for i, doc in enumerate(documents)
    ]
    by_name = {(c.kind, c.name): c for c in checked if c.name is not None}
    index_of = {id(c): i for i, c in enumerate(checked)}
    ends: list[_End] = []
    for i, item in enumerate(checked):
        info = KINDS.get(item.kind)
        if info is None or not info.has_session:
            continue
        exposed = cloud_of(item.kind).link_end(item, by_name)
        if exposed is not None and (found := _end(i, info.cloud, exposed, index_of, keys)) is not None:
            ends.append(found)
    by_local: dict[tuple[Hashable, Hashable], list[_End]] = {}
    for one in ends:
        if one.local_address is not None:
            by_local.setdefault((one.local_asn, one.local_address), []).append(one)
    matches: dict[int, set[int]] = {}
    for one in ends:
        if one.remote_address is None:
            continue
        for other in by_local.get((one.remote_asn, one.remote_address), ()):
            if other.cloud != one.cloud and _mirror(one, other):
                matches.setdefault(one.index, set()).add(other.index)
                matches.setdefault(other.index, set()).add(one.index)
    pairs = {
        (min(a, b), max(a, b))
        for a, others in matches.items()
        if len(others) == 1 and len(matches[(b := next(iter(others)))]) == 1
    }
    return sorted(pairs)


def _end(
    index: int, cloud: str, end: LinkEnd, index_of: Mapping[int, int], keys: Sequence[SecretValue | bool | None]
) -> _End | None:
    if end.key is None or end.local_asn is None or end.remote_asn is None:
        return None  # what the cloud cannot tell cannot be matched safely
    key = keys[index_of[id(end.key.doc)]]
    return _End(
        index,
        cloud,
        end.local_asn.value,
        end.remote_asn.value,
        end.local_address.value if end.local_address else None,
        end.remote_address.value if end.remote_address else None,
        key if isinstance(key, SecretValue) else None,
    )


def _mirror(a: _End, b: _End) -> bool:
    if a.local_asn is None or a.local_asn != b.remote_asn or a.remote_asn is None or a.remote_asn != b.local_asn:
        return False
    known = [(x, y) for x, y in ((a.local_address, b.remote_address), (a.remote_address, b.local_address)) if x and y]
    return bool(known) and all(x == y for x, y in known) and a.key == b.key

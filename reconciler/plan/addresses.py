"""Live address checks: which session addresses cannot form their sessions (pure: no I/O).

`plan` and `apply PATH...` run them after the refresh, before anything is sent (`workflow.py`
reads what each cloud needs through its `Cloud.address_checks` hook). Here: the session ends to
check, each with the end of another cloud it is linked with (`session_ends`, through the same
`Cloud.link_end` that validation compares linked ends with), and what the findings mean
(`verdict`): an address of a linked session that cannot form it is an error, unless
`--allow-address-mismatch` makes it a warning; anything else (an unlinked peer outside its
router's subnet, which a multi-hop peer legitimately is; addresses that could not be checked) is a
warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reconciler.clouds import KINDS, cloud_of
from reconciler.clouds.base import AddressFinding, SessionEnds
from reconciler.errors import PlanError
from reconciler.manifest.checked import Checked, forget_parsed_addresses
from reconciler.manifest.links import LINK_LABEL, LinkEnd

ALLOW_OPTION = "--allow-address-mismatch"
_LABEL_PATH = f"metadata.labels.{LINK_LABEL}"


def session_ends(documents: Iterable[Checked], addresses: frozenset[str] | None = None) -> dict[str, list[SessionEnds]]:
    """Every session end of the documents, by cloud, with the end it is linked with (validation made
    sure a link joins one end in each of two clouds). With `addresses`, only those ends: the others
    are made into ends only where they are linked with one of those."""
    docs = list(documents)
    by_name = {(d.kind, d.name): d for d in docs if d.name is not None}
    with_session = [d for d in docs if (info := KINDS.get(d.kind)) is not None and info.has_session]
    made: dict[int, LinkEnd | None] = {}  # by id(doc): each document's end, made once, when needed

    def end_of(doc: Checked) -> LinkEnd | None:
        if id(doc) not in made:
            end = cloud_of(doc.kind).link_end(doc, by_name)
            # The ends outlive the manifests' documents (a plan lets them go): each keeps where
            # its document's values are written, not the values.
            made[id(doc)] = None if end is None else end.detached()
        return made[id(doc)]

    # Each label read once; only the linked documents are kept (a plan makes an end of every session).
    link_of: dict[int, str] = {}  # by id(doc)
    by_link: dict[str, list[Checked]] = {}
    for doc in with_session:
        link = doc.get(_LABEL_PATH)
        if isinstance(link, str):
            link_of[id(doc)] = link
            by_link.setdefault(link, []).append(doc)
    out: dict[str, list[SessionEnds]] = {}
    for doc in with_session:
        if addresses is not None and doc.address not in addresses:
            continue
        end = end_of(doc)
        if end is None:
            continue
        cloud = KINDS[doc.kind].cloud
        link = link_of.get(id(doc))
        other = None
        if link is not None:  # the one end of another cloud with the same link, if there is exactly one
            others = [o for d in by_link[link] if KINDS[d.kind].cloud != cloud and (o := end_of(d)) is not None]
            other = others[0] if len(others) == 1 else None
        out.setdefault(cloud, []).append(SessionEnds(end, other))
    forget_parsed_addresses()  # the ends hold what they need
    return out


@dataclass(frozen=True, slots=True)
class Verdict:
    errors: tuple[AddressFinding, ...]
    warnings: tuple[str, ...]


def verdict(findings: Sequence[AddressFinding], allow_mismatch: bool) -> Verdict:
    """Errors: addresses of linked sessions that cannot form them (none with `allow_mismatch`);
    every other finding is a warning."""
    errors = tuple(f for f in findings if f.linked and f.checked and not allow_mismatch)
    warnings = tuple(str(f) for f in findings if f not in errors)
    return Verdict(errors, warnings)


def refuse_mismatches(found: Verdict) -> None:
    """PlanError listing every address of a linked session that cannot form it, and the warnings."""
    if not found.errors:
        return
    lines = "\n".join(str(f) for f in found.errors)
    count = "1 address" if len(found.errors) == 1 else f"{len(found.errors)} addresses"
    also = "".join(f"\nwarning: {w}" for w in found.warnings)
    raise PlanError(
        f"{count} of linked sessions cannot form the session with what is live:\n{lines}{also}",
        hint=f"fix the addresses (or the router), or pass {ALLOW_OPTION} to plan anyway (they become warnings)",
    )

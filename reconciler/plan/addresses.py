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
from reconciler.manifest.checked import Checked
from reconciler.manifest.links import LINK_LABEL, LinkEnd

ALLOW_OPTION = "--allow-address-mismatch"


def session_ends(documents: Iterable[Checked], addresses: frozenset[str] | None = None) -> dict[str, list[SessionEnds]]:
    """Every session end of the documents, by cloud, with the end it is linked with (validation made
    sure a link joins one end in each of two clouds). With `addresses`, only those ends."""
    docs = list(documents)
    by_name = {(d.kind, d.name): d for d in docs if d.name is not None}
    ends: list[LinkEnd] = []
    for doc in docs:
        info = KINDS.get(doc.kind)
        if info is not None and info.has_session and (end := cloud_of(doc.kind).link_end(doc, by_name)) is not None:
            ends.append(end)
    by_link: dict[str, list[LinkEnd]] = {}
    for end in ends:
        link = end.doc.get(f"metadata.labels.{LINK_LABEL}")
        if isinstance(link, str):
            by_link.setdefault(link, []).append(end)
    out: dict[str, list[SessionEnds]] = {}
    for end in ends:
        if addresses is not None and end.doc.address not in addresses:
            continue
        link = end.doc.get(f"metadata.labels.{LINK_LABEL}")
        cloud = KINDS[end.doc.kind].cloud
        others = [o for o in by_link.get(link, []) if KINDS[o.doc.kind].cloud != cloud] if isinstance(link, str) else []
        out.setdefault(cloud, []).append(SessionEnds(end, others[0] if len(others) == 1 else None))
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

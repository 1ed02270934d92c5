"""The two ends of one BGP session, in two clouds, joined by the label `link: NAME`.

Each cloud says what its end of a session exposes (`Cloud.link_end`): its local and remote ASN,
its local and remote address, and whether it has a key. The core only compares the ends: one
side's local ASN is the other's remote ASN, one side's local address is the other's remote
address, and both have a key or neither. Where they disagree, the problem is reported at the
value that `follows` (the one to fix: the cloud decides which of its values follow the other
end). Key values are compared once secrets are resolved (`key_mismatches`), never shown.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from reconciler.clouds import CLOUDS, KINDS, cloud_of
from reconciler.manifest.checked import Checked, Diagnostic
from reconciler.model import Resource, SecretRef

LINK_LABEL = "link"
_LABEL_PATH = f"metadata.labels.{LINK_LABEL}"
RULE = "a link joins the two ends of one BGP session: one session resource in each of two clouds"


class EndValue(NamedTuple):
    """One value of a session end (None values are unknown and never compared).

    `called` is what it is called when it must be fixed ("the device's localAsn"); `follows`: when
    the two ends disagree, the problem is reported here. `says()` is how the other end's message
    quotes it ("X has remoteAsn 65010 (file:8:12)"), made only when a message needs it (a plan
    makes an end of every session): `shown` is the value as written where that differs (an
    address with its prefix), `verb` what the document does with it, and `unset` what is said
    instead when the document does not set it (a default applies).

    A value, a key and an end are named tuples, not frozen dataclasses: as immutable, and made in
    a third of the time (a frozen dataclass sets each field through `object.__setattr__`).
    """

    value: object
    doc: Checked
    path: str
    called: str
    follows: bool
    shown: object = None
    verb: str = "has"
    unset: str | None = None

    def says(self) -> str:
        if self.unset is not None:
            return f"{self.doc.address} {self.unset}"
        shown = self.value if self.shown is None else self.shown
        return f"{self.doc.address} {self.verb} {self.path.rsplit('.', 1)[-1]} {shown} ({self.doc.at(self.path)})"


class EndKey(NamedTuple):
    """Whether a session end has a BGP key: `ref` is None when it declares none."""

    ref: SecretRef | None
    doc: Checked  # the document that holds (or would hold) the key
    path: str  # e.g. spec.authKey
    follows: bool

    @property
    def field(self) -> str:
        return self.path.rsplit(".", 1)[-1]


class LinkEnd(NamedTuple):
    """One end of a linked session: the labelled document, the documents it is made of (a peer's
    group), and what it exposes. Anything a cloud cannot tell is None and is not compared."""

    doc: Checked
    members: tuple[Checked, ...] = ()
    local_asn: EndValue | None = None
    remote_asn: EndValue | None = None
    local_address: EndValue | None = None
    remote_address: EndValue | None = None
    key: EndKey | None = None

    def detached(self) -> LinkEnd:
        """This end with its own document `without_data`, here and in the values it exposes, so
        that a plan's ends do not keep every document's data alive. The members keep theirs: a
        cloud's checks read their values (a peer's group: its VBR), and several ends share one."""
        own = self.doc.without_data()

        def moved(value: _Exposed) -> _Exposed:
            return value._replace(doc=own) if value is not None and value.doc is self.doc else value

        return self._replace(
            doc=own,
            local_asn=moved(self.local_asn),
            remote_asn=moved(self.remote_asn),
            local_address=moved(self.local_address),
            remote_address=moved(self.remote_address),
            key=moved(self.key),
        )


_Exposed = TypeVar("_Exposed", EndValue | None, EndKey | None)


def valid_value(doc: Checked, path: str) -> Any:
    """The value at `path` where `doc.has(path)`, else None: a cloud's `link_end` reads each value
    once (it runs for every session of a plan)."""
    value = doc.get(path)
    return value if value is not None and doc.ok(path) else None


def link_diagnostics(docs: Sequence[Checked], complete: bool) -> Iterator[Diagnostic]:
    """Every problem with the `link` labels of the documents."""
    by_name: dict[tuple[str, str], Checked] = {}
    by_link: dict[str, list[Checked]] = {}
    for checked in docs:
        if checked.name is not None:
            by_name.setdefault((checked.kind, checked.name), checked)
        link = checked.get(_LABEL_PATH)
        if isinstance(link, str) and checked.ok(_LABEL_PATH):
            by_link.setdefault(link, []).append(checked)
    for link, labelled in by_link.items():
        ends: list[LinkEnd] = []
        others: list[Checked] = []
        for checked in labelled:
            end = cloud_of(checked.kind).link_end(checked, by_name) if KINDS[checked.kind].has_session else None
            if end is None:
                others.append(checked)
            else:
                ends.append(end)
        yield from _link(link, ends, others, complete)


def _link(link: str, ends: list[LinkEnd], others: list[Checked], complete: bool) -> Iterator[Diagnostic]:
    first: dict[str, LinkEnd] = {}  # cloud -> its end
    for end in ends:
        cloud = KINDS[end.doc.kind].cloud
        if cloud in first:
            used = first[cloud].doc
            yield end.doc.diag(
                _LABEL_PATH, f"link {link!r} is already used by {used.address} ({used.where}): {RULE}", "mirror"
            )
        elif len(first) == 2:
            joined = " and ".join(e.doc.address for e in first.values())
            yield end.doc.diag(_LABEL_PATH, f"link {link!r} already joins {joined}: {RULE}", "mirror")
        else:
            first[cloud] = end
    if complete and len(first) < 2:
        present = ends[0].doc if ends else others[0]
        missing = [info.kind for info in KINDS.values() if info.has_session and info.cloud not in first]
        yield present.diag(
            _LABEL_PATH,
            f"link {link!r} has no other end: no {' or '.join(missing)} has {LINK_LABEL}: {link} ({RULE})",
            "mirror",
        )
    if len(first) < 2:
        return
    a, b = first.values()
    for other in others:
        yield from _stray_label(link, other, (a, b))
    yield from _compare(link, a.local_asn, b.remote_asn)
    yield from _compare(link, a.remote_asn, b.local_asn)
    yield from _compare(link, a.local_address, b.remote_address)
    yield from _compare(link, a.remote_address, b.local_address)
    yield from _compare_keys(link, a.key, b.key)


def _stray_label(link: str, other: Checked, ends: tuple[LinkEnd, LinkEnd]) -> Iterator[Diagnostic]:
    """A labelled document that is not a session end must be part of one (a peer's group)."""
    for end in ends:
        if any(member is other for member in end.members):
            return
    for end in ends:
        for member in end.members:
            if member.kind == other.kind:
                yield other.diag(
                    _LABEL_PATH,
                    f"{other.address} has link {link!r} but the linked {end.doc.address} belongs to "
                    f"{member.address}: label {member.address}, or neither",
                    "mirror",
                )
                return


def _compare(link: str, x: EndValue | None, y: EndValue | None) -> Iterator[Diagnostic]:
    if x is None or y is None or x.value is None or y.value is None or x.value == y.value:
        return
    follower, leader = (x, y) if x.follows and not y.follows else (y, x)
    yield follower.doc.diag(
        follower.path,
        f"{follower.value} does not match the other end of link {link!r}: {leader.says()}, "
        f"so {follower.called} is {leader.value}",
        "mirror",
    )


def _compare_keys(link: str, x: EndKey | None, y: EndKey | None) -> Iterator[Diagnostic]:
    """Both ends need a key, or neither. Different references are compared by value later
    (`key_mismatches`), since two references may hold the same key."""
    if x is None or y is None or (x.ref is None) == (y.ref is None):
        return
    follower, leader = (x, y) if x.follows and not y.follows else (y, x)
    if follower.ref is None:
        yield follower.doc.diag(
            "spec",
            f"no {follower.field}, but the other end of link {link!r}, {leader.doc.address}, sets {leader.field} "
            f"({leader.doc.at(leader.path)}): both ends of one session use the same key",
            "mirror",
        )
    else:
        # Where the key is declared, name its reference (never a value).
        yield follower.doc.diag(
            follower.path,
            f"{follower.ref} is set here but the other end of link {link!r}, {leader.doc.address} "
            f"({leader.doc.at('spec')}), has no {leader.field}: both ends of one session use the same key",
            "mirror",
        )


class KeyMismatch(NamedTuple):
    """The two ends of a linked session resolve to different keys (values never kept here)."""

    resource: Resource
    field: str
    message: str


def key_mismatches(resources: Sequence[Resource]) -> list[KeyMismatch]:
    """Linked session ends whose resolved keys differ, reported at the end that follows."""
    by_address: Mapping[str, Resource] = {r.address: r for r in resources}
    ends: dict[str, dict[str, list[Resource]]] = {}
    for resource in resources:
        link = resource.labels.get(LINK_LABEL)
        info = KINDS.get(resource.kind)
        if link and info is not None and info.has_session:
            ends.setdefault(link, {}).setdefault(info.cloud, []).append(resource)
    out: list[KeyMismatch] = []
    for link, by_cloud in sorted(ends.items()):
        if len(by_cloud) != 2 or any(len(found) != 1 for found in by_cloud.values()):
            continue  # validation reports that already
        x, y = (CLOUDS[cloud].key_holder(found[0], by_address) for cloud, found in by_cloud.items())
        if x is None or y is None:
            continue
        x_key, y_key = x.resource.secrets.get(x.field), y.resource.secrets.get(y.field)
        if x_key is None or y_key is None or x_key == y_key:
            continue
        follower, leader = (x, y) if x.follows and not y.follows else (y, x)
        follower_ref = follower.resource.secret_refs[follower.field]
        leader_ref = leader.resource.secret_refs[leader.field]
        out.append(
            KeyMismatch(
                follower.resource,
                follower.field,
                f"the two ends of link {link!r} use different keys: {follower_ref} here and {leader_ref} "
                f"on {leader.resource.address} (values not shown); both ends of one session need the same key",
            )
        )
    return out

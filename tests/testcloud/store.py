"""The test cloud itself: an in-memory API of routers' BGP processes and their neighbours.

One `STORE` per process, shared by every provider made in it, so separate CLI invocations in one
test see the same cloud. It behaves like the real APIs in the ways reconciler depends on:

- every field comes back as text (`"65010"`, `"true"`), so providers must normalise;
- changes are asynchronous: an object is `Creating`, `Updating` or `Deleting` for
  `settle_polls` reads of it (a read is a get, or a list page that shows it), then `Active` (or
  gone). A mutation of an object that is still changing is refused with `Busy`;
- every mutation takes a `clientToken`: the same token with the same parameters returns the first
  answer and changes nothing; with other parameters it is refused (`TokenReuse`). Refused calls do
  not use up their token;
- lists come in pages of at most `max_page_size` items, with a `nextPageToken`;
- a process with neighbours cannot be deleted: `HasNeighbors`, or `NeighborsDeleting` while they
  are only on their way out;
- every request is counted by operation (`calls()`), like a cloud's audit log.
"""

from __future__ import annotations

import ipaddress
import itertools
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

ROUTER_PREFIX = "mrb-"
NEIGHBOR_PREFIX = "mbn-"
CHANGING = frozenset({"Creating", "Updating", "Deleting"})
MAX_ASN = 4294967295
MAX_KEY_LENGTH = 80


class ApiError(Exception):
    """A refused request. `blocking` is the id of the object whose change must finish first."""

    def __init__(self, code: str, message: str, blocking: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.blocking = blocking


@dataclass(frozen=True, slots=True)
class Settings:
    settle_polls: int = 1  # reads that still show Creating / Updating / Deleting
    max_page_size: int = 3  # the server's cap on pageSize


@dataclass(slots=True)
class _Record:
    id: str
    seq: int  # creation order: lists are in this order, page tokens are positions in it
    fields: dict[str, str]
    key: str | None = None
    status: str = "Creating"
    next_status: str | None = "Active"  # None: gone once the change finishes
    polls_left: int = 0
    since: str = ""  # when the status last changed
    session_override: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _asn(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    if isinstance(value, bool) or not str(value).isdigit() or not 1 <= int(str(value)) <= MAX_ASN:
        raise ApiError("InvalidParameter", f"{name} must be an integer 1..{MAX_ASN}")
    return str(int(str(value)))


def _key(value: Any) -> str | None:
    """A key to store ("" or None: no key). Never echoed in an error."""
    if value in (None, ""):
        return None
    text = str(value)
    if len(text) > MAX_KEY_LENGTH or any(c.isspace() or not c.isprintable() for c in text):
        raise ApiError("InvalidKey", f"md5Key must be 1-{MAX_KEY_LENGTH} printable characters without spaces")
    return text


class MemStore:
    """The in-memory cloud. `request(operation, params)` is its whole API."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.settings = Settings()
        self._records: dict[str, _Record] = {}
        self._tokens: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
        self._calls: Counter[str] = Counter()
        self._seq = itertools.count(1)

    # -- control (what a test does to the cloud itself) -----------------------------------

    def reset(self, **settings: Any) -> None:
        """Forget every object, token and count; `settings` override the `Settings` defaults."""
        with self._lock:
            self.settings = Settings(**settings)
            self._records = {}
            self._tokens = {}
            self._calls = Counter()
            self._seq = itertools.count(1)

    def configure(self, **settings: Any) -> None:
        with self._lock:
            self.settings = replace(self.settings, **settings)

    def calls(self) -> dict[str, int]:
        """Requests served so far, by operation."""
        with self._lock:
            return dict(self._calls)

    def set_session(self, cloud_id: str, state: str | None) -> None:
        """Force a neighbour's BGP session state (None: back to automatic)."""
        with self._lock:
            self._records[cloud_id].session_override = state

    def ids(self) -> list[str]:
        """Every object id, in creation order (no read is counted, nothing settles)."""
        with self._lock:
            return [r.id for r in sorted(self._records.values(), key=lambda r: r.seq)]

    # -- the API --------------------------------------------------------------------------

    def request(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        handler = self._operations().get(operation)
        with self._lock:
            self._calls[operation] += 1
            if handler is None:
                raise ApiError("UnknownOperation", f"there is no operation {operation}")
            token = params.get("clientToken")
            if not operation.startswith(("Create", "Update", "Delete")):
                return handler(params)
            if not isinstance(token, str) or not token:
                raise ApiError("MissingParameter", "clientToken is required")
            sent = {k: v for k, v in params.items() if k != "clientToken"}
            earlier = self._tokens.get((operation, token))
            if earlier is not None:
                if earlier[0] != sent:
                    raise ApiError("TokenReuse", f"clientToken {token} was used with other parameters")
                return earlier[1]
            answer = handler(sent)
            self._tokens[(operation, token)] = (sent, answer)
            return answer

    def _operations(self) -> dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]]:
        return {
            "ListRouterBgps": lambda p: self._list(ROUTER_PREFIX, p, ("routerId",)),
            "ListBgpNeighbors": lambda p: self._list(NEIGHBOR_PREFIX, p, ("routerId", "groupId")),
            "GetRouterBgp": lambda p: self._get(ROUTER_PREFIX, p),
            "GetBgpNeighbor": lambda p: self._get(NEIGHBOR_PREFIX, p),
            "CreateRouterBgp": self._create_router_bgp,
            "CreateBgpNeighbor": self._create_neighbor,
            "UpdateRouterBgp": self._update_router_bgp,
            "UpdateBgpNeighbor": self._update_neighbor,
            "DeleteRouterBgp": lambda p: self._delete(ROUTER_PREFIX, p),
            "DeleteBgpNeighbor": lambda p: self._delete(NEIGHBOR_PREFIX, p),
        }

    # reads

    def _observe(self, record: _Record) -> bool:
        """One read of `record`: a changing object moves on after `settle_polls` reads. False
        when it is gone."""
        if record.status in CHANGING:
            if record.polls_left > 0:
                record.polls_left -= 1
            elif record.next_status is None:
                del self._records[record.id]
                return False
            else:
                record.status, record.since = record.next_status, _now()
        return True

    def _view(self, record: _Record) -> dict[str, Any]:
        item: dict[str, Any] = {"id": record.id, **record.fields, "status": record.status, "since": record.since}
        if record.key is not None:
            item["md5Key"] = record.key
        if record.id.startswith(NEIGHBOR_PREFIX):
            up = record.status in ("Active", "Updating") and record.fields["enabled"] == "true"
            item["session"] = record.session_override or ("Established" if up else "Idle")
        return item

    def _list(self, prefix: str, params: Mapping[str, Any], filters: tuple[str, ...]) -> dict[str, Any]:
        size = min(int(params.get("pageSize") or self.settings.max_page_size), self.settings.max_page_size)
        after = int(params.get("pageToken") or 0)
        matching = [
            r
            for r in sorted(self._records.values(), key=lambda r: r.seq)
            if r.id.startswith(prefix)
            and r.seq > after
            and all(r.fields[f] == params[f] for f in filters if params.get(f))
        ]
        items: list[dict[str, Any]] = []
        examined = 0
        for record in matching:
            if len(items) == size:
                break
            examined += 1
            if self._observe(record):
                items.append(self._view(record))
        more = examined < len(matching)
        return {"items": items, "nextPageToken": str(matching[examined - 1].seq) if more else None}

    def _get(self, prefix: str, params: Mapping[str, Any]) -> dict[str, Any]:
        record = self._records.get(str(params.get("id")))
        if record is None or not record.id.startswith(prefix) or not self._observe(record):
            raise ApiError("NotFound", f"{params.get('id')} does not exist")
        return self._view(record)

    # writes

    def _new(self, prefix: str, fields: dict[str, str], key: str | None = None) -> dict[str, Any]:
        seq = next(self._seq)
        record = _Record(f"{prefix}{seq:06d}", seq, fields, key, polls_left=self.settings.settle_polls, since=_now())
        self._records[record.id] = record
        return {"id": record.id}

    def _change(self, record: _Record, status: str, next_status: str | None) -> None:
        record.status, record.next_status, record.since = status, next_status, _now()
        record.polls_left = self.settings.settle_polls

    def _existing(self, cloud_id: Any, prefix: str) -> _Record:
        record = self._records.get(str(cloud_id))
        if record is None or not record.id.startswith(prefix):
            raise ApiError("NotFound", f"{cloud_id} does not exist")
        return record

    def _settled(self, record: _Record) -> _Record:
        if record.status == "Deleting":
            raise ApiError("Deleting", f"{record.id} is being deleted")
        if record.status in CHANGING:
            raise ApiError("Busy", f"{record.id} is {record.status}: try again once it is Active", record.id)
        return record

    def _live(self, prefix: str, **fields: str) -> list[_Record]:
        return [
            r
            for r in self._records.values()
            if r.id.startswith(prefix) and r.status != "Deleting" and all(r.fields[k] == v for k, v in fields.items())
        ]

    def _create_router_bgp(self, params: Mapping[str, Any]) -> dict[str, Any]:
        router, name = str(params.get("routerId") or ""), str(params.get("name") or "")
        if not router.startswith("rtr-") or not name:
            raise ApiError("InvalidParameter", "routerId (rtr-...) and name are required")
        fields = {
            "routerId": router,
            "name": name,
            "localAsn": _asn(params, "localAsn"),
            "peerAsn": _asn(params, "peerAsn"),
            "description": str(params.get("description") or ""),
        }
        if self._live(ROUTER_PREFIX, routerId=router, name=name):
            raise ApiError("Conflict", f"router {router} already has a BGP process named {name}")
        return self._new(ROUTER_PREFIX, fields, _key(params.get("md5Key")))

    def _create_neighbor(self, params: Mapping[str, Any]) -> dict[str, Any]:
        group = self._existing(params.get("groupId"), ROUTER_PREFIX)
        self._settled(group)
        try:
            peer_ip = str(ipaddress.ip_address(str(params.get("peerIp"))))
        except ValueError:
            raise ApiError("InvalidParameter", "peerIp must be an IP address") from None
        if self._live(NEIGHBOR_PREFIX, groupId=group.id, peerIp=peer_ip):
            raise ApiError("Conflict", f"{group.id} already has a neighbour {peer_ip}")
        fields = {
            "groupId": group.id,
            "routerId": group.fields["routerId"],
            "peerIp": peer_ip,
            "enabled": _text(params.get("enabled", True)),
        }
        return self._new(NEIGHBOR_PREFIX, fields)

    def _update_router_bgp(self, params: Mapping[str, Any]) -> dict[str, Any]:
        record = self._settled(self._existing(params.get("id"), ROUTER_PREFIX))
        fields = dict(record.fields)
        for name in ("localAsn", "peerAsn"):
            if name in params:
                fields[name] = _asn(params, name)
        if "description" in params:
            fields["description"] = str(params["description"] or "")
        unknown = set(params) - {"id", "localAsn", "peerAsn", "description", "md5Key"}
        if unknown:
            raise ApiError("InvalidParameter", f"{', '.join(sorted(unknown))} cannot be changed in place")
        record.fields = fields
        if "md5Key" in params:
            record.key = _key(params["md5Key"])
        self._change(record, "Updating", "Active")
        return {"id": record.id}

    def _update_neighbor(self, params: Mapping[str, Any]) -> dict[str, Any]:
        record = self._settled(self._existing(params.get("id"), NEIGHBOR_PREFIX))
        unknown = set(params) - {"id", "enabled"}
        if unknown:
            raise ApiError("InvalidParameter", f"{', '.join(sorted(unknown))} cannot be changed in place")
        if "enabled" in params:
            record.fields = {**record.fields, "enabled": _text(params["enabled"])}
        self._change(record, "Updating", "Active")
        return {"id": record.id}

    def _delete(self, prefix: str, params: Mapping[str, Any]) -> dict[str, Any]:
        record = self._existing(params.get("id"), prefix)
        if record.status == "Deleting":
            return {"id": record.id}
        self._settled(record)
        neighbors = [r for r in self._records.values() if r.fields.get("groupId") == record.id]
        staying = [r.id for r in neighbors if r.status != "Deleting"]
        if staying:
            raise ApiError("HasNeighbors", f"{record.id} still has neighbours {', '.join(sorted(staying))}")
        if neighbors:
            message = f"the neighbours of {record.id} are still being deleted"
            raise ApiError("NeighborsDeleting", message, neighbors[0].id)
        self._change(record, "Deleting", None)
        return {"id": record.id}


STORE = MemStore()  # the one cloud of this process

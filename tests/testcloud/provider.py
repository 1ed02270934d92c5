"""The test cloud's provider: the `Provider` protocol over the in-memory API (`store.STORE`).

Refresh and `find` use the list operations only, page by page; `get` and `poll` read objects by
id. A mutation of an object that is still changing (or a neighbour of a process that is) is
answered with `Busy`, never waited for here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.clouds.base import Busy, Desired, ObjectRef, ProviderOptions, RefreshResult, RefreshScope
from reconciler.clouds.counters import CallCounter
from reconciler.errors import ProviderError, ResourceNotFound
from reconciler.model import LiveObject, SecretValue, Status
from tests.testcloud.kinds import CLOUD_NAME, KEY_FIELD, KIND_INFO, NEIGHBOR, ROUTER_BGP
from tests.testcloud.scope import MemScope
from tests.testcloud.store import NEIGHBOR_PREFIX, STORE, ApiError, MemStore

# The operations of each kind, by what they do.
LIST = {ROUTER_BGP: "ListRouterBgps", NEIGHBOR: "ListBgpNeighbors"}
LIST_OPERATIONS = frozenset(LIST.values())
GET = {ROUTER_BGP: "GetRouterBgp", NEIGHBOR: "GetBgpNeighbor"}
CREATE = {ROUTER_BGP: "CreateRouterBgp", NEIGHBOR: "CreateBgpNeighbor"}
UPDATE = {ROUTER_BGP: "UpdateRouterBgp", NEIGHBOR: "UpdateBgpNeighbor"}
DELETE = {ROUTER_BGP: "DeleteRouterBgp", NEIGHBOR: "DeleteBgpNeighbor"}

STATUS: Mapping[str, Status] = {"Creating": "pending", "Updating": "pending", "Active": "ready", "Deleting": "deleting"}
HINTS: Mapping[str, str] = {
    "Conflict": "an object with this natural key exists: import it (reconciler import) instead",
    "HasNeighbors": "delete its neighbours first (remove them from the manifests too)",
    "TokenReuse": "the manifests changed after the plan was made: run plan again",
}


def kind_of(cloud_id: str) -> str:
    return NEIGHBOR if cloud_id.startswith(NEIGHBOR_PREFIX) else ROUTER_BGP


def to_object(kind: str, item: Mapping[str, Any]) -> LiveObject:
    """An API item (every value text) as a LiveObject in manifest vocabulary."""
    info = KIND_INFO[kind]
    secrets: dict[str, SecretValue | None] = {}
    if kind == ROUTER_BGP:
        secrets[KEY_FIELD] = SecretValue(str(item[KEY_FIELD])) if item.get(KEY_FIELD) else None
    return LiveObject(
        kind=kind,
        cloud_id=str(item["id"]),
        region=None,
        attrs=info.normalise({name: item.get(name) for name in info.fields}),
        status=STATUS.get(str(item["status"]), "pending"),
        raw_status=str(item["status"]),
        secrets=secrets,
        session=item.get("session"),
        session_since=item.get("since") if kind == NEIGHBOR else None,
    )


class MemProvider:
    """Provider for `MemRouterBgp` and `MemBgpNeighbor`."""

    name = CLOUD_NAME

    def __init__(self, store: MemStore = STORE, options: ProviderOptions | None = None, page_size: int = 100) -> None:
        self.store = store
        self.options = options or ProviderOptions()
        self.page_size = page_size
        self._counter = CallCounter()

    # -- plumbing --------------------------------------------------------------------------

    def _request(self, operation: str, **params: Any) -> dict[str, Any]:
        """One request; ApiError as the API raised it."""
        self._counter.add(operation)
        return self.store.request(operation, params)

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One request; a refusal as a ProviderError."""
        try:
            return self._request(operation, **params)
        except ApiError as error:
            raise self._error(operation, error) from None

    @staticmethod
    def _error(operation: str, error: ApiError) -> ProviderError:
        cls = ResourceNotFound if error.code == "NotFound" else ProviderError
        return cls(
            f"memcloud {operation} failed: {error.code}: {error.message}",
            cloud=CLOUD_NAME,
            codes=[error.code],
            messages=[error.message],
            hint=HINTS.get(error.code),
        )

    def _list(self, kind: str, **filters: str) -> list[LiveObject]:
        objects: list[LiveObject] = []
        token: str | None = None
        while True:
            page = self._call(LIST[kind], pageSize=self.page_size, pageToken=token, **filters)
            objects += [to_object(kind, item) for item in page["items"]]
            token = page["nextPageToken"]
            if not token:
                return objects

    # -- reads -----------------------------------------------------------------------------

    def refresh(self, scope: RefreshScope) -> RefreshResult:
        """Processes and neighbours of every router in scope, by list pages."""
        before = self._counter.snapshot()
        routers = sorted(scope.routers) if isinstance(scope, MemScope) else []
        kinds = [k for k in (ROUTER_BGP, NEIGHBOR) if not scope.kinds or k in scope.kinds]
        objects = tuple(obj for router in routers for kind in kinds for obj in self._list(kind, routerId=router))
        return RefreshResult(objects=objects, api_calls=self._counter.since(before))

    def get(self, ref: ObjectRef) -> LiveObject | None:
        try:
            return to_object(ref.kind, self._call(GET[ref.kind], id=ref.cloud_id))
        except ResourceNotFound:
            return None

    def poll(self, refs: Sequence[ObjectRef]) -> dict[str, LiveObject | None]:
        return {ref.cloud_id: self.get(ref) for ref in refs}

    def find(self, kind: str, attrs: Mapping[str, Any]) -> LiveObject | None:
        """A process by router + name, a neighbour by process + address; not one being deleted."""
        info = KIND_INFO[kind]
        wanted = info.normalise(attrs)
        if kind == ROUTER_BGP:
            candidates = self._list(kind, routerId=str(wanted["routerId"]))
        else:
            candidates = self._list(kind, groupId=str(wanted["groupId"]))
        found = [c for c in candidates if info.key_of(c.attrs) == info.key_of(wanted) and c.status != "deleting"]
        return found[0] if found else None

    # -- writes ----------------------------------------------------------------------------

    def create(self, desired: Desired, token: str) -> str | Busy:
        attrs = KIND_INFO[desired.kind].normalise(desired.attrs)
        params: dict[str, Any]
        if desired.kind == ROUTER_BGP:
            params = {
                "routerId": attrs["routerId"],
                "name": attrs.get("name") or desired.name,
                "localAsn": attrs["localAsn"],
                "peerAsn": attrs["peerAsn"],
                "description": attrs["description"],
            }
            key = desired.secrets.get(KEY_FIELD)
            if key is not None:
                params[KEY_FIELD] = key.reveal()
        else:
            params = {"groupId": attrs["groupId"], "peerIp": attrs["peerIp"], "enabled": attrs["enabled"]}
        try:
            return str(self._request(CREATE[desired.kind], clientToken=token, **params)["id"])
        except ApiError as error:
            return self._busy(CREATE[desired.kind], error)

    def update(self, ref: ObjectRef, desired: Desired, changed: Sequence[str], token: str) -> Busy | None:
        info = KIND_INFO[ref.kind]
        fixed = sorted(set(changed) & info.replace_only)
        if fixed:
            raise ProviderError(
                f"{', '.join(fixed)} of {ref.kind} {ref.cloud_id} cannot change in place; the plan must replace it",
                cloud=CLOUD_NAME,
            )
        attrs = info.normalise(desired.attrs)
        changes: dict[str, Any] = {name: attrs.get(name) for name in changed if name in info.fields}
        if KEY_FIELD in changed:
            key = desired.secrets.get(KEY_FIELD)
            changes[KEY_FIELD] = key.reveal() if key is not None else ""  # "" removes the key
        if not changes:
            return None
        try:
            self._request(UPDATE[ref.kind], id=ref.cloud_id, clientToken=token, **changes)
        except ApiError as error:
            return self._busy(UPDATE[ref.kind], error)
        return None

    def delete(self, ref: ObjectRef, token: str) -> Busy | None:
        """Already gone, or already being deleted, is a success."""
        try:
            self._request(DELETE[ref.kind], id=ref.cloud_id, clientToken=token)
        except ApiError as error:
            if error.code == "NotFound":
                return None
            return self._busy(DELETE[ref.kind], error)
        return None

    def _busy(self, operation: str, error: ApiError) -> Busy:
        """A refusal that means "not yet" as `Busy`; any other one raised as a ProviderError."""
        if error.code not in ("Busy", "NeighborsDeleting"):
            raise self._error(operation, error) from None
        wait_for = ObjectRef(kind_of(error.blocking), error.blocking, None) if error.blocking else None
        return Busy(error.message, wait_for=wait_for, retry_after=0.1)

    def api_calls(self) -> Mapping[str, int]:
        return self._counter.snapshot()

    def close(self) -> None:
        pass

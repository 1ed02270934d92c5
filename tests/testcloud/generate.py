"""`reconciler generate --scope memcloud=ROUTER`: the test cloud's processes and neighbours on
the routers named, as drafts (one file per router)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.errors import UsageError
from reconciler.generate.draft import Draft, address_order
from reconciler.model import LiveObject
from tests.testcloud.kinds import KEY_FIELD, NEIGHBOR, ROUTER, ROUTER_BGP
from tests.testcloud.scope import KINDS, MemScope


def routers(args: Sequence[str]) -> frozenset[str]:
    for arg in args:
        if not arg.strip():
            raise UsageError("--scope memcloud= needs a router id", hint="e.g. --scope memcloud=r1")
    return frozenset(arg.strip().lower() for arg in args)


def generate_scope(args: Sequence[str]) -> MemScope:
    return MemScope(kinds=KINDS, routers=routers(args))


def drafts(args: Sequence[str], live: Sequence[LiveObject]) -> list[Draft]:
    wanted = routers(args)
    out: list[Draft] = []
    for obj in live:
        router = str(obj.attrs.get("routerId"))
        if router not in wanted or obj.status == "deleting":
            continue
        if obj.kind == ROUTER_BGP:
            spec: dict[str, Any] = {"routerId": router}
            spec |= {
                f: obj.attrs[f]
                for f in ("localAsn", "peerAsn", "description")
                if f in obj.attrs and obj.attrs[f] != ROUTER.defaults.get(f, ...)
            }
            out.append(
                Draft(
                    live=obj,
                    names=(str(obj.attrs.get("name") or ""), router),
                    spec=spec,
                    file=f"memcloud/{router}.yaml",
                    order=(obj.cloud_id, "0"),
                    key_field=KEY_FIELD,
                    describe=f"process on {router}",
                    name_attr="name",
                )
            )
        elif obj.kind == NEIGHBOR:
            peer_ip = str(obj.attrs.get("peerIp"))
            neighbour: dict[str, Any] = {"peerIp": peer_ip}
            if obj.attrs.get("enabled") is False:
                neighbour["enabled"] = False
            out.append(
                Draft(
                    live=obj,
                    names=(f"{router}-{peer_ip}",),
                    spec=neighbour,
                    file=f"memcloud/{router}.yaml",
                    order=(str(obj.attrs.get("groupId")), "1", address_order(peer_ip)),
                    refs={"group": str(obj.attrs.get("groupId"))},
                    describe=f"neighbour {peer_ip} on {router}",
                )
            )
    return out

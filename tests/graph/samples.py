"""Resources for the graph tests: two linked sessions (an Equinix config and an Alibaba peer), an
unlinked Equinix config, and names no diagram may let through."""

from __future__ import annotations

from dataclasses import replace

from reconciler.model import Resource
from tests.builders import CONN, CONN_OTHER, VBR, equinix, group, peer

# A name with everything that could end a label, start a directive or a link, or add a line.
HOSTILE = 'x"] --> evil\n%%{init: {}}%%\nclick n0 href "javascript:alert(1)" `md` <b>&#quot; ]]) ;\\N'


def linked(link: str = "sg-ne1-alibaba") -> tuple[Resource, ...]:
    """EquinixBgpPeering/sg-ne1 <-> AlibabaBgpPeer/sg-vbr1-p1 (in AlibabaBgpGroup/sg-vbr1), and
    EquinixBgpPeering/sg-ne2 alone on another connection."""
    return (
        replace(equinix("sg-ne1", key="NeverShownKey1"), labels={"link": link}),
        group("sg-vbr1", VBR),
        replace(peer("sg-vbr1-p1", "sg-vbr1"), labels={"link": link}),
        equinix("sg-ne2", CONN_OTHER),
    )


__all__ = ["CONN", "CONN_OTHER", "HOSTILE", "VBR", "linked"]

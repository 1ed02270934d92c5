"""A plan lets the manifests' documents go once it no longer reads them (`release_documents`)."""

from __future__ import annotations

from pathlib import Path

import yaml

from reconciler.manifest import load_manifests
from tests.manifest.builders import equinix, group, peer


def test_released_manifests_keep_their_resources_and_hold_no_document(tmp_path: Path) -> None:
    (tmp_path / "bgp.yaml").write_text(yaml.safe_dump_all([group(), peer(), equinix()], sort_keys=False))
    manifests = load_manifests([tmp_path])
    assert manifests.ok, manifests.diagnostics
    assert len(manifests.checked) == 3 and len(manifests.documents_by_address()) == 3
    manifests.release_documents()
    assert list(manifests.checked) == [] and dict(manifests.documents_by_address()) == {}
    assert [r.address for r in manifests.resources] == [
        "AlibabaBgpGroup/sg-vbr1",
        "AlibabaBgpPeer/sg-vbr1-peer1",
        "EquinixBgpPeering/sg-ne1-to-alibaba",
    ]

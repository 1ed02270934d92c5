"""Which region each object of a Terraform state is in, found read-only.

A kind with a region field (`KindInfo.region_field`) needs its region to be managed, and a
Terraform state does not always say it: provider attributes may leave it out, and a state of
format 4 names the provider configuration of a resource (`provider[...].alias`) but not that
configuration's region. The region of every object without one is found by listing the given
regions, and those any object's own attributes name, with the provider's list APIs (its
`refresh`, a few pages per region and kind, never one call per object). An object found is
placed in the region it was listed in; one not found is reported with the regions looked in and
its provider configuration, whose region the user may then give.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reconciler.clouds.base import Cloud, Provider
from reconciler.model import Resource, StateDoc
from reconciler.terraform.objects import TerraformObject


@dataclass(frozen=True, slots=True)
class Unplaced:
    """An object whose region could not be found, and why."""

    address: str
    cloud_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Placement:
    placed: tuple[TerraformObject, ...]
    unplaced: tuple[Unplaced, ...]
    regions: tuple[str, ...]  # the regions listed


def place_in_regions(
    objects: Sequence[TerraformObject], cloud: Cloud, provider: Provider, regions: Iterable[str]
) -> Placement:
    """`objects` of `cloud`, each with its region: the given `regions` and those the objects name
    are listed once (no call when no object lacks a region); objects of kinds without a region
    field are placed as they are."""
    region_fields = {info.kind: info.region_field for info in cloud.kinds if info.region_field}
    unknown = [obj for obj in objects if obj.live.kind in region_fields and not obj.live.region]
    named = {obj.live.region for obj in objects if obj.live.kind in region_fields and obj.live.region}
    listed = tuple(sorted(set(regions) | {region for region in named if region}))
    if not unknown:
        return Placement(tuple(objects), (), ())
    found: dict[tuple[str, str], str] = {}
    if listed:
        # The scope that manifests declaring these kinds in these regions would need listed.
        wanted = [
            Resource(kind=kind, name="placement", attrs={field: region})
            for kind, field in region_fields.items()
            for region in listed
        ]
        result = provider.refresh(cloud.refresh_scope(wanted, StateDoc()))
        found = {(live.kind, live.cloud_id): live.region for live in result.objects if live.region}
    placed: list[TerraformObject] = []
    unplaced: list[Unplaced] = []
    for obj in objects:
        field = region_fields.get(obj.live.kind)
        if field is None or obj.live.region:
            placed.append(obj)
            continue
        region = found.get((obj.live.kind, obj.live.cloud_id))
        if region is None:
            unplaced.append(Unplaced(obj.address, obj.live.cloud_id, _why_not_found(obj, listed)))
            continue
        live = dataclasses.replace(obj.live, region=region, attrs={**obj.live.attrs, field: region})
        placed.append(dataclasses.replace(obj, live=live))
    return Placement(tuple(placed), tuple(unplaced), listed)


def _why_not_found(obj: TerraformObject, listed: Sequence[str]) -> str:
    config = f"the region of its provider configuration ({obj.provider_config}) is not in the Terraform state"
    if not listed:
        return f"no region was given to look for it in; {config}"
    return f"not found in {', '.join(listed)}; {config}"

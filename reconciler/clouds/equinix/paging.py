"""Paging `GET /ne/v1/bgp` (docs/cloud-apis.md, Equinix §4).

The server may cap `limit` below what was asked, and its sort order is unknown: paging advances by
what came back, never by what was asked, and items are de-duplicated by uuid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.clouds.counters import map_bounded
from reconciler.clouds.equinix.configs import Item, item_uuid

PAGE_SIZE = 100  # what we ask for; the server may cap it


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Item]
    total: int

    def pages_in_all(self) -> int | None:
        """How many pages of this one's size the whole list takes (None for an empty page)."""
        return math.ceil(self.total / len(self.items)) if self.items else None


def parse_page(body: Any) -> Page:
    """A list reply: `{pagination, data}`, or a bare array without the envelope."""
    if isinstance(body, list):  # no envelope: everything in one reply
        return Page([i for i in body if isinstance(i, dict)], len(body))
    if not isinstance(body, dict):
        return Page([], 0)
    items = [i for i in body.get("data") or [] if isinstance(i, dict)]
    pagination = body.get("pagination")
    raw_total = pagination.get("total") if isinstance(pagination, dict) else None
    try:
        total = int(str(raw_total))  # the spec types it as a string; the docs show an int
    except ValueError:
        total = len(items)
    return Page(items, total)


def dedupe(items: Iterable[Item]) -> list[Item]:
    """One item per uuid (the last one seen), in first-seen order."""
    seen: dict[str, Item] = {}
    for item in items:
        seen[item_uuid(item)] = item
    return list(seen.values())


def read_rest(fetch_page: Callable[[int], Page], first: Page, max_in_flight: int) -> list[Item]:
    """Every item after `first` (the page at offset 0), with `first`'s own.

    The first page gave the total and the page size the server really uses; the other offsets
    are fetched concurrently (at most `max_in_flight` at a time), then checked: if a page came
    back short, paging goes on sequentially from there, so no item is ever skipped.
    """
    items = list(first.items)
    step, total = len(first.items), first.total
    if step == 0 or step >= total:
        return items
    offsets = list(range(step, total, step))
    pages = map_bounded(fetch_page, offsets, max_in_flight)
    resume_at: int | None = None
    for offset, page in zip(offsets, pages, strict=True):
        items.extend(page.items)
        total = max(total, page.total)
        is_short = len(page.items) < step and offset + len(page.items) < total
        if resume_at is None and is_short:
            resume_at = offset + len(page.items)
    offset = resume_at if resume_at is not None else total
    while offset < total:
        page = fetch_page(offset)
        if not page.items:
            break
        items.extend(page.items)
        offset += len(page.items)
        total = page.total
    return dedupe(items)

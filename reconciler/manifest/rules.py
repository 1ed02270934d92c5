"""The rules JSON Schema cannot express. Here are the rules of every kind (unique names, accepted
drift); each cloud adds its own (`Cloud.document_rules`, `Cloud.manifest_rules`: addresses,
quotas, natural keys, references), and `manifest.links` checks the two ends of one session.
Each rule skips a field whose schema check failed (it was reported).
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Iterable, Iterator, Sequence

from reconciler.clouds import CLOUDS, cloud_of
from reconciler.clouds.base import DocumentRule
from reconciler.manifest import jsonpath
from reconciler.manifest.checked import Checked
from reconciler.manifest.diagnostics import Diagnostic
from reconciler.manifest.links import link_diagnostics
from reconciler.manifest.schema import spec_fields


def document_diagnostics(docs: Iterable[Checked]) -> list[Diagnostic]:
    """The problems each document has on its own: its cloud's rules for one document of its kind,
    and its accepted drift. They depend on the document alone, so the manifest cache stores only
    files whose documents have none, and their documents are not checked again (`cache.py`)."""
    diags: list[Diagnostic] = []
    rules_of: dict[str, tuple[DocumentRule, ...]] = {}
    for checked in docs:
        rules = rules_of.get(checked.kind)
        if rules is None:
            rules = rules_of[checked.kind] = tuple(cloud_of(checked.kind).document_rules(checked.kind))
        for rule in rules:
            diags.extend(rule(checked))
        diags.extend(_drift_ignore(checked))
    return diags


def corpus_diagnostics(docs: Sequence[Checked], complete: bool) -> list[Diagnostic]:
    """The problems across documents: names, each cloud's rules over all its documents, and the
    two ends of each session. `complete` is False when some documents could not be read: then
    the checks that report something *missing* (a reference, the other end of a link) are
    skipped, since the missing thing may be in a document we could not read."""
    diags: list[Diagnostic] = list(_duplicate_names(docs))
    for cloud in CLOUDS.values():
        for manifest_rule in cloud.manifest_rules():
            diags.extend(manifest_rule(docs, complete))
    diags.extend(link_diagnostics(docs, complete))
    return diags


def _drift_ignore(checked: Checked) -> Iterator[Diagnostic]:
    items = checked.get("metadata.driftIgnore")
    if not isinstance(items, list) or not checked.ok("metadata.driftIgnore"):
        return
    fields = spec_fields(checked.kind)
    for index, item in enumerate(items):
        item_path = jsonpath.child("metadata.driftIgnore", index)
        if not checked.ok(item_path):
            continue
        name, name_path = (item, item_path) if isinstance(item, str) else (item.get("field"), f"{item_path}.field")
        if isinstance(name, str) and name not in fields:
            guess = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
            did_you_mean = f"; did you mean {guess[0]}?" if guess else ""
            yield checked.diag(
                name_path,
                f"{name!r} is not a spec field of {checked.kind}{did_you_mean} (fields: {', '.join(fields)})",
                "drift-ignore",
            )
        expires = item.get("expires") if isinstance(item, dict) else None
        if isinstance(expires, str):
            try:
                datetime.date.fromisoformat(expires)
            except ValueError:
                yield checked.diag(
                    f"{item_path}.expires", f"{expires!r} is not a real date (YYYY-MM-DD)", "drift-ignore"
                )


def _duplicate_names(docs: Sequence[Checked]) -> Iterator[Diagnostic]:
    first: dict[tuple[str, str], Checked] = {}
    for checked in docs:
        if checked.name is None:
            continue
        key = (checked.kind, checked.name)
        if key in first:
            yield checked.diag(
                "metadata.name",
                f"{checked.address} is already defined at {first[key].at('metadata.name')}: names are unique per kind",
                "duplicate-name",
            )
        else:
            first[key] = checked

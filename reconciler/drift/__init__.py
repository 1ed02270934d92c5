"""Drift: what changed outside reconciler, and how the BGP sessions are doing (pure, read-only).

Three categories, driftctl style, plus session health, which no peer tool reports:
- changed: a managed object whose live configuration differs from what reconciler last applied
  (field by field, with the manifests' value beside it; secrets only as "(sensitive)");
- missing: in state, gone from the cloud (deleted outside reconciler);
- unmanaged: an object in scope that nothing manages. Scope is a level (`UnmanagedLevel`: what the
  manifests mention, the regions and devices they use, or the whole account), as each cloud
  defines it (`Cloud.unmanaged_scope`: the routers of the declared groups, the connections of the
  declared peerings...); the report carries the `reconciler generate` command that takes them;
- health: the live BGP session state of every managed object that has a session; anything but
  Established is a finding, kept apart from configuration drift (exit 2 only with
  `require_established`). Reports show it by session: the two managed ends of a link as one,
  with the routes received against the route limit (a warning from 80% of it).
Accepted drift (`metadata.driftIgnore`) is still listed, marked ignored: nothing is dropped silently
(docs/architecture.md, "Drift").

    report = detect(desired, state, live_objects, DriftOptions(refreshed_kinds=..., api_calls=...))

`model` holds the report, `compare` the comparisons and `detect`, `ignores` the accepted-drift
entries, `health` the session verdicts and `sessions` how they pair into sessions (the two managed
ends of a link as one) and how near each is to its route limit.
"""

from reconciler.drift.compare import DriftOptions, detect
from reconciler.drift.health import HEALTHY_SESSION
from reconciler.drift.model import (
    DRIFT_FORMAT_VERSION,
    Category,
    DriftField,
    DriftItem,
    DriftReport,
    HealthItem,
    IgnoredEntry,
)
from reconciler.drift.sessions import HEADROOM_PERCENT, BgpSession

__all__ = [
    "DRIFT_FORMAT_VERSION",
    "HEADROOM_PERCENT",
    "HEALTHY_SESSION",
    "BgpSession",
    "Category",
    "DriftField",
    "DriftItem",
    "DriftOptions",
    "DriftReport",
    "HealthItem",
    "IgnoredEntry",
    "detect",
]

"""Manifests from what is live: `reconciler generate` (brownfield onboarding).

Each cloud turns its live objects into `Draft` documents (`Cloud.generate`): the kind, the names
it would prefer, the spec without the key, the file it belongs in, its order there and what it
references. Everything else is generic and lives here: valid, unique manifest names with stable
suffixes (`names`), one environment variable per distinct key (`keys`), `labels.link` for the two
ends of a session that mirror each other (`links`, through each cloud's `link_end`), and
deterministic YAML with the schema header, `keys.env.example` and overwrite safety (`assemble`,
`files`), and recording the generated resources in state (`record`, for `generate --import` and
the Terraform migration). Nothing here names a cloud or a kind, and no key value is ever written.
"""

from __future__ import annotations

from reconciler.generate.assemble import Generated, GeneratedResource, assemble
from reconciler.generate.draft import Draft
from reconciler.generate.keys import KeyVariable

__all__ = ["Draft", "Generated", "GeneratedResource", "KeyVariable", "assemble"]

"""Cloud providers behind one small interface (compare Crossplane's `ExternalClient`).

The planner and the apply engine only see `Provider`; a third cloud is one new module plus one
line in `PROVIDERS`. Modules are imported lazily because the SDKs are slow to import and
`reconciler --help` must stay fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from reconciler.providers.base import (
    Desired,
    ObjectRef,
    Provider,
    ProviderOptions,
    RefreshResult,
    RefreshScope,
)

# provider name -> "module:factory"; the factory takes (env, options) and returns a Provider.
PROVIDERS: dict[str, str] = {
    "equinix": "reconciler.providers.equinix:EquinixProvider.from_env",
    "alibaba": "reconciler.providers.alibaba:AlibabaProvider.from_env",
}


def make_provider(name: str, env: Mapping[str, str], options: ProviderOptions) -> Provider:
    module_name, _, attr_path = PROVIDERS[name].partition(":")
    target: object = importlib.import_module(module_name)
    for part in attr_path.split("."):
        target = getattr(target, part)
    provider = target(env, options)  # type: ignore[operator]
    assert isinstance(provider, Provider)
    return provider


__all__ = [
    "PROVIDERS",
    "Desired",
    "ObjectRef",
    "Provider",
    "ProviderOptions",
    "RefreshResult",
    "RefreshScope",
    "make_provider",
]

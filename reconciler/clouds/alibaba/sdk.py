"""The Alibaba VPC SDK, imported once, and only the parts of it the provider uses.

`alibabacloud_vpc20160428.client` imports the SDK's `models` package, whose `__init__` imports
every model module of the VPC API (about 1,200 modules, 0.11 s of the SDK's 0.36 s of import) although
the provider names about a dozen. That package is entered here without running its `__init__`: its
module is made from the SDK's own spec (same name, same path), and each model is imported from
its own module the first time something names it, as PEP 562 allows. The client, the requests and
the responses stay the SDK's own classes; nothing in the SDK is changed. The rest (the tea and
darabonba stack, aiohttp, requests, the credential chain) is imported by the client module itself.

`load` is called once, by the thread that makes the provider, before any refresh thread starts:
twenty threads importing the SDK at once would only queue on the import locks.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
import sys
import threading
from dataclasses import dataclass
from types import ModuleType

MODELS = "alibabacloud_vpc20160428.models"
# One line of the models package's `__init__`: `from ._describe_bgp_groups_request import DescribeBgpGroupsRequest`.
_MODEL_LINE = re.compile(r"^from \.(\w+) import (\w+)$", re.MULTILINE)
# What else that `__init__` holds: comments, the `annotations` future import, and `__all__`.
_OTHER_STATEMENTS = re.compile(r"^#.*$|^from __future__ import annotations$|^__all__ = \[[^\]]*\]", re.MULTILINE)


@dataclass(frozen=True)
class Sdk:
    """The SDK modules the provider calls into."""

    vpc_client: ModuleType
    vpc_models: ModuleType
    openapi_models: ModuleType
    runtime: ModuleType


_lock = threading.Lock()


def load() -> Sdk:
    """The SDK, imported on the first call (by one thread: the others wait for it)."""
    with _lock:
        return _import()


@functools.cache
def _import() -> Sdk:
    models = sys.modules.get(MODELS) or _lazy_models()
    from alibabacloud_tea_openapi import models as openapi_models
    from alibabacloud_vpc20160428 import client as vpc_client
    from darabonba import runtime

    return Sdk(vpc_client, models, openapi_models, runtime)


def _lazy_models() -> ModuleType:
    """The models package, each model imported from its own module when first named. Falls back to
    the ordinary import when the package does not look as expected (another SDK version)."""
    spec = importlib.util.find_spec(MODELS)
    if spec is None or spec.origin is None or spec.loader is None or spec.submodule_search_locations is None:
        return importlib.import_module(MODELS)
    with open(spec.origin, encoding="utf-8") as init:
        text = init.read()
    index = {name: module for module, name in _MODEL_LINE.findall(text)}
    if not index or _OTHER_STATEMENTS.sub("", _MODEL_LINE.sub("", text)).strip():
        return importlib.import_module(MODELS)  # the `__init__` does more than import the models
    parent = importlib.import_module(MODELS.rpartition(".")[0])  # a version string only
    package = importlib.util.module_from_spec(spec)

    def model(name: str) -> object:
        module = index.get(name)
        if module is None:
            raise AttributeError(f"module {MODELS!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{MODELS}.{module}"), name)
        setattr(package, name, value)  # the next lookup is an ordinary attribute
        return value

    vars(package).update(__getattr__=model, __dir__=lambda: sorted(index))
    sys.modules[MODELS] = package
    setattr(parent, MODELS.rpartition(".")[2], package)
    return package

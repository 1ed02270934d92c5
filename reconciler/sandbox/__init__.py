"""Faithful local emulators of the Equinix Network Edge and Alibaba VPC BGP APIs (docs/sandbox.md).

    from reconciler.sandbox import Sandbox, SandboxConfig, FaultConfig, Seed, load_seed

    with Sandbox(load_seed("seed.yaml"), config=SandboxConfig(provision_delay=0.2)) as sandbox:
        env = sandbox.env()   # EQUINIX_API_ENDPOINT, ..., ALIBABA_CLOUD_VPC_ENDPOINT

    SandboxConfig() is the lenient profile; SandboxConfig.for_profile("realistic") (or
    profile_config) another one, and sandbox.configure(profile=...) switches a running sandbox.

docs/sandbox.md lists every knob and every choice made where the real API's behaviour is
unconfirmed (docs/cloud-apis.md, Unconfirmed facts).
"""

from reconciler.sandbox.config import PROFILES, FaultConfig, SandboxConfig, SandboxError, profile_config
from reconciler.sandbox.seed import Seed, SeedConnection, SeedDevice, SeedRegion, SeedVbr, load_seed
from reconciler.sandbox.server import AUTO, Sandbox, SandboxObjects, default_seed

__all__ = [
    "AUTO",
    "PROFILES",
    "FaultConfig",
    "Sandbox",
    "SandboxConfig",
    "SandboxError",
    "SandboxObjects",
    "Seed",
    "SeedConnection",
    "SeedDevice",
    "SeedRegion",
    "SeedVbr",
    "default_seed",
    "load_seed",
    "profile_config",
]

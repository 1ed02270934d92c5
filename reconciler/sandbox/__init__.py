"""Faithful local emulators of the Equinix Network Edge and Alibaba VPC BGP APIs (docs/sandbox.md).

    from reconciler.sandbox import Sandbox, SandboxConfig, FaultConfig, Seed, load_seed

    with Sandbox(load_seed("seed.yaml"), config=SandboxConfig(provision_delay=0.2)) as sandbox:
        env = sandbox.env()   # EQUINIX_API_ENDPOINT, ..., ALIBABA_CLOUD_VPC_ENDPOINT

docs/sandbox.md lists every knob and every choice made where the real API's behaviour is
unconfirmed (docs/cloud-apis.md, Unconfirmed facts).
"""

from reconciler.sandbox.config import FaultConfig, SandboxConfig, SandboxError
from reconciler.sandbox.seed import Seed, SeedConnection, SeedDevice, SeedRegion, SeedVbr, load_seed
from reconciler.sandbox.server import AUTO, Sandbox, SandboxObjects, default_seed

__all__ = [
    "AUTO",
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
]

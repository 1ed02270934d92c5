"""reconciler: declarative BGP peering for Equinix Network Edge and Alibaba Cloud Express Connect."""

__version__ = "0.1.0"

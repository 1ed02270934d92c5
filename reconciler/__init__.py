"""reconciler: declarative BGP peering across clouds (Terraform-style plan, apply and drift)."""

__version__ = "0.1.0"

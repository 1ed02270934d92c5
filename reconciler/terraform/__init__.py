"""Migration from Terraform: what `reconciler import --from-terraform` reads and says.

- `state`: reading a Terraform state (format 4; a file or standard input, bounded), its managed
  resource instances with their full addresses (modules, `count`, `for_each`);
- `objects`: the instances of the Terraform types the clouds register (`Cloud.terraform_types`)
  as the live objects their providers would report, and the groups of identical keys;
- `placement`: the region of each object, found read-only with list calls;
- `nextsteps`: the steps after a migration, `terraform state rm` commands and `removed` blocks.

Keys come out of the state only inside `SecretValue`s, to be grouped: never into text, files or
the reconciler state. The attribute mapping is documented in docs/migrating-from-terraform.md.
"""

from __future__ import annotations

from reconciler.terraform.nextsteps import next_steps, removed_blocks, shell_quoted, state_rm_commands
from reconciler.terraform.objects import (
    KeyGroup,
    KeyNaming,
    KeyUse,
    ReadObjects,
    TerraformObject,
    Unread,
    key_groups,
    read_objects,
    terraform_types,
)
from reconciler.terraform.placement import Placement, Unplaced, place_in_regions
from reconciler.terraform.state import (
    MAX_STATE_BYTES,
    TerraformInstance,
    TerraformState,
    TerraformStateError,
    parse_state,
    read_state,
)

__all__ = [
    "MAX_STATE_BYTES",
    "KeyGroup",
    "KeyNaming",
    "KeyUse",
    "Placement",
    "ReadObjects",
    "TerraformInstance",
    "TerraformObject",
    "TerraformState",
    "TerraformStateError",
    "Unplaced",
    "Unread",
    "key_groups",
    "next_steps",
    "parse_state",
    "place_in_regions",
    "read_objects",
    "read_state",
    "removed_blocks",
    "shell_quoted",
    "state_rm_commands",
    "terraform_types",
]

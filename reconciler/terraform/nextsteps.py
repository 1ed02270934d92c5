"""What to do after a migration from Terraform, as text: set the key variables, plan (no changes
expected), then make Terraform forget the resources without destroying them.

Terraform forgets an object with `terraform state rm ADDRESS` (any version), or, from Terraform
1.7, with a `removed` block in place of the resource block:

    removed {
      from = module.a.type.name
      lifecycle {
        destroy = false
      }
    }

A `removed` block names a resource block, never an instance (no `[0]` or `["k"]`, not even on a
module), and forgets every instance of it, in every instance of its module
(developer.hashicorp.com/terraform/language/state/remove). It is offered only for a resource
block whose every instance in the state was migrated; the others get `state rm` commands only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reconciler.terraform.objects import KeyGroup, TerraformObject
from reconciler.terraform.state import TerraformInstance


def shell_quoted(text: str) -> str:
    """`text` as one POSIX shell word, always single-quoted (addresses hold `"` and `[`)."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


def state_rm_commands(addresses: Iterable[str]) -> list[str]:
    return [f"terraform state rm {shell_quoted(address)}" for address in addresses]


def removed_blocks(migrated: Sequence[TerraformObject], instances: Sequence[TerraformInstance]) -> list[str]:
    """A `removed` block per resource block all of whose instances in the state were migrated."""
    done = {obj.address for obj in migrated}
    blocks: dict[str, bool] = {}
    for instance in instances:
        complete = blocks.get(instance.resource_address, True)
        blocks[instance.resource_address] = complete and instance.address in done
    wanted = {obj.resource_address for obj in migrated}
    return [
        f"removed {{\n  from = {address}\n  lifecycle {{\n    destroy = false\n  }}\n}}"
        for address, complete in blocks.items()
        if complete and address in wanted
    ]


def partly_migrated(migrated: Sequence[TerraformObject], instances: Sequence[TerraformInstance]) -> list[str]:
    """Resource blocks with migrated instances and others that were not."""
    done = {obj.address for obj in migrated}
    wanted = {obj.resource_address for obj in migrated}
    return list(
        dict.fromkeys(i.resource_address for i in instances if i.resource_address in wanted and i.address not in done)
    )


def next_steps(
    groups: Sequence[KeyGroup],
    migrated: Sequence[TerraformObject],
    instances: Sequence[TerraformInstance],
    plan_command: str,
) -> str:
    """The steps, as text. `instances` are every instance of the state (to tell whether a resource
    block was migrated whole); `plan_command` is the exact plan command to run."""
    lines = ["Next steps:", ""]
    step = 1
    if groups:
        lines.append(f"{step}. Set the key variables (each to the key the Terraform resources listed used):")
        for group in groups:
            lines.append(f"     {group.variable}  (used by {', '.join(group.addresses)})")
        lines.append("")
        step += 1
    lines += [f"{step}. Run `{plan_command}`: it should show no changes.", ""]
    step += 1
    if not migrated:
        return "\n".join(lines).rstrip() + "\n"
    lines += [
        f"{step}. Remove the resources from Terraform without destroying them, in either way:",
        "",
        "   a. with any Terraform version, in the Terraform working directory:",
        "",
    ]
    lines += [f"        {command}" for command in state_rm_commands(obj.address for obj in migrated)]
    blocks = removed_blocks(migrated, instances)
    if blocks:
        lines += [
            "",
            "   b. with Terraform 1.7 or later: delete each resource block below from the Terraform",
            "      configuration, add these blocks to its root module, then run `terraform plan` (it",
            "      should plan to forget them and destroy nothing) and `terraform apply`:",
            "",
        ]
        for block in blocks:
            lines += [f"        {line}" for line in block.splitlines()]
            lines.append("")
    partial = partly_migrated(migrated, instances)
    if partial:
        lines += [
            "",
            "   Only some instances of these resource blocks were migrated: a `removed` block would",
            "   forget them all, so use `terraform state rm` for them:",
            "",
        ]
        lines += [f"        {address}" for address in partial]
    return "\n".join(lines).rstrip() + "\n"

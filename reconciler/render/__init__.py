"""Turn a Plan into output: Terraform-like text, a pull-request comment, or versioned JSON.

```python
from reconciler.render import render_plan
print(render_plan(plan, "markdown"))
```

No I/O and no clock here: the same plan always renders to the same text.
"""

from __future__ import annotations

import os
import sys

from reconciler.errors import UsageError
from reconciler.plan.codec import plan_to_json
from reconciler.plan.model import Plan
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT, render_markdown
from reconciler.render.text import render_change_styled, render_change_text, render_field, render_text

FORMATS = ("text", "markdown", "json")


def color_wanted() -> bool:
    """Colour by default only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    if os.environ.get("NO_COLOR", ""):
        return False
    return sys.stdout.isatty()


def render_plan(
    plan: Plan,
    fmt: str = "text",
    *,
    color: bool | None = None,
    width: int | None = None,
    plan_file: str | None = None,
    max_chars: int = GITHUB_COMMENT_LIMIT,
) -> str:
    """Render `plan` as `text`, `markdown` or `json`; the result ends with a newline.

    `color` (text only): None means auto (`color_wanted()`). `width` (text only): wrap comment
    lines at this many columns (None: never wrap). `plan_file` names the saved plan in the
    markdown hints; `max_chars` is the markdown comment size limit.
    """
    if fmt == "text":
        return render_text(plan, color=color_wanted() if color is None else color, width=width)
    if fmt == "markdown":
        return render_markdown(plan, max_chars=max_chars, plan_file=plan_file)
    if fmt == "json":
        return plan_to_json(plan)
    raise UsageError(f"unknown output format {fmt!r}; valid formats: {', '.join(FORMATS)}")


__all__ = [
    "FORMATS",
    "color_wanted",
    "render_change_styled",
    "render_change_text",
    "render_field",
    "render_plan",
]

"""`render_plan`: format dispatch, automatic colour, determinism."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest

from reconciler.errors import UsageError
from reconciler.plan.codec import plan_to_json
from reconciler.render import color_wanted, render_plan
from reconciler.render.text import render_text
from tests.render.samples import sample_plan

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_formats_dispatch() -> None:
    plan = sample_plan()
    assert render_plan(plan, "text", color=False) == render_text(plan)
    assert render_plan(plan, "json") == plan_to_json(plan)
    assert render_plan(plan, "markdown").startswith("**Plan:** `+2 ~2 -1`")
    assert render_plan(plan) == render_text(plan)  # default: text, and no colour when not a terminal


def test_sample_plan_json_snapshot(snapshot: Callable[[str, str], None]) -> None:
    # Also the fixture plan file of the plan-file and `show` tests.
    snapshot("sample.plan.json", render_plan(sample_plan(), "json"))


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"unknown output format 'yaml'; valid formats: text, markdown, json"):
        render_plan(sample_plan(), "yaml")


def test_colour_is_automatic_on_a_terminal_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr("sys.stdout", _Terminal())
    assert color_wanted() is True
    assert ANSI.search(render_plan(sample_plan()))
    monkeypatch.setenv("NO_COLOR", "1")
    assert color_wanted() is False
    assert not ANSI.search(render_plan(sample_plan()))
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: an empty value does not count
    assert color_wanted() is True
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert color_wanted() is False


def test_explicit_colour_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    assert ANSI.search(render_plan(sample_plan(), color=True))


def test_output_is_deterministic_and_has_no_clock_in_the_text_body() -> None:
    plan = sample_plan()
    for fmt in ("text", "markdown", "json"):
        assert render_plan(plan, fmt, color=False) == render_plan(plan, fmt, color=False)
    assert "2025-01-31" not in render_plan(plan, "text")

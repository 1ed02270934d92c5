"""The suite's own fixtures (tests/conftest.py), on small suites run apart."""

from __future__ import annotations

import pytest

ONE_PROCESS = """
import io
from contextlib import redirect_stderr

from reconciler import log


def test_a_line_is_logged_before_any_configuration():  # structlog is imported with its defaults
    log.get_logger("tests").error("first")


def test_a_cli_run_in_process_logs_to_its_own_stderr():
    err = io.StringIO()
    with redirect_stderr(err):
        log.configure("text", False)  # what `main` does first
        log.get_logger("tests").error("inside")
    assert "inside" in err.getvalue()
    err.close()  # as a capture is, when its test ends


def test_a_later_test_logs_without_running_the_cli():
    log.get_logger("tests").error("after")
"""


def test_a_test_that_logs_after_an_in_process_cli_run_does_not_write_to_its_closed_stderr(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.conftest"]')
    pytester.makepyfile(test_logging=ONE_PROCESS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=3)

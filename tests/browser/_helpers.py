"""What the browser journeys share: playwright's ``expect`` and the steps of a CSV import.

Every browser test module imports ``expect`` from here: without playwright (a dev dependency)
importing this module skips the test module, except in CI, where it fails.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import Ui
from tests.support.env import IN_CI

try:
    from playwright.sync_api import expect
except ImportError:  # a dev dependency; without it the module is skipped, except in CI
    if IN_CI:
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)


def _wait_completed(ui: Ui) -> None:
    """The import ran to its end: "Completed", or "Completed with N failed" when some of its
    rows failed (the badge of one whose every row failed reads "Failed")."""
    page = ui.page
    expect(page.get_by_test_id("progress-percent")).to_have_text("100 %", timeout=90_000)
    expect(page.locator(".badge.status-completed")).to_have_text(
        re.compile(r"^Completed( with [\d,]+ failed)?$")
    )


def _start_csv_import(ui: Ui) -> None:
    """From the wizard's first step to the file step, choosing CSV and users."""
    page = ui.page
    page.get_by_label("CSV file").check()
    page.get_by_label("Users", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Upload your CSV file")).to_be_visible()

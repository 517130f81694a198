"""Every screen of the web UI through axe-core (issue 20), at desktop and phone size: no
violation of serious or critical impact. axe-core comes from npm (infra/npm, pinned; ``make
test`` installs it) and is injected into the page, as its documentation describes.

Each screen is reached the way a user reaches it, with data behind it: a finished import with
a failed row (history, its page, its changes), people, a person, a live message, the message
form, conflicts, the Connect page's two tabs, and the wizard's steps for a dropped file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser._helpers import _start_csv_import, expect
from tests.browser.conftest import NARROW, ROOT, WIDE, Ui, _ui
from tests.support.api import Api
from tests.support.env import IN_CI

AXE = ROOT / "infra" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
REPORTED = ("serious", "critical")
FILE = "Email,Name,Plan\nada@example.com,Ada,pro\nbob@example.com,Bob,free\nnot-an-email,Cy,pro\n"

_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}"""


@pytest.fixture(params=[WIDE, NARROW], ids=["desktop", "phone"])
def audited_ui(browser: Any, services: Any, request: pytest.FixtureRequest) -> Iterator[Ui]:
    """A context that lets playwright inject axe past the page's CSP (script-src 'self')."""
    yield from _ui(browser, services, request, request.param, bypass_csp=True)


@pytest.fixture(scope="module")
def axe_path() -> str:
    if not AXE.exists():
        message = f"{AXE} is missing: run 'WITH_BROWSER=1 scripts/provision.sh'"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return str(AXE)


class Audit:
    """Runs axe on each screen visited, collecting what it finds."""

    def __init__(self, ui: Ui, axe_path: str) -> None:
        self.ui, self.axe_path, self.found = ui, axe_path, []  # type: ignore[var-annotated]
        self.screens = 0

    def check(self, label: str) -> None:
        page = self.ui.page
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=self.axe_path)
        violations: list[dict[str, Any]] = page.evaluate(_RUN)
        self.screens += 1
        for v in violations:
            if v["impact"] in REPORTED:
                self.found.append(f"{label}: {v['id']} ({v['impact']}): {v['help']} — {v['nodes']}")

    def visit(self, label: str, path: str, heading: str) -> None:
        page = self.ui.page
        page.goto(f"{self.ui.base_url}/#{path}")
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        page.wait_for_load_state("networkidle")
        self.check(label)


def _data(workspace: Api) -> dict[str, Any]:
    finished = workspace.import_csv(
        FILE.encode(), tag="Axe", mapping={"email": "Email", "name": "Name"}
    )
    [ada] = workspace.all_users(email="ada@example.com")
    message = workspace.pro_message("Welcome")
    return {"import": finished["id"], "person": ada["id"], "message": message["id"]}


def _walk(ui: Ui, workspace: Api, axe_path: str) -> Audit:
    audit = Audit(ui, axe_path)
    page = ui.page
    page.goto(f"{ui.base_url}/")
    expect(page.get_by_role("heading", name="Sign in to Usher")).to_be_visible()
    audit.check("sign in")
    ui.sign_in(workspace.token)
    ids = _data(workspace)
    audit.check("import: method")
    _start_csv_import(ui)
    audit.check("import: file")
    ui.drop_file("#drop-zone", "people.csv", FILE)
    expect(page.get_by_role("heading", name="Check the preview")).to_be_visible()
    audit.check("import: preview")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Email (required)")).to_be_visible()
    audit.check("import: columns")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Tag", exact=True)).to_be_visible()
    audit.check("import: tag and confirm")
    for label, path, heading in (
        ("history", "/imports", "Import history"),
        ("import", f"/imports/{ids['import']}", "Import"),
        ("people", "/people", "People"),
        ("messages", "/messages", "Messages"),
        ("new message", "/messages/new", "New message"),
        ("conflicts", "/conflicts", "Conflicts"),
        ("connect: segment", "/connect", "Connect"),
        ("connect: intercom", "/connect?source=intercom", "Connect"),
    ):
        audit.visit(label, path, heading)
    for label, path in (
        ("import changes", f"/imports/{ids['import']}/changes"),
        ("person", f"/people/{ids['person']}"),
        ("message", f"/messages/{ids['message']}"),
    ):
        page.goto(f"{ui.base_url}/#{path}")
        expect(page.locator("main h1")).to_be_visible()
        page.wait_for_load_state("networkidle")
        audit.check(label)
    return audit


def test_every_screen(audited_ui: Ui, workspace: Api, axe_path: str) -> None:
    audit = _walk(audited_ui, workspace, axe_path)
    assert audit.screens == 17
    assert not audit.found, "\n".join(audit.found)

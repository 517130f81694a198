"""Browser fixtures: Debian's Chromium driven by Playwright against the four running services.

Chromium comes from the system (``apt-get install chromium``; ``make test`` provisions it with
``WITH_BROWSER=1``), never from ``playwright install``. Without it the browser tests are skipped,
except under ``CI=true``, where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.env import IN_CI

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("USHER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def chromium() -> str:
    """The browser's path, checked before the services start (they take half a minute)."""
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} not found; install it with 'apt-get install -y chromium'")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[dev]')")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: str, services: Any) -> Iterator[Any]:
    """Chromium for one test module.

    Playwright's sync API keeps its event loop marked as running while it is open, so the
    services (whose start-up runs ``asyncio.run``) start first, and the browser closes with the
    module: later modules' asyncio tests get a thread without a running loop.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        try:
            instance = pw.chromium.launch(
                executable_path=chromium, headless=True, args=CHROMIUM_ARGS
            )
        except Exception as exc:  # reported as a CI failure or a skip
            _missing(f"Chromium did not start: {exc}")
        yield instance
        instance.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_FAILED] = report.failed


_FAILED = pytest.StashKey[bool]()


class Ui:
    """One browser page on the UI, with the helpers the journeys share."""

    def __init__(self, page: Any, base_url: str, name: str) -> None:
        self.page = page
        self.base_url = base_url
        self.name = name
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                self.errors.append(f"console {msg.type}: {msg.text}")
                if msg.type == "error" and "Failed to load resource" not in msg.text
                else None
            ),
        )

    def shot(self, label: str) -> Path:
        """A full-page screenshot in tests/artifacts/ (git-ignored), after checking that no
        JavaScript value leaked into the page as text ("null", "undefined", "[object …]")."""
        leaked = self.page.evaluate(
            "() => (document.body.innerText.match("
            "/(?<![A-Za-z])(null|undefined|NaN)(?![a-z])|\\[object \\w+\\]/) || [null])[0]"
        )
        assert leaked is None, f"{label}: the page shows {leaked!r}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, token: str) -> None:
        page = self.page
        page.goto(f"{self.base_url}/")
        page.get_by_label("Workspace token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Import people", level=1).wait_for()

    def menu(self) -> Any:
        """The main navigation, opened (on a phone its links are behind a Menu button)."""
        main = self.page.get_by_role("navigation", name="Main")
        toggle = main.get_by_role("button", name="Menu")
        if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
            toggle.click()
        return main

    def nav(self, name: str) -> None:
        """Follow a link of the main navigation."""
        self.menu().get_by_role("link", name=name, exact=True).click()
        self.page.get_by_role("heading", name=name, level=1, exact=True).wait_for()

    def drop_file(self, selector: str, name: str, content: str, mime: str = "text/csv") -> None:
        """Drag and drop a file the way a browser does: a DataTransfer holding a File."""
        transfer = self.page.evaluate_handle(
            """([name, text, mime]) => {
                const transfer = new DataTransfer();
                transfer.items.add(new File([text], name, { type: mime }));
                return transfer;
            }""",
            [name, content, mime],
        )
        for event in ("dragenter", "dragover", "drop"):
            self.page.dispatch_event(selector, event, {"dataTransfer": transfer})

    def no_horizontal_scroll(self) -> int:
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= self.page.viewport_size["width"], f"page is {width}px wide"
        return width


def _context(browser: Any, viewport: dict[str, int], **options: Any) -> Any:
    return browser.new_context(viewport=viewport, accept_downloads=True, locale="en-GB", **options)


@pytest.fixture
def ui(browser: Any, services: Any, request: pytest.FixtureRequest) -> Iterator[Ui]:
    """A fresh 1280 px wide browser context (empty sessionStorage: signed out)."""
    yield from _ui(browser, services, request, WIDE)


@pytest.fixture
def narrow_ui(browser: Any, services: Any, request: pytest.FixtureRequest) -> Iterator[Ui]:
    """A 390 px wide context, like a phone."""
    yield from _ui(browser, services, request, NARROW)


def _ui(
    browser: Any,
    services: Any,
    request: pytest.FixtureRequest,
    viewport: dict[str, int],
    **options: Any,
) -> Iterator[Ui]:
    """A helper over a new context with ``options`` (playwright's ``new_context``)."""
    context = _context(browser, viewport, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    helper = Ui(page, services.base_url, name)
    yield helper
    if request.node.stash.get(_FAILED, False):
        try:
            helper.shot("FAILED")
        except Exception:  # the failure itself is what matters
            pass
    context.close()
    assert not helper.errors, "the page reported errors:\n" + "\n".join(helper.errors)


@pytest.fixture
def workspace(services: Any) -> Api:
    """A new workspace of its own for each test, with an API client holding its token."""
    return Api.new_workspace(services.base_url, "Browser test")

"""Browser fixtures: headless Chromium (the served app is tests/conftest.py's live_app)."""

import os
import shutil
from pathlib import Path

import pytest

from tests.browser.ids import IdGuard

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test`, which installs it")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


def _watched(page):
    """Console errors collected, and every load and swap checked for duplicated ids."""
    errors = []
    page.on("console", lambda msg: errors.append(f"{msg.text} @ {msg.location}") if msg.type == "error" else None)
    page.console_errors = errors
    page.ids = IdGuard(page)
    return page


@pytest.fixture
def browser_page(browser):
    page = _watched(browser.new_page(viewport=DESKTOP))
    yield page
    page.ids.check()


@pytest.fixture
def nojs_page(browser):
    """A page in a context with JavaScript off: forms post and links navigate, as in 1999."""
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = _watched(context.new_page())
    yield page
    page.ids.check()
    context.close()


def sign_in(page, base: str, email: str = "sam@example.com") -> None:
    page.goto(base + "/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()


class Shots:
    """Numbered screenshots of each step, to look at; each one also checks the page for
    duplicated ids. `both=True` adds a phone-width (390 px) shot of the same step."""

    def __init__(self, page, name):
        self.page, self.name, self.n = page, name, 0

    def __call__(self, step: str, both: bool = False):
        self.n += 1
        if hasattr(self.page, "ids"):
            self.page.ids.check()
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}-{self.n:02d}-{step}.png"), full_page=True)
        if both:
            size = self.page.viewport_size
            self.page.set_viewport_size(PHONE)
            self.page.screenshot(path=str(ARTIFACTS / f"{self.name}-{self.n:02d}-{step}-phone.png"), full_page=True)
            self.page.set_viewport_size(size)

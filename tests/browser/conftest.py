"""Browser fixtures: the app served on 127.0.0.1 by a real server thread, and headless Chromium."""
import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import make_app
from wallet_app.extensions import db
from wallet_app.services.audit import Actor
from wallet_app.services.operators import create_operator

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PASSWORD = "correct horse battery staple"


@pytest.fixture
def live_app(fresh_database_url):
    app = make_app(fresh_database_url(), WTF_CSRF_TIME_LIMIT=None)
    with app.app_context():
        create_operator("sam@example.com", PASSWORD, "support", actor=Actor("cli", "cli"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test`, which installs it")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        page.on("console", lambda msg: errors.append(f"{msg.text} @ {msg.location}") if msg.type == "error" else None)
        page.console_errors = errors
        yield page
        browser.close()


class Shots:
    """Numbered screenshots of each step, to look at."""

    def __init__(self, page, name):
        self.page, self.name, self.n = page, name, 0

    def __call__(self, step: str):
        self.n += 1
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}-{self.n:02d}-{step}.png"), full_page=True)

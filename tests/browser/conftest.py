"""Browser tests: Playwright for Python (sync API) driving the system Chromium against
pytest-django's live server.

Chromium comes from the system (`.ci/run` installs Debian's package); `playwright install` is
never needed. Where no Chromium exists the tests skip with a reason, unless REQUIRE_BROWSER is
set (CI), where a missing Chromium fails them.

live_server runs on a transactional database that is flushed after each test, so each test
seeds the demo again when it is missing, with the clock pinned as `make run` does. Playwright's
sync API runs an event loop in this thread; the database work (seeding, and the flush after the
test) happens while it is stopped.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from customers.models import Org

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def chromium_path():
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("REQUIRE_BROWSER", "").strip().lower() not in {"", "0", "false", "no"}:
            pytest.fail("REQUIRE_BROWSER is set but no `chromium` is on PATH (apt-get install chromium)")
        pytest.skip(
            "no Chromium on this machine (`chromium` not on PATH); set REQUIRE_BROWSER=1 to fail instead"
        )
    return path


@pytest.fixture
def live_demo(live_server, pinned_clock):
    """The live server's URL, with the demo data in its (transactional) database."""
    if not Org.objects.filter(id=50363).exists():
        call_command("seed_demo", verbosity=0)
    return live_server.url


@pytest.fixture
def browser_page(chromium_path, live_demo, request):
    """A Chromium page at desktop size whose URLs are relative to the live server; when the
    test ends, passed or failed, the page's last state is saved to test-artifacts/<test>.png."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=live_demo, viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            yield page
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        finally:
            browser.close()


def log_in(page, username, password=None, *, path="/staff/login/"):
    page.goto(path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or username)
    page.locator("form [type=submit]").click()

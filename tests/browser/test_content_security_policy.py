"""The staff pages and the admin under their Content-Security-Policy (issue 15 §5): every page
carries the header, Chromium reports no violation while they are used (searching, the customer
page's progress bars, the program page, the admin's inline rows, calendar and autocomplete), and
the progress bars still have their widths (inline style attributes are allowed, scripts are not)."""

import re

from playwright.sync_api import expect

from config.middleware import CONTENT_SECURITY_POLICY
from tests.browser.conftest import log_in

CUSTOMER = 347286146


def watch(page):
    """CSP violations the page reports, as Chromium logs them to the console."""
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return violations


def test_staff_pages_run_under_the_policy(browser_page):
    page = browser_page
    violations = watch(page)
    response = page.goto("/staff/login/")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    log_in(page, "staff50363")
    page.get_by_label("Search by userId, name, mobile or email").fill("9191")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=str(CUSTOMER)).click()
    expect(page).to_have_url(re.compile(rf"/staff/customers/{CUSTOMER}/$"))
    widths = page.locator(".fill").evaluate_all("bars => bars.map(bar => bar.getBoundingClientRect().width)")
    assert max(widths) > 0  # the style="width: …%" attributes applied
    response = page.goto("/staff/programs/")
    assert "content-security-policy" in response.headers
    page.locator("a[href^='/staff/programs/']").first.click()
    page.wait_for_load_state("networkidle")
    assert violations == []


def test_the_admin_runs_under_the_policy(browser_page):
    page = browser_page
    violations = watch(page)
    log_in(page, "admin", path="/admin/login/")
    response = page.goto("/admin/targets/targetgroup/add/")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    page.locator(".add-row a", has_text="Add another Target rule").click()
    expect(page.locator("#id_rules-0-name")).to_be_visible()
    page.locator(".datetimeshortcuts a", has_text="Today").first.click()
    page.goto("/admin/targets/groupenrolment/add/")
    page.locator(".select2-selection").first.click()
    page.keyboard.type("9000")
    expect(page.locator(".select2-results__option").first).to_be_visible()
    page.goto("/admin/customers/customer/")
    page.wait_for_load_state("networkidle")
    assert violations == []

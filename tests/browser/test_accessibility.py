"""Accessibility measured with axe-core (axe-playwright-python, which bundles it) on the staff
pages at desktop (1366 px) and phone (390 px) widths: no critical and no serious violations, no
sideways scroll at 1366 px, and the focus ring and control borders at least 3:1 (WCAG 1.4.11)."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import log_in

STAFF_PAGES = [
    "/staff/customers/",
    "/staff/customers/347286146/",
    "/staff/programs/",
    "/staff/programs/53230/",
]


def blocking(results):
    return [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in results.response["violations"]
        if v["impact"] in ("critical", "serious")
    ]


def luminance(rgb):
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(x)) for x in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def rgb(css):
    return css[css.index("(") + 1 : css.index(")")].split(",")[:3]


@pytest.mark.parametrize("width", [1366, 390])
def test_staff_pages_have_no_critical_or_serious_violations(browser_page, width):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "staff50363")
    axe = Axe()
    for path in STAFF_PAGES:
        page.goto(path)
        assert blocking(axe.run(page)) == [], path
        if width == 1366:
            assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0, path


@pytest.mark.parametrize("width", [1366, 390])
def test_the_target_group_add_and_change_pages_have_no_critical_or_serious_violations(browser_page, width):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "staff60001", path="/admin/login/")
    axe = Axe()
    page.goto("/admin/targets/targetgroup/add/")
    # The admin's scripts (nested inlines, date shortcuts) change the page after it loads: axe
    # looks at it once they have run, not half-way (a loaded machine showed a half-built page).
    page.wait_for_load_state("networkidle")
    assert blocking(axe.run(page)) == []
    page.goto("/admin/targets/targetgroup/?q=Weekly+spend+500")
    page.get_by_role("link", name="Weekly spend 500").click()  # periods, a rule with a trigger
    page.wait_for_load_state("networkidle")
    assert blocking(axe.run(page)) == []
    if width == 1366:
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_staff_focus_ring_and_control_borders_reach_3_to_1(browser_page):
    page = browser_page
    log_in(page, "staff50363")
    page.goto("/staff/customers/")
    field = page.get_by_label("Search by userId, name, mobile or email")
    border = field.evaluate("e => getComputedStyle(e).borderTopColor")
    assert contrast(rgb(border), ("255", "255", "255")) >= 3
    field.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    ring = field.evaluate("e => getComputedStyle(e).outlineColor")
    for background in (("255", "255", "255"), ("245", "247", "250")):  # cards, the page
        assert contrast(rgb(ring), background) >= 3

"""A program admin's whole job in a real browser (issue 13's acceptance): staff60001 creates a
monthly COUNT program with two milestone triggers and a 2-period streak for Demo Coffee
(Asia/Kolkata) on one page — the periods previewed in local time before saving — saves once,
posts activity through the API and sees the progress on the staff customer page. The same
program made through the configuration API shows identically in the admin.

Screenshots of the add page, the preview and the history go to docs/screenshots/ (referenced
from docs/admin.md and the README) when SCREENSHOTS=1."""

import base64
import os
import re
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import log_in

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CUSTOMER = 900000001  # a Demo Coffee customer
PROGRAM = {
    "name": "Monthly coffees",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "trackingType": "STREAKS",
    "frequencyType": "MONTHLY",
    "frequency": 1,
    "totalPeriods": 4,
    "startDate": "2024-08-01",
    "endDate": "2024-11-30",
    "targets": [
        {
            "name": "Three coffees",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetType": "COUNT",
            "value": 3,
            "milestones": [
                {"triggerName": "First", "triggerValue": 1},
                {"triggerName": "Almost", "triggerValue": 2},
            ],
        }
    ],
    "streaks": [{"name": "Two months running", "targetCountOfSequence": 2}],
}
LOCAL_PERIODS = [
    ("Cycle_1", "2024-08-01", "2024-08-31"),
    ("Cycle_2", "2024-09-01", "2024-09-30"),
    ("Cycle_3", "2024-10-01", "2024-10-31"),
    ("Cycle_4", "2024-11-01", "2024-11-30"),
]


def shoot(page, name, **kwargs):
    if os.environ.get("SCREENSHOTS"):
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / name), **kwargs)


def democoffee_headers():
    token = base64.b64encode(b"democoffee:democoffee").decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


def fill_program(page):
    page.locator("#id_name").fill(PROGRAM["name"])
    page.locator("#id_target_evaluation_type").select_option("FIXED_CALENDAR_WINDOW")
    page.locator("#id_tracking_type").select_option("STREAKS")
    page.locator("#id_frequency_type").select_option("MONTHLY")
    page.locator("#id_frequency").fill("1")
    page.locator("#id_total_periods").fill("4")
    page.locator("#id_start_day").fill("2024-08-01")
    page.locator("#id_end_day").fill("2024-11-30")


def test_staff60001_creates_a_monthly_count_program_in_one_pass_and_sees_progress(browser_page):
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "staff60001", path="/admin/login/")
    page.goto("/admin/targets/targetgroup/add/")
    expect(page.locator(".org-zone")).to_contain_text("Asia/Kolkata (UTC+05:30)")
    fill_program(page)

    # The preview: the periods the schedule gives, in the org's time, before anything is saved.
    page.get_by_role("button", name="Preview periods").click()
    preview = page.locator("#period-preview table")
    expect(preview.locator("caption")).to_have_text("4 periods, in Asia/Kolkata (UTC+05:30)")
    rows = preview.locator("tbody tr")
    expect(rows).to_have_count(4)
    for i, (ref_code, first, last) in enumerate(LOCAL_PERIODS):
        expect(rows.nth(i).locator("td")).to_have_text(
            [str(i + 1), ref_code, f"{first} 00:00", f"{last} 23:59:59"]
        )
    shoot(page, "admin-preview.png", clip=_box(page, "fieldset:has(#period-preview)"))

    # A rule with two milestone triggers nested under it, and a streak: same page.
    page.get_by_role("link", name="Add another target rule").click()
    page.locator("#id_rules-0-name").fill("Three coffees")
    page.locator("#id_rules-0-target_entity").select_option("TRANSACTION")
    page.locator("#id_rules-0-event_name").fill("TransactionAdd")
    page.locator("#id_rules-0-target_type").select_option("COUNT")
    page.locator("#id_rules-0-target_value").fill("3")
    for i, (name, value) in enumerate((("First", "1"), ("Almost", "2"))):
        page.get_by_role("link", name="Add another milestone trigger").click()
        page.locator(f"#id_rules-0-triggers-{i}-trigger_name").fill(name)
        page.locator(f"#id_rules-0-triggers-{i}-trigger_value").fill(value)
    page.get_by_role("link", name="Add another streak").click()
    page.locator("#id_streaks-0-name").fill("Two months running")
    page.locator("#id_streaks-0-target_count_of_sequence").fill("2")
    shoot(page, "admin-add-program.png", full_page=True)

    page.locator("input[name=_save]").click()  # once
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")

    # Activity through the API, at the demo clock (30 August, in Cycle_1).
    for n in (1, 2):
        response = page.request.post(
            "/v3.1/activities",
            headers=democoffee_headers(),
            data={
                "userId": CUSTOMER,
                "entity": "TRANSACTION",
                "eventName": "TransactionAdd",
                "occurredAt": "2024-08-30T09:00:00Z",
                "amount": 180,
                "externalId": f"one-pass-{n}",
            },
        )
        assert response.status in (200, 201), response.text()

    page.goto(f"/staff/customers/{CUSTOMER}/")
    made = page.locator("section.group").filter(has=page.get_by_role("heading", name="Monthly coffees"))
    expect(made.locator("tr.period")).to_have_count(4)
    cycle_1 = made.locator("tr[data-period=Cycle_1]")
    expect(cycle_1.get_by_role("progressbar")).to_have_attribute("aria-valuetext", re.compile(r"^2 of 3 "))

    # The history names who changed what; the History page is the admin's own.
    page.goto("/admin/targets/targetgroup/")
    page.get_by_role("link", name="Monthly coffees").click()
    page.get_by_role("link", name="History").click()
    expect(page.locator("#change-history")).to_contain_text("staff60001")
    expect(page.locator("#change-history")).to_contain_text("Two months running")
    shoot(page, "admin-history.png", full_page=True)


def _box(page, selector):
    box = page.locator(selector).first.bounding_box()
    return {"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]}


def test_a_program_made_through_the_api_shows_identically_in_the_admin(browser_page):
    page = browser_page
    response = page.request.post("/v3/targetGroups", headers=democoffee_headers(), data=PROGRAM)
    assert response.status == 201, response.text()
    group_id = response.json()["data"]["id"]

    log_in(page, "staff60001", path="/admin/login/")
    page.goto(f"/admin/targets/targetgroup/{group_id}/change/")
    expect(page.locator("#id_name")).to_have_value("Monthly coffees")
    expect(page.locator("#id_target_evaluation_type")).to_have_value("FIXED_CALENDAR_WINDOW")
    expect(page.locator("#id_tracking_type")).to_have_value("STREAKS")
    expect(page.locator("#id_frequency_type")).to_have_value("MONTHLY")
    expect(page.locator("#id_total_periods")).to_have_value("4")
    expect(page.locator("#id_start_day")).to_have_value("2024-08-01")
    expect(page.locator("#id_end_day")).to_have_value("2024-11-30")
    for i, (ref_code, first, last) in enumerate(LOCAL_PERIODS):
        expect(page.locator(f"#id_periods-{i}-ref_code")).to_have_value(ref_code)
        expect(page.locator(f"#id_periods-{i}-start_day")).to_have_value(first)
        expect(page.locator(f"#id_periods-{i}-end_day")).to_have_value(last)
    expect(page.locator("#id_rules-0-name")).to_have_value("Three coffees")
    expect(page.locator("#id_rules-0-target_type")).to_have_value("COUNT")
    expect(page.locator("#id_rules-0-target_value")).to_have_value("3")  # a count, not 3.000
    expect(page.locator("#id_rules-0-triggers-0-trigger_name")).to_have_value("First")
    expect(page.locator("#id_rules-0-triggers-0-trigger_value")).to_have_value("1")
    expect(page.locator("#id_rules-0-triggers-1-trigger_name")).to_have_value("Almost")
    expect(page.locator("#id_rules-0-triggers-1-trigger_value")).to_have_value("2")
    expect(page.locator("#id_streaks-0-name")).to_have_value("Two months running")
    expect(page.locator("#id_streaks-0-target_count_of_sequence")).to_have_value("2")

    # Saved unchanged from the admin, the program is what the API made.
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    body = page.request.get(f"/v3/targetGroups/{group_id}", headers=democoffee_headers()).json()["data"]
    assert [(p["refCode"], p["startDate"], p["endDate"]) for p in body["periods"]] == [
        (code, f"{_utc_day_before(first)}T18:30:00.000Z", f"{last}T18:29:59.000Z")
        for code, first, last in LOCAL_PERIODS
    ]


def _utc_day_before(day):
    from datetime import date, timedelta

    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()

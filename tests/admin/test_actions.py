"""The target group actions (docs/admin.md, "Actions and links"): *Clone* makes the same program
under a new name with every period moved to a chosen first day (org time); *Export* gives the
configuration API's request body, which the API and *Import from JSON* turn into the same
program; a bad file is refused with a message, never a 500. The changes they make are in the
history, through the "admin action" door (the exported body posted to the API, through the API's).
"""

import json
from datetime import date, time, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from targets.admin import export_body
from targets.history import group_changes
from targets.models import TargetGroup
from tests.api.test_config_api import create, rule

CHANGELIST = "/admin/targets/targetgroup/"
IMPORT = "/admin/targets/targetgroup/import/"


def monthly_body(**overrides):
    """The issue's program for Demo Coffee (Asia/Kolkata): four months from 1 August, local
    midnights, a COUNT rule with two milestone triggers and a two-period streak."""
    return {
        "name": "Coffee club",
        "description": "Four visits a month",
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "trackingType": "STREAKS",
        "frequencyType": "MONTHLY",
        "frequency": 1,
        "totalPeriods": 4,
        "startDate": "2024-07-31T18:30:00Z",
        "endDate": "2024-11-30T18:29:59Z",
        "targets": [
            rule(
                name="Visits",
                targetType="COUNT",
                value=4,
                milestones=[
                    {"triggerName": "Halfway", "triggerValue": 2},
                    {"triggerName": "Almost", "triggerValue": 3},
                ],
            )
        ],
        "streaks": [{"name": "Two months running", "targetCountOfSequence": 2}],
        **overrides,
    }


@pytest.fixture
def coffee(demo, client_for):
    return client_for("democoffee")


@pytest.fixture
def program(coffee):
    return TargetGroup.objects.get(id=create(coffee, monthly_body())["id"])


@pytest.fixture
def staff(login):
    return login("staff60001")


def local_days(instants, tz):
    return [instant.astimezone(tz).date() for instant in instants]


def windows(group):
    """Each shared period's (first day, last day, local start time, local end time)."""
    tz = group.org.tz
    return [
        (
            p.start.astimezone(tz).date(),
            p.end.astimezone(tz).date(),
            p.start.astimezone(tz).time(),
            p.end.astimezone(tz).time(),
        )
        for p in group.periods.filter(customer__isnull=True).order_by("sequence")
    ]


def without(body, *keys):
    return {k: v for k, v in body.items() if k not in keys}


def exported(client, group):
    response = client.post(CHANGELIST, {"action": "export_configuration", "_selected_action": [group.pk]})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert f'filename="program-{group.pk}.json"' in response["Content-Disposition"]
    return json.loads(response.content)


def import_file(client, content, **fields):
    upload = SimpleUploadedFile("program.json", content, content_type="application/json")
    return client.post(IMPORT, {"file": upload, **fields})


def only_new_group(before):
    return TargetGroup.objects.exclude(id__in=before).get()


# --- clone -----------------------------------------------------------------------------------


def test_clone_asks_for_a_name_and_a_first_day(staff, program):
    page = staff.post(CHANGELIST, {"action": "clone", "_selected_action": [program.pk]})
    assert page.status_code == 200
    assert page.context["form"].initial == {"name": "Coffee club (copy)", "first_day": date(2024, 8, 1)}


def clone_of(staff, group, *, name, first_day):
    """Clone `group` through the admin action: (the response, the new group)."""
    before = set(TargetGroup.objects.values_list("id", flat=True))
    response = staff.post(
        CHANGELIST,
        {
            "action": "clone",
            "_selected_action": [group.pk],
            "apply": "1",
            "name": name,
            "first_day": first_day,
        },
    )
    return response, only_new_group(before)


def test_clone_makes_the_same_program_moved_to_the_chosen_first_day(staff, program):
    response, clone = clone_of(staff, program, name="Coffee club 2025", first_day="2025-01-01")
    assert response.status_code == 302 and response["Location"] == f"{CHANGELIST}{clone.pk}/change/"

    # Everything but the name and the dates is the original's.
    dates = ("name", "startDate", "endDate", "periods")
    assert without(export_body(clone), *dates) == without(export_body(program), *dates)
    assert clone.name == "Coffee club 2025" and clone.org_id == program.org_id
    # The monthly schedule follows the calendar from the new first day: four whole local months.
    midnight, last_second = time(0, 0), time(23, 59, 59)
    assert windows(clone) == [
        (date(2025, 1, 1), date(2025, 1, 31), midnight, last_second),
        (date(2025, 2, 1), date(2025, 2, 28), midnight, last_second),
        (date(2025, 3, 1), date(2025, 3, 31), midnight, last_second),
        (date(2025, 4, 1), date(2025, 4, 30), midnight, last_second),
    ]
    tz = clone.org.tz
    assert local_days([clone.start, clone.end], tz) == [date(2025, 1, 1), date(2025, 4, 30)]


def test_typed_periods_move_by_the_same_number_of_days(staff, coffee):
    typed = [
        {"refCode": "Launch week", "startDate": "2024-08-01", "endDate": "2024-08-07"},
        {"refCode": "Long tail", "startDate": "2024-08-08", "endDate": "2024-08-31"},
    ]
    body = monthly_body(name="Launch", trackingType="DEFAULT", streaks=[], periods=typed)
    body["startDate"], body["endDate"] = "2024-08-01", "2024-08-31"
    program = TargetGroup.objects.get(id=create(coffee, body)["id"])
    response, clone = clone_of(staff, program, name="Launch (moved)", first_day="2024-10-01")
    assert response.status_code == 302, response.content[:500]
    shift = timedelta(days=(date(2024, 10, 1) - date(2024, 8, 1)).days)
    assert windows(clone) == [
        (first + shift, last + shift, start, end) for first, last, start, end in windows(program)
    ]
    assert [p.ref_code for p in clone.periods.order_by("sequence")] == ["Launch week", "Long tail"]


def test_clone_refuses_a_name_taken_in_the_org(staff, program):
    count = TargetGroup.objects.count()
    response = staff.post(
        CHANGELIST,
        {
            "action": "clone",
            "_selected_action": [program.pk],
            "apply": "1",
            "name": "Coffee club",
            "first_day": "2025-01-01",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Not cloned: a program named “Coffee club” already exists." in response.content.decode()
    assert TargetGroup.objects.count() == count


# --- export ----------------------------------------------------------------------------------


def test_export_is_the_configuration_api_body_that_creates_the_same_program(staff, coffee, program):
    body = exported(staff, program)
    assert body == export_body(program)
    assert not any(key in body for key in ("id", "orgId", "attribution"))

    again = create(coffee, {**body, "name": "Coffee club again"})

    copy = TargetGroup.objects.get(id=again["id"])
    assert without(export_body(copy), "name") == without(body, "name")
    assert windows(copy) == windows(program)


def test_export_of_several_programs_is_a_list_of_bodies(login, coffee, program):
    other = TargetGroup.objects.get(id=create(coffee, monthly_body(name="Tea club"))["id"])
    response = login("staff60001").post(
        CHANGELIST, {"action": "export_configuration", "_selected_action": [program.pk, other.pk]}
    )
    assert response["Content-Disposition"] == 'attachment; filename="programs.json"'
    assert sorted(b["name"] for b in json.loads(response.content)) == ["Coffee club", "Tea club"]


# --- import ----------------------------------------------------------------------------------


def test_import_of_an_exported_file_round_trips(staff, program):
    body = exported(staff, program)
    before = set(TargetGroup.objects.values_list("id", flat=True))

    response = import_file(staff, json.dumps(body).encode(), name="Coffee club imported")

    imported = only_new_group(before)
    assert response.status_code == 302 and response["Location"] == f"{CHANGELIST}{imported.pk}/change/"
    assert imported.org_id == program.org_id  # staff import into their own org
    assert export_body(imported) == {**body, "name": "Coffee club imported"}
    assert windows(imported) == windows(program)


def test_a_superuser_imports_into_the_org_it_picks(login, staff, program):
    body = exported(staff, program)
    before = set(TargetGroup.objects.values_list("id", flat=True))

    response = import_file(login("admin"), json.dumps(body).encode(), org=50363)

    assert response.status_code == 302
    imported = only_new_group(before)
    assert (imported.org_id, imported.name) == (50363, "Coffee club")


BAD_FILES = [
    pytest.param(b"{not json", "Not a JSON file: Expecting property name", id="not-json"),
    pytest.param(b"\xff\xfe\x00{", "Not a JSON file", id="not-utf8"),
    pytest.param(b"[]", "The file holds one program: a JSON object.", id="a-list"),
    pytest.param(b"", "The submitted file is empty.", id="empty"),
    pytest.param(
        json.dumps({"name": "Half a program"}).encode(), "targetEvaluationType:", id="fields-missing"
    ),
    pytest.param(
        json.dumps(monthly_body(name="Odd", frequency="monthly")).encode(), "frequency:", id="wrong-type"
    ),
    pytest.param(
        json.dumps(
            monthly_body(name="Long streak", streaks=[{"name": "S", "targetCountOfSequence": 9}])
        ).encode(),
        "Is longer than the number of periods (4)",
        id="refused-by-the-service",
    ),
    pytest.param(
        json.dumps(monthly_body()).encode(), "A program named “Coffee club” already exists", id="name-taken"
    ),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_a_bad_file_is_refused_with_a_message(staff, program, content, message):
    count = TargetGroup.objects.count()

    response = import_file(staff, content)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'class="errorlist' in response.content.decode()
    assert TargetGroup.objects.count() == count


# --- history ---------------------------------------------------------------------------------


def doors(group):
    return {(c.who, c.door) for c in group_changes(group)}


def test_a_clone_is_in_the_history_as_an_admin_action(staff, program):
    _response, clone = clone_of(staff, program, name="Cloned", first_day="2025-01-01")

    changes = group_changes(clone)
    assert doors(clone) == {("staff60001", "admin action")}
    created = sorted(c.what for c in changes if c.action == "created")
    assert created == sorted(
        [
            "target group Cloned",
            *(f"target period {p.ref_code}" for p in clone.periods.all()),
            "target rule Visits",
            "milestone trigger Halfway",
            "milestone trigger Almost",
            "streak Two months running",
        ]
    )
    assert doors(program) == {("democoffee", "api")}  # the original is untouched


def test_an_import_is_in_the_history_as_an_admin_action(staff, program):
    body = exported(staff, program)
    before = set(TargetGroup.objects.values_list("id", flat=True))
    import_file(staff, json.dumps(body).encode(), name="Imported")

    imported = only_new_group(before)
    assert doors(imported) == {("staff60001", "admin action")}
    assert "target group Imported" in {c.what for c in group_changes(imported) if c.action == "created"}


def test_an_exported_body_posted_to_the_api_is_in_the_history_as_the_api(staff, coffee, program):
    body = exported(staff, program)  # reading changes nothing
    assert doors(program) == {("democoffee", "api")}

    copy = TargetGroup.objects.get(id=create(coffee, {**body, "name": "Posted"})["id"])
    assert doors(copy) == {("democoffee", "api")}


def test_a_file_naming_another_programs_rows_is_refused(staff, program):
    """Ids in the file are not taken as rows to move into the new program."""
    original = export_body(program)
    body = exported(staff, program)
    body["targets"][0]["id"] = program.rules.get().id
    body["streaks"][0]["id"] = program.streaks.get().id
    count = TargetGroup.objects.count()

    response = import_file(staff, json.dumps({**body, "name": "Taking rows"}).encode())

    assert response.status_code == 200
    page = response.content.decode()
    assert f"No target {program.rules.get().id} in this group" in page and "No streak" in page
    assert TargetGroup.objects.count() == count
    assert export_body(program) == original

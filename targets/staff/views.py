"""Staff pages (SPEC §6): customer search, customer progress, program participation.

Every page needs a logged-in staff user (`is_staff`) and reads only the orgs of its Actor (its
org and that org's children; a superuser reads every org). Anything outside is a 404, so a page
never reveals whether a customer or program exists in another org. Views are thin: they parse
the request, call one read function, and render.
"""

from functools import wraps

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from config.exceptions import Codes, envelope, error_body
from config.ids import is_long_id
from targets import clock, history
from targets.models import TargetGroup
from targets.selectors import Filters, user_target_groups
from targets.staff import display, queries

PAGE_SIZE = 25


def staff_page(view):
    """Login required (redirect to the login page), staff only (403), and the readable orgs
    passed to the view as `org_ids` (id -> name)."""

    @login_required
    @require_GET
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("The staff pages are for staff accounts.")
        return view(request, *args, org_ids=queries.staff_orgs(user=request.user), **kwargs)

    return wrapped


# --- customers ------------------------------------------------------------------------------


@staff_page
def customer_search(request, *, org_ids):
    q = request.GET.get("q", "").strip()[:100]
    page = queries.BoundedPaginator(queries.search_customers(org_ids=org_ids, q=q), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = queries.customer_rows(customers=page.object_list, org_ids=org_ids)
    for row in rows:
        row.lifetime_text = display.amount(row.lifetime_purchases)
    return render(
        request,
        "staff/customer_search.html",
        {"q": q, "page": page, "rows": rows, "orgs": org_ids, "query": urlencode({"q": q}) if q else ""},
    )


class ProgressView(forms.Form):
    """The customer page's toggles, named like the API's query parameters. The page shows every
    period by default (staff want the history); the JSON link carries the chosen values."""

    includeInactive = forms.TypedChoiceField(
        label="Periods",
        choices=[("true", "All periods"), ("false", "Current period only")],
        coerce=lambda v: v == "true",
        required=False,
        empty_value=True,
    )
    includeInactiveTargets = forms.TypedChoiceField(
        label="Programs",
        choices=[("false", "Active programs only"), ("true", "Active and inactive programs")],
        coerce=lambda v: v == "true",
        required=False,
        empty_value=False,
    )

    def __init__(self, params):
        # true / false in any case, as the API accepts them.
        data = {name: params[name].strip().lower() for name in self.base_fields if name in params}
        super().__init__(data)

    def filters(self) -> Filters:
        return Filters(
            include_inactive=self.cleaned_data["includeInactive"],
            include_inactive_targets=self.cleaned_data["includeInactiveTargets"],
        )

    def query(self) -> str:
        f = self.filters()
        return urlencode(
            {
                "includeInactive": str(f.include_inactive).lower(),
                "includeInactiveTargets": str(f.include_inactive_targets).lower(),
            }
        )


@staff_page
def customer_detail(request, user_id, *, org_ids):
    found = queries.customer_org(customer_id=user_id, org_ids=org_ids)
    if found is None:
        raise Http404("No such customer in your orgs.")
    customer_org, zone = found
    form = ProgressView(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(f"Invalid toggles: {form.errors.as_text()}")
    now = clock.now()
    data = user_target_groups(customer_id=user_id, org_ids=org_ids, now=now, filters=form.filters())
    if data is None:  # deleted in between
        raise Http404("No such customer in your orgs.")
    groups = data["targetGroups"]
    labels = queries.group_labels(group_ids=[g["id"] for g in groups])
    return render(
        request,
        "staff/customer_detail.html",
        {
            "user_id": user_id,
            "org_id": customer_org,
            "org_name": org_ids.get(customer_org, ""),
            "orgs": org_ids,
            "profile": display.profile_card(data["customer"]),
            "groups": display.group_blocks(groups, labels=labels, now=now),
            "zone": zone,
            "form": form,
            "filters": form.filters(),
            "json_url": f"{reverse('staff:customer-data', args=[user_id])}?{form.query()}",
            "now": now,
        },
    )


@staff_page
def customer_data(request, user_id, *, org_ids):
    """The customer page's data as JSON: the selector's dict in the API's envelope."""
    form = ProgressView(request.GET)
    if not form.is_valid():
        return JsonResponse(
            error_body(Codes.INVALID_INPUT, f"Invalid input: {form.errors.as_text()}"), status=400
        )
    data = None
    if is_long_id(user_id):
        data = user_target_groups(
            customer_id=user_id, org_ids=org_ids, now=clock.now(), filters=form.filters()
        )
    if data is None:
        return JsonResponse(
            error_body(Codes.CUSTOMER_NOT_FOUND, "Customer not found for the given identifiers"), status=404
        )
    return JsonResponse(envelope(None, data=data))


# --- programs -------------------------------------------------------------------------------


@staff_page
def program_list(request, *, org_ids):
    page = Paginator(queries.programs(org_ids=org_ids), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "staff/program_list.html", {"page": page, "orgs": org_ids})


@staff_page
def program_detail(request, group_id, *, org_ids):
    overview = None
    if is_long_id(group_id):
        overview = queries.program_overview(group_id=group_id, org_ids=org_ids, now=clock.now())
    if overview is None:
        raise Http404("No such program in your orgs.")
    selected = _selected_period(overview.periods, request.GET.get("period"))
    group = TargetGroup.objects.select_related("org").get(id=overview.group["id"])
    return render(
        request,
        "staff/program_detail.html",
        {
            "tz": group.org.timezone,
            "changes": history.group_changes(group, limit=10),
            "overview": overview,
            "group": overview.group,
            "orgs": org_ids,
            "selected": selected,
            "histogram": histogram(selected) if selected else None,
            "histogram_rows": histogram_rows(selected) if selected else None,
            "rules": [
                {
                    **rule,
                    "target_text": display.amount(rule["target_value"]),
                    "triggers": [(name, display.amount(value)) for name, value in rule["triggers"]],
                }
                for rule in overview.rules
            ],
            "leaderboards": [
                {
                    "name": rule["name"],
                    "rows": [
                        (rank, cid, name, display.amount(total), achieved)
                        for rank, cid, name, total, achieved in overview.leaderboard.get(rule["id"], [])
                    ],
                }
                for rule in overview.rules
            ],
        },
    )


def _selected_period(periods, raw):
    """The period whose histogram is drawn: ?period=<sequence>; else the current one when it has
    participants; else the latest period with participants; else the current one or the first."""
    if not periods:
        return None
    if raw and raw.isdigit():
        for stats in periods:
            if stats.sequence == int(raw):
                return stats
    current = next((s for s in periods if s.current), None)
    if current and current.participants:
        return current
    with_participants = [s for s in periods if s.participants]
    if with_participants:
        return with_participants[-1]
    return current or periods[0]


BUCKET_LABELS = [f"{n * 10}–{n * 10 + 10}%" for n in range(10)] + ["≥100%"]


def histogram(stats, *, width=660, height=220):
    """Geometry of the server-rendered SVG histogram of one period's progress buckets."""
    top, bottom, left = 24, 40, 8
    slot = (width - 2 * left) / len(stats.buckets)
    highest = max(stats.buckets) or 1
    plot = height - top - bottom
    bars = []
    for i, count in enumerate(stats.buckets):
        h = round(plot * count / highest, 1)
        x = round(left + i * slot + slot * 0.12, 1)
        bars.append(
            {
                "label": BUCKET_LABELS[i],
                "count": count,
                "x": x,
                "y": round(top + plot - h, 1),
                "w": round(slot * 0.76, 1),
                "h": h,
                "cx": round(x + slot * 0.38, 1),
                "achieved": i == len(stats.buckets) - 1,
            }
        )
    return {"width": width, "height": height, "bars": bars, "axis_y": top + plot, "label_y": height - 14}


def histogram_rows(stats, *, width=360, row=28):
    """The same histogram drawn sideways for a phone: one row per bucket, its label on the left
    (13 units, about 12 px once the drawing fits a 390 px screen), the bar to the right and its
    count after it, so that every bucket and label is on screen without scrolling."""
    top, label_w, count_w = 6, 74, 34
    plot = width - label_w - count_w
    highest = max(stats.buckets) or 1
    rows = []
    for i, count in enumerate(stats.buckets):
        y = top + i * row
        w = round(plot * count / highest, 1)
        rows.append(
            {
                "label": BUCKET_LABELS[i],
                "count": count,
                "y": y + 5,
                "h": row - 10,
                "w": w,
                "text_y": y + row / 2 + 4.5,
                "count_x": round(label_w + w + 6, 1),
                "achieved": i == len(stats.buckets) - 1,
            }
        )
    return {"width": width, "height": top * 2 + row * len(rows), "x": label_w, "rows": rows}

"""Admin screens for target groups (SPEC §6): a whole program on one page — the group, its
periods (generated from the schedule and previewed before saving), its rules with their
milestone triggers nested under each rule, and its streaks — saved once; the rule page; the
generate-periods, clone, export/import and activate/deactivate actions; read-only views of
progress and activity.

One set of rules for both doors: the admin writes through the configuration API's service
(`targets.configuration`). The forms collect what is submitted into the service's `data`
(the same shape the API's serializers produce):

  Django's change view builds the inline formsets from `form.instance` *before* it validates
  the main form, then validates the main form, then the formsets. `_create_formsets` below
  hands the formsets to the main form (on its instance); the main form's `_post_clean`, which
  runs once the instance carries the submitted values, validates the formsets, builds `data`
  from their kept (not deleted, not empty) rows and asks `configuration.group_check` — the
  API's validation and progress-conflict check, writing nothing. Each error goes beside the
  field it names, in the admin's words (`targets.labels.words`). When every form is valid,
  `save_model` hands the same `data` to `group_create`/`group_update`, which also refresh the
  progress the change affects; the formsets themselves save nothing.

Times: a group's window and its periods are whole local days of the org's timezone; the
forms take and show dates, named with the zone, and the service turns them into instants
(00:00:00 and 23:59:59 local). Rows whose dates are not changed keep their saved instants.
"""

import json
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import nested_admin
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from customers.admin import (
    AttributedAdmin,
    OrgRestrictedAdmin,
    OrgRestrictedInline,
    OrgScopedForm,
    ReadOnlyAdmin,
    acting_actor,
    attributed_actor,
)
from customers.models import Org
from targets import clock, configuration, history, labels, limits, services
from targets.admin_deletion import EnrolmentDeletionAdmin, GroupDeletionAdmin, RuleDeletionAdmin
from targets.events.models import EventType
from targets.events.recorder import record_enrolments
from targets.models import (
    Activity,
    Enrolment,
    EvaluationType,
    FrequencyType,
    GroupEnrolment,
    MilestoneTrigger,
    PeriodTargetValue,
    Streak,
    TargetEntity,
    TargetGroup,
    TargetPeriod,
    TargetRule,
    TargetType,
    TrackingType,
    UserMilestone,
    UserStreak,
    UserTarget,
)
from targets.periods import PeriodGenerationError, fixed_windows, group_windows
from targets.refresh import group_refresh_state

ADMIN_FORMSETS = "_admin_formsets"  # instance attribute: {child model: bound formset}

# Service paths name API fields; these are the form fields they stand for.
FIELDS = {
    "group": {
        "name": "name",
        "startDate": "start_day",
        "endDate": "end_day",
        "totalPeriods": "total_periods",
        "frequencyType": "frequency_type",
        "targetEvaluationType": "target_evaluation_type",
        "trackingType": "tracking_type",
        "preferredTillId": "preferred_till",
        "enrolment": "enrolment",
    },
    "periods": {"refCode": "ref_code", "startDate": "start_day", "endDate": "end_day"},
    "targets": {
        "name": "name",
        "value": "target_value",
        "attribute": "attribute",
        "targetType": "target_type",
        "targetEntity": "target_entity",
        "eventName": "event_name",
    },
    "streaks": {"name": "name", "targetCountOfSequence": "target_count_of_sequence"},
}
ROW = re.compile(r"(?P<section>\w+)\[(?P<index>\d+)\]\.(?P<field>.+)")
MILESTONE = re.compile(r"milestones\[(?P<index>\d+)\]\.(?P<field>\w+)")
GROUP_FORM_FIELDS = tuple(f for f in configuration.GROUP_FIELDS if f not in ("start", "end"))
RULE_FIELDS = configuration.RULE_FIELDS

HELP = {
    "name": "Shown to staff and customers. Example: “Coffee club — 10 visits a month”.",
    "description": "Optional note for program admins. Example: “Autumn 2024 campaign”.",
    "active": "Inactive programs keep their progress but count no new activity.",
    "enrolment": "Who takes part. Example: “Enrolled customers only” for a VIP program.",
    "target_evaluation_type": (
        "How periods are laid out. Example: “Fixed calendar periods” = the same months for everyone; "
        "“Cycles …” start at each customer's first activity."
    ),
    "tracking_type": (
        "What customers achieve. Example: “Streaks of consecutive periods” to reward 2 months in a row; "
        "“One target” for a single goal."
    ),
    "frequency_type": "Length of each period. Example: Monthly with frequency 1 = one period per month.",
    "frequency": "How many units per period. Example: 2 with Weekly = fortnightly periods.",
    "total_periods": "Stop after this many periods (empty: until the last day). Example: 4 = four months.",
    "preferred_till": "Optional till credited for rewards. Example: the shop's main till.",
    "target_entity": "What activity counts. Example: Transactions.",
    "event_name": "The activity's event. Example: TransactionAdd.",
    "target_type": "What is added up. Example: “Number of activities”: 3 purchases = 3.",
    "attribute": "Only for “Sum of an attribute”: the activity attribute to add. Example: cups.",
    "target_value": "Needed per period. Example: 3 (purchases) or 500.00 (money).",
    "trigger_name": "Shown when reached. Example: “Halfway”.",
    "trigger_value": "Reached at this value, at most the target. Example: 2 of a target of 3.",
    "target_count_of_sequence": "Periods needed in a row. Example: 2 = two achieved months.",
}


def tz_of(org) -> ZoneInfo | None:
    return ZoneInfo(org.timezone) if org is not None else None


def local_day(instant, tz):
    return instant.astimezone(tz).date() if instant is not None and tz is not None else None


def zone_text(tz) -> str:
    if tz is None:
        return "the org's timezone"
    offset = datetime.now(tz).strftime("%z")
    return f"{tz.key} (UTC{offset[:3]}:{offset[3:]})"


def continuous_streaks(group):
    return group.tracking_type != "NON_CONTINUOUS_STREAK"


# --- formsets ----------------------------------------------------------------------------------


def kept_forms(formset):
    """The formset's rows that will exist after saving: validated, not marked for deletion,
    and not an untouched extra row."""
    formset.errors  # noqa: B018 (validates every row once; Django caches it for the view's check)
    kept = []
    for i, form in enumerate(formset.forms):
        if i >= formset.initial_form_count() and not form.has_changed():
            continue
        if formset.can_delete and form.cleaned_data.get("DELETE"):
            continue
        kept.append(form)
    return kept


def formset_changed(formset):
    formset.errors  # noqa: B018
    return any(
        form.has_changed() or (formset.can_delete and form.cleaned_data.get("DELETE"))
        for form in formset.forms
    )


def nested(form, model):
    for formset in getattr(form, "nested_formsets", []):
        if formset.model is model:
            return formset
    return None


def report(form, field, message):
    """Add `message` to `form` (on `field` when the form has it), unless that field already
    reports a problem: the model's clean() and the field itself often say the same thing.
    The message is also kept on the form (`service_errors`): django-nested-admin validates the
    rows again when a row is deleted, and `ServiceErrors` adds them back then."""
    if field is not None and field not in form.fields:
        field = None
    if field is not None and form.errors.get(field):
        return
    if field is None and message in form.non_field_errors():
        return
    form.add_error(field, message)
    form.service_errors = [*getattr(form, "service_errors", []), (field, message)]


def report_on_formset(formset, message):
    errors = formset.non_form_errors()  # the formset's own list: appending keeps it invalid
    if message not in errors:
        errors.append(message)
        formset.service_errors = [*getattr(formset, "service_errors", []), message]


class ServiceErrors:
    """Row forms: the service's errors survive a second validation (see `report`)."""

    def _post_clean(self):
        super()._post_clean()
        for field, message in getattr(self, "service_errors", []):
            if message not in self.errors.get(field or NON_FIELD_ERRORS, []):
                self.add_error(field, message)


class ServiceErrorsFormSet(nested_admin.formsets.NestedInlineFormSet):
    def clean(self):
        super().clean()
        if getattr(self, "service_errors", None):
            raise forms.ValidationError(self.service_errors)


def cleaned(form, name):
    return form.cleaned_data.get(name) if hasattr(form, "cleaned_data") else None


def dated(form, name, saved):
    """A day typed in the form, or the saved instant when the day was not changed (a saved
    instant that is not a local midnight stays as it is)."""
    if form.instance.pk and name + "_day" not in form.changed_data and saved is not None:
        return saved
    return cleaned(form, name + "_day")


# --- the group's service data ------------------------------------------------------------------


class GroupData:
    """The service's `data` for what the group page submits, with the form of each row (for
    placing errors), and the service's verdict (`errors`: ConfigErrors)."""

    def __init__(self, form):
        self.form = form
        self.group = form.instance
        self.formsets = getattr(self.group, ADMIN_FORMSETS, {})
        self.rows = {"periods": [], "targets": [], "streaks": []}
        self.trigger_rows = []
        self.data = self.build()

    def build(self):
        form, group = self.form, self.group
        creating = group.pk is None
        data = {}
        for name in GROUP_FORM_FIELDS:
            if name in form.fields and (creating or name in form.changed_data):
                data[name] = cleaned(form, name)
        if "preferred_till" in form.fields and (creating or "preferred_till" in form.changed_data):
            till = cleaned(form, "preferred_till")
            data["preferred_till_id"] = till.pk if till else None
        for name in ("start", "end"):
            if creating or f"{name}_day" in form.changed_data:
                data[name] = cleaned(form, f"{name}_day")

        periods = self.formsets.get(TargetPeriod)
        if periods is not None:
            kept = kept_forms(periods)
            # No rows on a new group, or rows left as they were while the schedule changed:
            # the service generates the periods from the schedule (refused when progress would move).
            if formset_changed(periods) and (kept or not creating):
                self.rows["periods"] = kept
                data["periods"] = [self.period_item(row) for row in kept]

        rules = self.formsets.get(TargetRule)
        if rules is not None:
            self.rows["targets"] = kept_forms(rules)
            data["rules"] = [self.rule_item(row) for row in self.rows["targets"]]

        streaks = self.formsets.get(Streak)
        if streaks is not None:
            self.rows["streaks"] = kept_forms(streaks)
            data["streaks"] = [
                {
                    **({"id": row.instance.pk} if row.instance.pk else {}),
                    "name": cleaned(row, "name"),
                    "target_count_of_sequence": cleaned(row, "target_count_of_sequence"),
                }
                for row in self.rows["streaks"]
            ]
        return data

    def period_item(self, row):
        item = {"ref_code": cleaned(row, "ref_code"), "start": dated(row, "start", row.instance.start)}
        item["end"] = dated(row, "end", row.instance.end)
        if row.instance.pk:
            item["id"] = row.instance.pk
        return item

    def rule_item(self, row):
        item = {name: cleaned(row, name) for name in RULE_FIELDS if name in row.fields}
        item["attribute"] = item.get("attribute") or ""
        if row.instance.pk:
            item["id"] = row.instance.pk
        triggers = nested(row, MilestoneTrigger)
        kept = kept_forms(triggers) if triggers is not None else []
        self.trigger_rows.append(kept)
        item["triggers"] = [
            {
                **({"id": t.instance.pk} if t.instance.pk else {}),
                "trigger_name": cleaned(t, "trigger_name"),
                "trigger_value": cleaned(t, "trigger_value"),
            }
            for t in kept
        ]
        return item

    def check(self, org):
        """Ask the service; place its errors. True when it accepts the change."""
        try:
            configuration.group_check(
                org=org, data=self.data, group=self.group if self.group.pk else None, partial=True
            )
        except configuration.ConfigurationInvalid as exc:
            for error in exc.errors:
                self.attach(error)
            if exc.duplicate_name:
                report(
                    self.form, "name", f"A program named “{exc.duplicate_name}” already exists in this org."
                )
            return False
        except configuration.ProgressConflict as exc:
            for error in exc.errors:
                self.attach(error)
            return False
        return True

    def attach(self, error):
        message = labels.words(error.message)
        section_rows = self.rows.get(error.section)
        row = ROW.fullmatch(error.path)
        if error.section == "group":
            report(self.form, FIELDS["group"].get(error.path), message)
        elif row and section_rows and int(row["index"]) < len(section_rows):
            index = int(row["index"])
            form = section_rows[index]
            milestone = MILESTONE.fullmatch(row["field"])
            if error.section == "targets" and milestone:
                triggers = self.trigger_rows[index]
                j = int(milestone["index"])
                if j < len(triggers):
                    report(triggers[j], "trigger_value", message)
                else:
                    report(form, None, message)
            else:
                report(form, FIELDS[error.section].get(row["field"]), message)
        elif error.section == "periods" and TargetPeriod in self.formsets:
            report_on_formset(self.formsets[TargetPeriod], message)
        elif error.section in ("targets", "streaks"):
            model = TargetRule if error.section == "targets" else Streak
            if error.path != error.section:
                message = f"{labels.words(error.path)}: {message}"
            if model in self.formsets:
                report_on_formset(self.formsets[model], message)
            else:
                report(self.form, None, f"{labels.words(error.path)}: {message}")
        else:
            report(self.form, None, f"{labels.words(error.path)}: {message}")


# --- forms ---------------------------------------------------------------------------------------


class DayFields:
    """`start_day`/`end_day`: the window as local days of the org's timezone, named beside the
    field. The model's `start`/`end` instants are left out of the form."""

    DAY_FIELDS = {"start": "start_day", "end": "end_day"}

    def _update_errors(self, errors):
        # The model's clean() names `start`/`end`, which the form shows as days.
        if hasattr(errors, "error_dict"):
            errors.error_dict = {self.DAY_FIELDS.get(k, k): v for k, v in errors.error_dict.items()}
        super()._update_errors(errors)

    def setup_days(self, tz, *, required=True):
        self.tz = tz
        zone = zone_text(tz)
        for name, when in (("start", "00:00"), ("end", "23:59:59")):
            field = self.fields[f"{name}_day"]
            field.required = required
            field.help_text = (
                f"Local day in {zone}; the {'first' if name == 'start' else 'last'} day counts "
                f"{'from' if name == 'start' else 'until'} {when}. "
                f"Example: {'2024-08-01' if name == 'start' else '2024-11-30'}."
            )
            saved = getattr(self.instance, name, None)
            if saved is not None and tz is not None:
                self.initial[f"{name}_day"] = local_day(saved, tz)


class TargetGroupForm(DayFields, OrgScopedForm):
    start_day = forms.DateField(label="First day", widget=AdminDateWidget)
    end_day = forms.DateField(label="Last day", widget=AdminDateWidget)

    class Meta:
        model = TargetGroup
        exclude = ("start", "end")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        org = self.instance.org if self.instance.org_id else None
        self.setup_days(tz_of(org))
        for name, field in self.fields.items():
            if name in HELP and not field.help_text:
                field.help_text = HELP[name]

    def target_org(self):
        if self.instance.org_id:
            return self.instance.org
        return cleaned(self, "org")

    def _post_clean(self):
        org = self.target_org()
        tz = tz_of(org)
        if tz is not None:
            for name, end in (("start", False), ("end", True)):
                saved = getattr(self.instance, name, None)
                day = cleaned(self, f"{name}_day")
                if day is not None and (saved is None or f"{name}_day" in self.changed_data):
                    setattr(self.instance, name, configuration.resolve_instant(day, tz=tz, end=end))
        super()._post_clean()
        if org is None or self.errors:
            return  # the fields' own problems first: the service needs every value
        self.service = GroupData(self)
        self.service.check(org)


class PeriodForm(ServiceErrors, DayFields, forms.ModelForm):
    start_day = forms.DateField(label="First day", widget=AdminDateWidget)
    end_day = forms.DateField(label="Last day", widget=AdminDateWidget)

    class Meta:
        model = TargetPeriod
        fields = ("ref_code",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        group = getattr(self.instance, "group", None) if self.instance.group_id else None
        self.setup_days(tz_of(group.org) if group else None)
        if self.instance.group_id is None:
            for name in ("start_day", "end_day"):
                self.fields[name].help_text = ""


class ValueFormatted:
    """Decimal values shown by type: a COUNT target as 3, money as 500.00."""

    value_fields = ("target_value",)

    def format_values(self, target_type):
        for name in self.value_fields:
            current = getattr(self.instance, name, None)
            if self.instance.pk and current is not None:
                self.initial[name] = labels.plain_value(current, target_type)


class RuleForm(ServiceErrors, ValueFormatted, OrgScopedForm):
    class Meta:
        model = TargetRule
        fields = RULE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.format_values(self.instance.target_type)


class TriggerForm(ServiceErrors, ValueFormatted, OrgScopedForm):
    value_fields = ("trigger_value",)

    class Meta:
        model = MilestoneTrigger
        fields = ("trigger_name", "trigger_value")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rule = self.instance.rule if self.instance.rule_id else None
        self.format_values(rule.target_type if rule else None)


ENUMS = {
    "target_evaluation_type": EvaluationType,
    "tracking_type": TrackingType,
    "frequency_type": FrequencyType,
    "enrolment": Enrolment,
    "target_entity": TargetEntity,
    "target_type": TargetType,
}


class LabelledChoices:
    """Enum choices in people's words and help text with an example on every configuration field."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in ENUMS:
            kwargs["choices"] = labels.choices(ENUMS[db_field.name])
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name in HELP:
            field.help_text = HELP[db_field.name]
        return field


class FormsetsOnInstance:
    """Hands the bound top-level inline formsets to the main form (see the module docstring)."""

    def _create_formsets(self, request, obj, change):
        formsets, inline_instances = super()._create_formsets(request, obj, change)
        setattr(
            obj,
            ADMIN_FORMSETS,
            {f.model: f for f in formsets if not getattr(f, "is_nested", False)},
        )
        return formsets, inline_instances


# --- target groups -------------------------------------------------------------------------------


class PeriodInline(LabelledChoices, OrgRestrictedInline, nested_admin.NestedTabularInline):
    """The group's shared periods (customer null), numbered by start. Left empty on a new
    group, they are generated from the schedule on save (see “Preview periods”)."""

    model = TargetPeriod
    formset = ServiceErrorsFormSet
    form = PeriodForm
    fields = ("ref_code", "sequence", "start_day", "end_day")
    readonly_fields = ("sequence",)
    extra = 0
    classes = ("collapse-periods",)
    verbose_name = "period"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(customer__isnull=True).order_by("sequence")


class TriggerInline(LabelledChoices, OrgRestrictedInline, nested_admin.NestedStackedInline):
    """Stacked: each field has its own label (the nested tabular rows have none)."""

    model = MilestoneTrigger
    formset = ServiceErrorsFormSet
    form = TriggerForm
    fields = ("trigger_name", "trigger_value")
    extra = 0
    verbose_name = "milestone trigger"


class RuleInline(LabelledChoices, OrgRestrictedInline, nested_admin.NestedStackedInline):
    model = TargetRule
    formset = ServiceErrorsFormSet
    form = RuleForm
    fieldsets = (
        (
            None,
            {"fields": (("name", "active"), ("target_entity", "event_name"), ("target_type", "attribute"))},
        ),
        (None, {"fields": ("target_value",)}),
    )
    inlines = [TriggerInline]
    extra = 0
    verbose_name = "target rule"


class StreakForm(ServiceErrors, OrgScopedForm):
    class Meta:
        model = Streak
        fields = ("name", "target_count_of_sequence")


class StreakInline(LabelledChoices, OrgRestrictedInline, nested_admin.NestedTabularInline):
    model = Streak
    form = StreakForm
    formset = ServiceErrorsFormSet
    fields = ("name", "target_count_of_sequence", "continuous")
    readonly_fields = ("continuous",)  # derived from the group's tracking type
    extra = 0


def preview_rows(org, params):
    """The periods a schedule gives, for the preview: [(sequence, ref code, first day, last
    day)], or an error message. Built with the generator the service uses."""
    tz = tz_of(org)
    try:
        start = date.fromisoformat(params.get("start_day", ""))
        end = date.fromisoformat(params.get("end_day", ""))
    except ValueError:
        return None, "Give the first and last day (YYYY-MM-DD) to preview the periods."
    total = params.get("total_periods") or None
    try:
        frequency = int(params.get("frequency") or 1)
        total = int(total) if total else None
    except ValueError:
        return None, "Frequency and total periods are whole numbers."
    group = TargetGroup(
        org=org,
        target_evaluation_type=params.get("target_evaluation_type") or EvaluationType.FIXED,
        frequency_type=params.get("frequency_type") or FrequencyType.MONTHLY,
        frequency=frequency,
        total_periods=total,
        start=configuration.resolve_instant(start, tz=tz, end=False),
        end=configuration.resolve_instant(end, tz=tz, end=True),
    )
    if group.target_evaluation_type == EvaluationType.CYCLIC:
        return None, "Cycles start at each customer's first activity: no shared periods to preview."
    try:
        windows = group_windows(group, tz=tz)
    except PeriodGenerationError as exc:
        return None, labels.words(str(exc))
    return [
        (
            w.sequence,
            w.ref_code,
            w.start.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            w.end.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
        )
        for w in windows
    ], None


@admin.register(TargetGroup)
class TargetGroupAdmin(
    GroupDeletionAdmin,
    FormsetsOnInstance,
    LabelledChoices,
    nested_admin.NestedModelAdminMixin,
    AttributedAdmin,
):
    form = TargetGroupForm
    inlines = [PeriodInline, RuleInline, StreakInline]
    change_form_template = "admin/targets/targetgroup/change_form.html"
    list_display = (
        "id",
        "name",
        "org_name",
        "active",
        "evaluation",
        "tracking",
        "schedule",
        "window",
        "period_count",
    )
    list_display_links = ("id", "name")
    list_filter = ("active", "target_evaluation_type", "tracking_type")
    search_fields = ("name", "id__exact")
    date_hierarchy = "start"
    actions = [
        "generate_periods",
        "activate",
        "deactivate",
        "count_past_activity",
        "clone",
        "export_configuration",
    ]
    readonly_fields = ("preview", "staff_link", "refresh_state")
    fieldsets = (
        (
            None,
            {"fields": ("org", "name", "description", "active", "enrolment", "preferred_till", "staff_link")},
        ),
        (
            "Schedule",
            {
                "fields": (
                    "target_evaluation_type",
                    "tracking_type",
                    ("frequency_type", "frequency"),
                    "total_periods",
                    ("start_day", "end_day"),
                    "preview",
                )
            },
        ),
        ("Progress", {"fields": ("refresh_state",)}),
        ("Attribution", {"fields": ("created_on", "created_by", "last_updated_on", "last_updated_by")}),
    )

    class Media:
        js = ("targets/admin/group.js",)
        css = {"all": ("targets/admin/admin.css",)}

    # --- org time

    def org_for(self, request, object_id):
        if object_id:
            # Admin URLs carry the id as text: anything but an id is no group (the admin itself
            # then answers "does not exist"), never a 500.
            if not str(object_id).isdigit():
                return None
            group = TargetGroup.objects.filter(pk=int(object_id)).select_related("org").first()
            return group.org if group else None
        actor = acting_actor(request)
        return actor.org if actor is not None and not request.user.is_superuser else None

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        org = self.org_for(request, object_id)
        tz = tz_of(org)
        extra_context = {**(extra_context or {}), "org_zone": zone_text(tz) if tz else None}
        with timezone.override(tz or timezone.get_default_timezone()):
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if request.user.is_superuser:
            initial.pop("org", None)  # a superuser picks the org on purpose
        return initial

    # --- list columns

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("org")
            .annotate(shared_periods=Count("periods", filter=Q(periods__customer__isnull=True)))
        )

    @admin.display(description="org", ordering="org__name")
    def org_name(self, group):
        return group.org.name

    @admin.display(description="evaluation", ordering="target_evaluation_type")
    def evaluation(self, group):
        return labels.label(group.target_evaluation_type)

    @admin.display(description="tracking", ordering="tracking_type")
    def tracking(self, group):
        return labels.label(group.tracking_type)

    @admin.display(description="schedule", ordering="frequency_type")
    def schedule(self, group):
        every = labels.label(group.frequency_type)
        return every if group.frequency == 1 else f"{every} × {group.frequency}"

    @admin.display(description="window (org time)", ordering="start")
    def window(self, group):
        tz = group.org.tz
        first, last = local_day(group.start, tz), local_day(group.end, tz)
        return format_html(
            '<span class="nowrap">{}</span> – <span class="nowrap">{}</span> '
            '<small class="nowrap">{}</small>',
            first.isoformat(),
            last.isoformat(),
            tz.key,
        )

    @admin.display(description="periods", ordering="shared_periods")
    def period_count(self, group):
        return group.shared_periods

    # --- change page extras

    @admin.display(description="Periods preview")
    def preview(self, group):
        return format_html(
            '<button type="button" class="button" id="preview-periods" data-url="{}">Preview periods</button>'
            '<div id="period-preview" role="status" aria-live="polite"></div>'
            '<p class="help">Shows the periods the schedule gives, in the org\'s time, before you save. '
            "When the periods below are left as they are, saving generates them from the schedule.</p>",
            reverse("admin:targets_targetgroup_preview"),
        )

    @admin.display(description="Staff page")
    def staff_link(self, group):
        if not group or not group.pk:
            return "—"
        return format_html(
            '<a href="{}">See participation and progress on the staff program page</a>',
            reverse("staff:program-detail", args=[group.pk]),
        )

    @admin.display(description="Progress refresh")
    def refresh_state(self, group):
        """The engine's refresh of the customers a configuration change affects."""
        if not group or not group.pk:
            return "—"
        state = group_refresh_state(group)
        if state is None:
            return "Never needed: the configuration has not changed since it was created."
        words = {"PENDING": "Waiting", "RUNNING": "Running", "DONE": "Done", "FAILED": "Failed"}
        when = timezone.localtime(state.finished_at or state.requested_at)
        return format_html(
            "{}: {} of {} customers ({}, {} {})",
            words.get(state.status, state.status),
            state.customers_done,
            state.customers_total,
            "in the background" if state.background else "with the save",
            "finished" if state.finished_at else "requested",
            when.strftime("%Y-%m-%d %H:%M %Z"),
        )

    def get_urls(self):
        return [
            path(
                "preview/", self.admin_site.admin_view(self.preview_view), name="targets_targetgroup_preview"
            ),
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="targets_targetgroup_import",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """The periods the schedule in the form would give (an HTML fragment for the page)."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        params = request.GET
        org = None
        if params.get("group"):
            group = self.get_queryset(request).filter(pk=params["group"]).select_related("org").first()
            org = group.org if group else None
        elif request.user.is_superuser and params.get("org"):
            org = Org.objects.filter(pk=params["org"]).first()
        elif acting_actor(request) is not None:
            org = acting_actor(request).org
        if org is None:
            return HttpResponse('<p class="errornote">Pick the org first: periods follow its timezone.</p>')
        rows, error = preview_rows(org, params)
        return render(
            request,
            "admin/targets/targetgroup/preview.html",
            {"rows": rows, "error": error, "zone": zone_text(tz_of(org))},
        )

    # --- history

    def history_view(self, request, object_id, extra_context=None):
        """Every change of the program's configuration (group, periods, rules, triggers,
        streaks) from any door: who, when (real time and service clock), what (field, old, new)."""
        group = self.get_object(request, object_id)
        if not self.has_view_or_change_permission(request, group):
            raise PermissionDenied
        tz = group.org.tz
        page = _history_page(request)
        # One page more than asked tells whether older changes exist; a group with thousands of
        # enrolments must not render (or read) them all at once.
        latest = history.group_changes(group, limit=page * HISTORY_PAGE + 1)
        with timezone.override(tz):
            return render(
                request,
                "admin/targets/targetgroup/history.html",
                {
                    **self.admin_site.each_context(request),
                    "title": f"History: {group.name}",
                    "subtitle": None,
                    "object": group,
                    "original": group,
                    "opts": self.opts,
                    "changes": latest[(page - 1) * HISTORY_PAGE : page * HISTORY_PAGE],
                    "newer_page": page - 1 if page > 1 else None,
                    "older_page": page + 1 if len(latest) > page * HISTORY_PAGE else None,
                    "zone": zone_text(tz),
                    **(extra_context or {}),
                },
            )

    # --- saving through the configuration service

    def save_model(self, request, obj, form, change):
        self.assign_org(request, obj)
        actor = attributed_actor(request, obj)
        data = form.service.data
        if change:
            result = configuration.group_update(
                group=obj, actor=actor, data=data, now=clock.now(), partial=True
            )
        else:
            result = configuration.group_create(org=obj.org, actor=actor, data=data, now=clock.now())
        obj.pk = result.group.pk
        obj.refresh_from_db()
        for warning in result.warnings:
            self.message_user(request, labels.words(warning), messages.WARNING)

    def save_formset(self, request, form, formset, change):
        """The service saved every row with the group."""

    def save_related(self, request, form, formsets, change):
        """The service saved every row with the group (see save_model)."""

    def construct_change_message(self, request, form, formsets, add=False):
        if add:
            return [{"added": {}}]
        changed = [str(form.fields[name].label) for name in form.changed_data if name in form.fields]
        changed += [
            str(formset.model._meta.verbose_name_plural)
            for formset in formsets
            if not getattr(formset, "is_nested", False) and formset.has_changed()
        ]
        return [{"changed": {"fields": changed}}] if changed else []

    # --- actions

    @admin.action(description="Generate periods from the schedule", permissions=["change"])
    def generate_periods(self, request, queryset):
        with history.through(history.ADMIN_ACTION):
            self._generate_periods(request, queryset)

    def _generate_periods(self, request, queryset):
        for group in queryset:
            if group.target_evaluation_type == EvaluationType.CYCLIC:
                self.message_user(
                    request,
                    f"{group}: cycles start at each customer's first activity; no shared periods generated.",
                    messages.WARNING,
                )
                continue
            try:
                # A full update without periods: the service generates them from the schedule,
                # with the API's validation and progress checks, keeping everything else.
                result = configuration.group_update(
                    group=group,
                    actor=attributed_actor(request, group),
                    data={},
                    now=clock.now(),
                    partial=False,
                )
            except (configuration.ConfigurationInvalid, configuration.ProgressConflict) as exc:
                reasons = "; ".join(labels.words(e.message) for e in exc.errors) or str(exc)
                self.message_user(request, f"{group}: {reasons}; nothing changed.", messages.ERROR)
            else:
                count = result.group.periods.filter(customer__isnull=True).count()
                self.message_user(request, f"{group}: {count} periods generated.", messages.SUCCESS)

    @admin.action(description="Activate", permissions=["change"])
    def activate(self, request, queryset):
        self._set_active(request, queryset, True)

    @admin.action(description="Deactivate", permissions=["change"])
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, False)

    def _set_active(self, request, queryset, active):
        changed = 0
        with history.through(history.ADMIN_ACTION):
            for group in queryset:
                changed += services.group_set_active(
                    groups=[group], active=active, actor=attributed_actor(request, group), now=clock.now()
                )
        state = "activated" if active else "deactivated"
        self.message_user(request, f"{changed} program(s) {state}.", messages.SUCCESS)

    @admin.action(
        description="Count past activity (from the program's first day, also what arrived before it existed)",
        permissions=["change"],
    )
    def count_past_activity(self, request, queryset):
        """Backdate programs (docs/engine.md): the group counts stored activity received since its
        first day, through the configuration service, which refreshes the customers' progress."""
        done = []
        with history.through(history.ADMIN_ACTION):
            for group in queryset:
                configuration.group_update(
                    group=group,
                    actor=attributed_actor(request, group),
                    data={"count_activity_from": group.start},
                    now=clock.now(),
                    partial=True,
                )
                done.append(group.name)
        self.message_user(
            request,
            f"{len(done)} program(s) now count past activity from their first day; customer progress "
            "is refreshed (see each program's refresh state).",
            messages.SUCCESS,
        )

    @admin.action(description="Clone (new name, periods moved to a new first day)", permissions=["add"])
    def clone(self, request, queryset):
        if "apply" in request.POST:
            form = CloneForm(request.POST)
            if form.is_valid() and queryset.count() == 1:
                group = queryset.get()
                data = clone_data(group, first_day=form.cleaned_data["first_day"])
                data["name"] = form.cleaned_data["name"]
                try:
                    with history.through(history.ADMIN_ACTION):
                        result = configuration.group_create(
                            org=group.org, actor=attributed_actor(request, group), data=data, now=clock.now()
                        )
                except configuration.ConfigurationInvalid as exc:
                    reasons = "; ".join(labels.words(e.message) for e in exc.errors)
                    if exc.duplicate_name:
                        reasons = f"a program named “{exc.duplicate_name}” already exists"
                    self.message_user(request, f"Not cloned: {reasons}.", messages.ERROR)
                    return None
                self.message_user(request, f"{group} cloned as {result.group}.", messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:targets_targetgroup_change", args=[result.group.pk])
                )
        elif queryset.count() != 1:
            self.message_user(request, "Clone one program at a time.", messages.WARNING)
            return None
        else:
            group = queryset.get()
            form = CloneForm(
                initial={
                    "name": f"{group.name} (copy)",
                    "first_day": local_day(group.start, group.org.tz),
                }
            )
        return render(
            request,
            "admin/targets/targetgroup/clone.html",
            {
                **self.admin_site.each_context(request),
                "title": "Clone a program",
                "form": form,
                "groups": queryset,
                "opts": self.opts,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description="Export as configuration API JSON", permissions=["view"])
    def export_configuration(self, request, queryset):
        bodies = [export_body(group) for group in queryset]
        body = bodies[0] if len(bodies) == 1 else bodies
        response = HttpResponse(
            json.dumps(body, indent=2, default=str), content_type="application/json; charset=utf-8"
        )
        name = f"program-{queryset.first().pk}.json" if len(bodies) == 1 else "programs.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def import_view(self, request):
        """Create a program from a configuration API JSON body (what the export gives)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None, request=request)
        if request.method == "POST" and form.is_valid():
            return HttpResponseRedirect(reverse("admin:targets_targetgroup_change", args=[form.created.pk]))
        return render(
            request,
            "admin/targets/targetgroup/import.html",
            {
                **self.admin_site.each_context(request),
                "title": "Import a program",
                "form": form,
                "opts": self.opts,
            },
        )


def export_body(group) -> dict:
    """The configuration API's request body that recreates `group` (its response body without
    ids, org and attribution)."""
    from targets.api.config_serializers import group_representation
    from targets.api.config_views import config_groups

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("id", "orgId", "attribution")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    body = strip(group_representation(config_groups().get(pk=group.pk)))
    if group.target_evaluation_type != EvaluationType.FIXED:
        body.pop("periods", None)  # generated again from the schedule (or per customer)
    return body


HISTORY_PAGE = 100  # changes per page of a program's admin History


def _history_page(request) -> int:
    """The History page asked for (?p=2 for older changes); anything else is the first."""
    raw = request.GET.get("p", "1")
    return min(int(raw), 1000) if raw.isdigit() and int(raw) >= 1 else 1


class CloneForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="The new program's name. Example: “Coffee club 2025”.")
    first_day = forms.DateField(
        widget=AdminDateWidget,
        help_text=(
            "The clone's first day (org time). Scheduled periods (e.g. months) follow the calendar "
            "from it; typed ones move by the same number of days."
        ),
    )


def clone_data(group, *, first_day):
    """The service data of a copy of `group` whose window and periods start `first_day`.

    Periods that follow the group's schedule (e.g. calendar months) are generated again from the
    new first day, so a monthly program cloned to 1 January runs January, February, …; periods
    typed one by one (or cut short by the window's end) move by the same number of days."""
    tz = group.org.tz
    shift = timedelta(days=(first_day - local_day(group.start, tz)).days)

    def moved(instant):
        local = instant.astimezone(tz).replace(tzinfo=None) + shift
        return local.replace(tzinfo=tz)

    data = {name: getattr(group, name) for name in configuration.GROUP_FIELDS}
    data["start"], data["end"] = moved(group.start), moved(group.end)
    data["preferred_till_id"] = group.preferred_till_id
    if group.target_evaluation_type == EvaluationType.FIXED:
        periods = list(group.periods.filter(customer__isnull=True).order_by("sequence"))
        schedule = _schedule(group, start=data["start"], count=len(periods), tz=tz)
        ends_with_schedule = bool(periods) and group.end == periods[-1].end
        follows = (
            bool(periods)
            and (ends_with_schedule or group.total_periods == len(periods))
            and _schedule(group, start=group.start, count=len(periods), tz=tz)
            == [(p.ref_code, p.start, p.end) for p in periods]
        )
        if follows:  # generated again from the new first day, as many as the original has
            data["end"] = schedule[-1][2] if ends_with_schedule else max(data["end"], schedule[-1][2])
        else:
            data["periods"] = [
                {"ref_code": p.ref_code, "start": moved(p.start), "end": moved(p.end)} for p in periods
            ]
    data["rules"] = [
        {
            **{name: getattr(rule, name) for name in RULE_FIELDS},
            "triggers": [
                {"trigger_name": t.trigger_name, "trigger_value": t.trigger_value}
                for t in rule.triggers.all()
            ],
        }
        for rule in group.rules.prefetch_related("triggers")
    ]
    data["streaks"] = [
        {"name": s.name, "target_count_of_sequence": s.target_count_of_sequence} for s in group.streaks.all()
    ]
    return data


def _schedule(group, *, start, count, tz):
    """The first `count` whole periods of the group's schedule from `start`: (refCode, start, end)."""
    try:
        windows = fixed_windows(
            start=start,
            end=limits.LATEST,
            frequency_type=group.frequency_type,
            frequency=group.frequency,
            total_periods=count,
            tz=tz,
        )
    except PeriodGenerationError:
        return []
    return [(w.ref_code, w.start, w.end) for w in windows]


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A configuration API JSON body, e.g. from the “Export” action.")
    name = forms.CharField(
        max_length=200, required=False, help_text="Optional: a new name (the file's name is used otherwise)."
    )
    org = forms.ModelChoiceField(queryset=Org.objects.all(), required=False, help_text="The program's org.")

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        if not request.user.is_superuser:
            del self.fields["org"]
        else:
            self.fields["org"].required = True
        self.created = None

    def clean(self):
        from targets.api.config_serializers import TargetGroupSerializer

        cleaned_data = super().clean()
        upload = cleaned_data.get("file")
        if upload is None:
            return cleaned_data
        try:
            body = json.loads(upload.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise forms.ValidationError(f"Not a JSON file: {exc}") from None
        if not isinstance(body, dict):
            raise forms.ValidationError("The file holds one program: a JSON object.")
        body = {k: v for k, v in body.items() if k not in ("id", "attribution", "createdOn", "lastUpdatedOn")}
        if cleaned_data.get("name"):
            body["name"] = cleaned_data["name"]
        org = cleaned_data.get("org") if self.request.user.is_superuser else acting_actor(self.request).org
        if org is None:
            return cleaned_data
        serializer = TargetGroupSerializer(data=body)
        if not serializer.is_valid():
            raise forms.ValidationError(
                [f"{field}: {' '.join(map(str, errs))}" for field, errs in serializer.errors.items()]
            )
        try:
            with transaction.atomic(), history.through(history.ADMIN_ACTION):
                result = configuration.group_create(
                    org=org,
                    actor=attributed_actor(self.request, TargetGroup(org=org)),
                    data=serializer.validated_data,
                    now=clock.now(),
                )
        except configuration.ConfigurationInvalid as exc:
            problems = [f"{labels.words(e.path)}: {labels.words(e.message)}" for e in exc.errors]
            if exc.duplicate_name:
                problems.append(f"A program named “{exc.duplicate_name}” already exists in this org.")
            raise forms.ValidationError(problems) from None
        self.created = result.group
        return cleaned_data


# --- rules -----------------------------------------------------------------------------------


class RuleData:
    """The service data for the rule page: the group's rules with this one as submitted."""

    def __init__(self, form):
        self.form = form
        self.rule = form.instance
        formsets = getattr(self.rule, ADMIN_FORMSETS, {})
        self.triggers = kept_forms(formsets[MilestoneTrigger]) if MilestoneTrigger in formsets else None

    def check(self):
        group = self.rule.group if self.rule.group_id else None
        if group is None:
            return  # the group field reports itself
        items = []
        self.index = None
        for rule in group.rules.prefetch_related("triggers"):
            if rule.pk == self.rule.pk:
                continue
            items.append(
                {
                    "id": rule.pk,
                    **{name: getattr(rule, name) for name in RULE_FIELDS},
                    "triggers": [
                        {"id": t.pk, "trigger_name": t.trigger_name, "trigger_value": t.trigger_value}
                        for t in rule.triggers.all()
                    ],
                }
            )
        mine = {name: cleaned(self.form, name) for name in RULE_FIELDS if name in self.form.fields}
        mine["attribute"] = mine.get("attribute") or ""
        if self.rule.pk:
            mine["id"] = self.rule.pk
        if self.triggers is not None:
            mine["triggers"] = [
                {
                    **({"id": t.instance.pk} if t.instance.pk else {}),
                    "trigger_name": cleaned(t, "trigger_name"),
                    "trigger_value": cleaned(t, "trigger_value"),
                }
                for t in self.triggers
            ]
        else:
            mine["triggers"] = [
                {"id": t.pk, "trigger_name": t.trigger_name, "trigger_value": t.trigger_value}
                for t in (self.rule.triggers.all() if self.rule.pk else [])
            ]
        items.append(mine)
        items.sort(key=lambda item: (item.get("id") is None, item.get("id") or 0))
        self.index = next(i for i, item in enumerate(items) if item is mine)
        self.group = group
        self.data = {"rules": items}
        try:
            configuration.group_check(org=group.org, data=self.data, group=group, partial=True)
        except (configuration.ConfigurationInvalid, configuration.ProgressConflict) as exc:
            for error in exc.errors:
                self.attach(error, group)

    def attach(self, error, group):
        message = labels.words(error.message)
        if error.section != "targets":
            report(self.form, None, f"Program {group.name}: {labels.words(error.path)}: {message}")
            return
        if error.path == "targets":
            report(self.form, None, f"Program {group.name}: {message}")
            return
        row = ROW.fullmatch(error.path)
        if not row or int(row["index"]) != self.index:
            return
        milestone = MILESTONE.fullmatch(row["field"])
        if milestone is None:
            report(self.form, FIELDS["targets"].get(row["field"]), message)
        elif self.triggers is not None and int(milestone["index"]) < len(self.triggers):
            report(self.triggers[int(milestone["index"])], "trigger_value", message)
        else:
            report(self.form, "target_value", message)


class TargetRuleForm(ValueFormatted, OrgScopedForm):
    class Meta:
        model = TargetRule
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.format_values(self.instance.target_type)

    def _post_clean(self):
        super()._post_clean()
        self.service = RuleData(self)
        self.service.check()


class PlainTriggerInline(LabelledChoices, OrgRestrictedInline, admin.TabularInline):
    model = MilestoneTrigger
    form = TriggerForm
    fields = ("trigger_name", "trigger_value")
    extra = 0


class PeriodValueInline(OrgRestrictedInline, admin.TabularInline):
    """Per-period overrides of the rule's target value (shown once the rule exists)."""

    model = PeriodTargetValue
    fields = ("period", "target_value")
    extra = 0
    verbose_name = "per-period target value"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields["period"]
        field.queryset = field.queryset.filter(group_id=obj.group_id, customer__isnull=True)
        return formset


@admin.register(TargetRule)
class TargetRuleAdmin(RuleDeletionAdmin, FormsetsOnInstance, LabelledChoices, OrgRestrictedAdmin):
    """A rule on its own page (the group page edits the same rules nested); saved through the
    configuration service as a change of its group's rules."""

    form = TargetRuleForm
    org_from = "group"
    list_display = ("id", "name", "group", "target_entity", "event_name", "target_type", "value", "active")
    list_filter = ("active", "target_type", "target_entity")
    search_fields = ("name", "id__exact", "group__name")
    fields = (
        "group",
        "org",
        "name",
        "active",
        "target_entity",
        "event_name",
        "target_type",
        "attribute",
        "target_value",
    )

    @admin.display(description="target value", ordering="target_value")
    def value(self, rule):
        return labels.value(rule.target_value, rule.target_type)

    def get_inlines(self, request, obj):
        return [PlainTriggerInline, PeriodValueInline] if obj is not None else [PlainTriggerInline]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None:
            fields.append("group")  # progress rows tie the rule to its group's periods
        return fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group")

    def save_model(self, request, obj, form, change):
        service = form.service
        group = service.group
        known = set(group.rules.values_list("id", flat=True))
        configuration.group_update(
            group=group,
            actor=attributed_actor(request, group),
            data=service.data,
            now=clock.now(),
            partial=True,
        )
        if obj.pk is None:
            obj.pk = group.rules.exclude(id__in=known).values_list("id", flat=True).get()
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        if formset.model is MilestoneTrigger:
            return  # saved by the service with the rule
        super().save_formset(request, form, formset, change)

    def construct_change_message(self, request, form, formsets, add=False):
        return [{"added": {}}] if add else [{"changed": {"fields": form.changed_data}}]


# --- enrolments and progress (read-only but for enrolling) -----------------------------------


@admin.register(GroupEnrolment)
class GroupEnrolmentAdmin(EnrolmentDeletionAdmin, OrgRestrictedAdmin):
    """Program admins enrol customers in EXPLICIT groups here; the engine enrols the rest."""

    org_from = "group"
    list_display = ("group", "customer", "enrolled_on", "source")
    list_filter = ("source",)
    search_fields = ("customer__id__exact", "group__name", "group__id__exact")
    fields = ("group", "customer", "org", "enrolled_on", "source")
    readonly_fields = ("enrolled_on", "source")
    autocomplete_fields = ("customer",)

    def has_change_permission(self, request, obj=None):
        return False

    def delete_queryset(self, request, queryset):
        with history.through(history.ADMIN_ACTION):  # "Delete selected" is an action
            super().delete_queryset(request, queryset)

    def save_model(self, request, obj, form, change):
        obj.enrolled_on = clock.now()
        obj.source = "ADMIN"
        super().save_model(request, obj, form, change)
        record_enrolments(
            type=EventType.ENROLLED,
            group=obj.group,
            customer_ids=[obj.customer_id],
            now=obj.enrolled_on,
            source="ADMIN",
        )


@admin.register(UserTarget)
class UserTargetAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer", "rule", "period", "achieved_value", "achieved_at", "enrolled_on")
    search_fields = ("customer__id__exact", "id__exact", "rule__name")
    list_select_related = ("rule", "period")


@admin.register(UserStreak)
class UserStreakAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer", "streak", "status", "current_count", "achieved_at")
    list_filter = ("status",)
    search_fields = ("customer__id__exact", "streak__name")
    list_select_related = ("streak",)


@admin.register(UserMilestone)
class UserMilestoneAdmin(ReadOnlyAdmin):
    list_display = ("user_target", "trigger", "achieved_at")


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("id", "external_id", "customer", "entity", "event_name", "occurred_at", "amount")
    list_filter = ("entity",)
    search_fields = ("external_id", "customer__id__exact", "event_name")
    date_hierarchy = "occurred_at"

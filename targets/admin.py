"""Admin screens for target groups (SPEC §6): a group with its periods, rules and streaks inline;
a rule with its milestone triggers and per-period values; the generate-periods and
activate/deactivate actions; read-only views of progress and activity.

Validation: the rules across the rows of a group live in `targets.validation.validate_group`
(shared with the configuration API). The admin never repeats them; it builds the group's spec
from what is being submitted and shows each ConfigError beside the field it names:

  Django's change view builds the inline formsets from `form.instance` *before* it validates
  the main form, then validates the main form, then the formsets. `_create_formsets` below
  hands the formsets to the main form (on its instance); the main form's `_post_clean`, which
  runs once the instance carries the submitted values, validates the formsets, builds the spec
  from their kept (not deleted, not empty) unsaved rows and calls validate_group. Errors go to
  the row and field they name, to the inline's non-form errors, or to the main form. Either
  way the main form or a formset is invalid, so the change view saves nothing (it saves only
  when every form is valid, inside a transaction).
"""

import re

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import CharField, Count, F, Q, Value
from django.db.models.functions import Cast, Concat

from customers.admin import (
    AttributedAdmin,
    OrgRestrictedAdmin,
    OrgRestrictedInline,
    OrgScopedForm,
    ReadOnlyAdmin,
    attributed_actor,
)
from targets import clock, services
from targets.events.models import EventType
from targets.events.recorder import record_enrolments
from targets.models import (
    Activity,
    EvaluationType,
    GroupEnrolment,
    MilestoneTrigger,
    PeriodTargetValue,
    Streak,
    TargetGroup,
    TargetPeriod,
    TargetRule,
    TrackingType,
    UserMilestone,
    UserStreak,
    UserTarget,
)
from targets.periods import PeriodGenerationError
from targets.validation import validate_group

ADMIN_FORMSETS = "_admin_formsets"  # instance attribute: {child model: bound formset}

# validate_group's paths name API fields; these are the model fields they stand for.
FIELDS = {
    "group": {"name": "name", "startDate": "start", "endDate": "end", "totalPeriods": "total_periods"},
    "periods": {"refCode": "ref_code", "startDate": "start", "endDate": "end"},
    "targets": {"name": "name", "value": "target_value", "attribute": "attribute"},
    "streaks": {"name": "name", "targetCountOfSequence": "target_count_of_sequence"},
}
SECTIONS = {TargetPeriod: "periods", TargetRule: "targets", Streak: "streaks"}
ROW = re.compile(r"(?P<section>\w+)\[(?P<index>\d+)\]\.(?P<field>.+)")
MILESTONE = re.compile(r"milestones\[(?P<index>\d+)\]\.(?P<field>\w+)")
PARKED_SEQUENCE = 1_000_000


def continuous_streaks(group):
    return group.tracking_type != TrackingType.NON_CONTINUOUS_STREAK


# --- validation helpers ----------------------------------------------------------------------


def validate_once(formset):
    """Validate every row of the formset; Django caches the result for the view's own check."""
    return formset.errors


def kept_forms(formset):
    """The formset's rows that will exist after saving: validated, not marked for deletion,
    and not an untouched extra row."""
    validate_once(formset)
    kept = []
    for i, form in enumerate(formset.forms):
        if i >= formset.initial_form_count() and not form.has_changed():
            continue
        if formset.can_delete and form.cleaned_data.get("DELETE"):
            continue
        kept.append(form)
    return kept


def deleted_forms(formset):
    validate_once(formset)
    if not formset.can_delete:
        return []
    return [
        form
        for i, form in enumerate(formset.forms)
        if i < formset.initial_form_count() and form.cleaned_data.get("DELETE")
    ]


def report(form, field, message):
    """Add `message` to `form` (on `field` when the form has it), unless that field already
    reports a problem: the model's clean() and the field itself often say the same thing."""
    if field is not None and field in form.fields:
        if form.errors.get(field):
            return
        form.add_error(field, message)
    elif message not in form.non_field_errors():
        form.add_error(None, message)


def report_on_formset(formset, message):
    errors = formset.non_form_errors()  # the formset's own list: appending keeps it invalid
    if message not in errors:
        errors.append(message)


def capitalised(message):
    return message[:1].upper() + message[1:]


class GroupCheck:
    """validate_group over the group being saved: the main form's instance and the kept rows
    of its inline formsets (rows of an inline that is not shown come from the database)."""

    def __init__(self, form):
        self.form = form
        self.group = form.instance
        self.formsets = {
            SECTIONS[model]: formset
            for model, formset in getattr(self.group, ADMIN_FORMSETS, {}).items()
            if model in SECTIONS
        }
        self.rows = {section: kept_forms(formset) for section, formset in self.formsets.items()}

    def children(self, section):
        if section in self.rows:
            return [form.instance for form in self.rows[section]]
        return None if self.group.pk else []

    def run(self):
        self.refuse_deleting_progress()
        spec = services.group_spec(
            self.group,
            periods=self.children("periods"),
            rules=self.children("targets"),
            streaks=self.children("streaks"),
        )
        for error in validate_group(spec):
            self.attach(error, spec)

    def attach(self, error, spec):
        message = capitalised(error.message)
        if error.section == "group":
            report(self.form, FIELDS["group"].get(error.path), message)
            return
        row = ROW.fullmatch(error.path)
        if row and error.section in self.rows:
            form = self.rows[error.section][int(row["index"])]
            milestone = MILESTONE.fullmatch(row["field"])
            if milestone:
                trigger = spec.rules[int(row["index"])].triggers[int(milestone["index"])]
                report(form, None, f"Milestone “{trigger.trigger_name}”: trigger value {error.message}")
            else:
                report(form, FIELDS[error.section].get(row["field"]), message)
        elif error.section in self.formsets:
            report_on_formset(self.formsets[error.section], message)
        else:
            report(self.form, None, f"{error.path}: {error.message}")

    def refuse_deleting_progress(self):
        """Deleting a row would delete customer progress with it (no confirmation page for
        inline rows): refused."""
        if not self.group.pk:
            return
        if "periods" in self.formsets:
            held = services.periods_with_progress(self.group)
            for form in deleted_forms(self.formsets["periods"]):
                if form.instance.pk in held:
                    report_on_formset(
                        self.formsets["periods"],
                        f"Period {form.instance.ref_code} holds customer progress and cannot be deleted.",
                    )
        if "targets" in self.formsets:
            doomed = {form.instance.pk: form.instance for form in deleted_forms(self.formsets["targets"])}
            held = UserTarget.objects.filter(rule_id__in=doomed).values_list("rule_id", flat=True).distinct()
            for rule_id in held:
                report_on_formset(
                    self.formsets["targets"],
                    f"Target {doomed[rule_id].name} holds customer progress and cannot be deleted.",
                )


class TargetGroupForm(OrgScopedForm):
    class Meta:
        model = TargetGroup
        fields = "__all__"

    def _post_clean(self):
        super()._post_clean()
        GroupCheck(self).run()


class RuleCheck:
    """validate_group over the rule's group with this rule as submitted (its triggers from the
    triggers inline). Only this rule's problems and the group's target count are reported."""

    def __init__(self, form):
        self.form = form
        self.rule = form.instance
        formsets = getattr(self.rule, ADMIN_FORMSETS, {})
        self.triggers = kept_forms(formsets[MilestoneTrigger]) if MilestoneTrigger in formsets else None

    def run(self):
        if self.rule.group_id is None:
            return  # the group field reports itself
        group = self.rule.group
        if self.triggers is not None:
            self.rule.pending_triggers = [form.instance for form in self.triggers]
        others = [r for r in group.rules.prefetch_related("triggers") if r.pk != self.rule.pk]
        rules = sorted([*others, self.rule], key=lambda r: (r.pk is None, r.pk or 0))
        index = next(i for i, r in enumerate(rules) if r is self.rule)
        spec = services.group_spec(group, rules=rules)
        for error in validate_group(spec):
            if error.section != "targets":
                continue
            message = capitalised(error.message)
            if error.path == "targets":
                report(self.form, None, f"Group {group.name}: {error.message}")
                continue
            row = ROW.fullmatch(error.path)
            if not row or int(row["index"]) != index:
                continue
            milestone = MILESTONE.fullmatch(row["field"])
            if milestone is None:
                report(self.form, FIELDS["targets"].get(row["field"]), message)
            elif self.triggers is not None:
                report(self.triggers[int(milestone["index"])], "trigger_value", message)
            else:
                trigger = spec.rules[index].triggers[int(milestone["index"])]
                report(self.form, "target_value", f"Milestone “{trigger.trigger_name}”: {error.message}")


class TargetRuleForm(OrgScopedForm):
    class Meta:
        model = TargetRule
        fields = "__all__"

    def _post_clean(self):
        super()._post_clean()
        RuleCheck(self).run()


class FormsetsOnInstance:
    """Hands the bound inline formsets to the main form (see the module docstring)."""

    def _create_formsets(self, request, obj, change):
        formsets, inline_instances = super()._create_formsets(request, obj, change)
        setattr(obj, ADMIN_FORMSETS, {formset.model: formset for formset in formsets})
        return formsets, inline_instances


# --- target groups ---------------------------------------------------------------------------


class PeriodInline(OrgRestrictedInline, admin.TabularInline):
    """The group's shared periods (customer null). Sequence follows the start times."""

    model = TargetPeriod
    fields = ("ref_code", "sequence", "start", "end")
    readonly_fields = ("sequence",)
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).filter(customer__isnull=True).order_by("sequence")


class RuleInline(OrgRestrictedInline, admin.TabularInline):
    model = TargetRule
    fields = ("name", "active", "target_entity", "event_name", "target_type", "attribute", "target_value")
    extra = 0
    show_change_link = True  # the rule's own page edits its milestone triggers


class StreakInline(OrgRestrictedInline, admin.TabularInline):
    model = Streak
    fields = ("name", "target_count_of_sequence", "continuous")
    readonly_fields = ("continuous",)  # derived from the group's tracking type
    extra = 0


@admin.register(TargetGroup)
class TargetGroupAdmin(FormsetsOnInstance, AttributedAdmin):
    form = TargetGroupForm
    inlines = [PeriodInline, RuleInline, StreakInline]
    list_display = (
        "id",
        "name",
        "org",
        "active",
        "target_evaluation_type",
        "tracking_type",
        "frequency_type",
        "start",
        "end",
        "period_count",
    )
    list_display_links = ("id", "name")
    list_filter = ("active", "target_evaluation_type", "tracking_type")
    search_fields = ("name", "id__exact")
    date_hierarchy = "start"
    actions = ["generate_periods", "activate", "deactivate"]
    fieldsets = (
        (None, {"fields": ("org", "name", "description", "active", "enrolment", "preferred_till")}),
        (
            "Windows",
            {
                "fields": (
                    "target_evaluation_type",
                    "tracking_type",
                    "frequency_type",
                    "frequency",
                    "total_periods",
                    "start",
                    "end",
                )
            },
        ),
        ("Attribution", {"fields": ("created_on", "created_by", "last_updated_on", "last_updated_by")}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("org")
            .annotate(shared_periods=Count("periods", filter=Q(periods__customer__isnull=True)))
        )

    @admin.display(description="periods", ordering="shared_periods")
    def period_count(self, group):
        return group.shared_periods

    def save_formset(self, request, form, formset, change):
        if formset.model is TargetPeriod:
            save_shared_periods(form.instance, formset)
        else:
            super().save_formset(request, form, formset, change)

    def prepare_child(self, request, parent, obj):
        super().prepare_child(request, parent, obj)
        if isinstance(obj, Streak):
            obj.continuous = continuous_streaks(parent)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        group = form.instance
        group.streaks.exclude(continuous=continuous_streaks(group)).update(
            continuous=continuous_streaks(group)
        )

    @admin.action(description="Generate periods from the frequency settings", permissions=["change"])
    def generate_periods(self, request, queryset):
        actor_now = clock.now()
        for group in queryset:
            if group.target_evaluation_type == EvaluationType.CYCLIC:
                self.message_user(
                    request,
                    f"{group}: a CYCLIC group's periods are created per customer; nothing generated.",
                    messages.WARNING,
                )
                continue
            try:
                with transaction.atomic():
                    # Refused when the new periods break the group (a streak longer than the
                    # periods, …); what was already incomplete (no rule yet) does not block.
                    known = set(validate_group(services.group_spec(group)))
                    periods = services.group_generate_periods(group=group)
                    errors = [e for e in validate_group(services.group_spec(group)) if e not in known]
                    if errors:
                        raise InvalidConfiguration(errors)
                    services.stamp_attribution(
                        group, actor=attributed_actor(request, group), now=actor_now, creating=False
                    )
                    group.save(update_fields=["last_updated_on", "last_updated_by"])
            except (services.ConfigurationConflict, PeriodGenerationError) as exc:
                self.message_user(request, f"{group}: {exc}; nothing changed.", messages.ERROR)
            except InvalidConfiguration as exc:
                self.message_user(request, f"{group}: {exc}; nothing changed.", messages.ERROR)
            else:
                self.message_user(request, f"{group}: {len(periods)} periods generated.", messages.SUCCESS)

    @admin.action(description="Activate", permissions=["change"])
    def activate(self, request, queryset):
        self._set_active(request, queryset, True)

    @admin.action(description="Deactivate", permissions=["change"])
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, False)

    def _set_active(self, request, queryset, active):
        changed = 0
        for group in queryset:
            changed += services.group_set_active(
                groups=[group], active=active, actor=attributed_actor(request, group), now=clock.now()
            )
        state = "activated" if active else "deactivated"
        self.message_user(request, f"{changed} group(s) {state}.", messages.SUCCESS)


class InvalidConfiguration(Exception):
    def __init__(self, errors):
        super().__init__("; ".join(str(e) for e in errors))


def save_shared_periods(group, formset):
    """Save the group's shared periods and number them 1, 2, … by start (ties keep their order;
    new rows go after the existing ones). Rows are parked on free values first, so that
    swapping two ref codes or renumbering never trips the unique constraints half-way."""
    changed = formset.save(commit=False)
    for period in formset.deleted_objects:
        period.delete()
    changed_ids = {p.pk for p in changed if p.pk}
    existing = [
        *TargetPeriod.objects.filter(group=group, customer__isnull=True).exclude(pk__in=changed_ids),
        *(p for p in changed if p.pk),
    ]
    new = [p for p in changed if not p.pk]
    TargetPeriod.objects.filter(pk__in=[p.pk for p in existing]).update(
        sequence=F("sequence") + PARKED_SEQUENCE,
        ref_code=Concat(Value("~parked-"), Cast("id", output_field=CharField())),
    )
    ordered = sorted(
        [*((p, (0, p.sequence)) for p in existing), *((p, (1, i)) for i, p in enumerate(new))],
        key=lambda item: (item[0].start, item[1]),
    )
    for sequence, (period, _) in enumerate(ordered, start=1):
        period.sequence = sequence
        period.group = group
        period.org_id = group.org_id
        period.save()
    formset.save_m2m()


# --- rules -----------------------------------------------------------------------------------


class TriggerInline(OrgRestrictedInline, admin.TabularInline):
    model = MilestoneTrigger
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
class TargetRuleAdmin(FormsetsOnInstance, OrgRestrictedAdmin):
    form = TargetRuleForm
    org_from = "group"
    list_display = (
        "id",
        "name",
        "group",
        "target_entity",
        "event_name",
        "target_type",
        "target_value",
        "active",
    )
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

    def get_inlines(self, request, obj):
        return [TriggerInline, PeriodValueInline] if obj is not None else [TriggerInline]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None:
            fields.append("group")  # progress rows tie the rule to its group's periods
        return fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group")


# --- enrolments and progress (read-only but for enrolling) -----------------------------------


@admin.register(GroupEnrolment)
class GroupEnrolmentAdmin(OrgRestrictedAdmin):
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

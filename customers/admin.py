"""Admin for orgs, actors and customers (SPEC §6), and the org restriction every admin screen of
the project shares (`OrgRestrictedMixin`).

Org restriction: a superuser sees everything. Any other staff user sees and edits only the rows
of its Actor's org: list and change querysets, foreign-key choices and the `org` of new rows are
all restricted to it; a row of another org answers 404, exactly like a row that does not exist.
A staff user without an Actor sees nothing and cannot add anything.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import router
from django.http import Http404
from django.utils.html import format_html, format_html_join

from customers.models import Actor, CommChannel, Customer, CustomerProfile, Org
from targets import clock
from targets.models import GroupEnrolment, TargetPeriod, UserStreak, UserTarget
from targets.services import stamp_attribution

ATTRIBUTION_FIELDS = ("created_on", "created_by", "last_updated_on", "last_updated_by")


# --- the org restriction ---------------------------------------------------------------------


def acting_actor(request):
    """The logged-in user's Actor, or None (a superuser may have none)."""
    return getattr(request.user, "actor", None)


def attributed_actor(request, obj):
    """The actor recorded in `obj`'s attribution: the user's, when it belongs to obj's org."""
    actor = acting_actor(request)
    return actor if actor is not None and actor.org_id == obj.org_id else None


def has_org(model):
    try:
        model._meta.get_field("org")
    except FieldDoesNotExist:
        return False
    return True


def org_lookup_for(model):
    """How rows of `model` reach their org, or None for models that are not org data."""
    if model is Org:
        return "id"
    if model is get_user_model():
        return "actor__org_id"
    if has_org(model):
        return "org_id"
    return None


def restrict_to_admin_org(queryset, request, *, lookup=None):
    """`queryset` limited to what the request's user may see in the admin."""
    if request.user.is_superuser:
        return queryset
    lookup = lookup or org_lookup_for(queryset.model)
    if lookup is None:
        return queryset
    actor = acting_actor(request)
    if actor is None:
        return queryset.none()
    return queryset.filter(**{lookup: actor.org_id})


class OrgScopedForm(forms.ModelForm):
    """The base form of every admin form. `fixed_org_id` (set per request by the admin) gives
    a new row its org before validation, so that the model's clean() and the constraints that
    involve `org` see it even though `org` is not a form field."""

    fixed_org_id = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.fixed_org_id is not None and self.instance.org_id is None:
            self.instance.org_id = self.fixed_org_id

    def _post_clean(self):
        super()._post_clean()
        # Django skips a constraint when one of its fields is not on the form. `org` is often
        # read-only or fixed, so constraints such as unique (org, name) are checked here.
        if not has_org(self._meta.model) or "org" in self.fields or self.instance.org_id is None:
            return
        model = type(self.instance)
        exclude = {f.name for f in model._meta.fields} - set(self.cleaned_data) - {"org"}
        for constraint in model._meta.constraints:
            if "org" in getattr(constraint, "fields", ()):
                try:
                    constraint.validate(
                        model, self.instance, exclude=exclude, using=router.db_for_write(model)
                    )
                except ValidationError as error:
                    self.add_error(None, error)


class OrgRestrictedMixin:
    """Querysets and foreign-key choices limited to the user's org (admins and inlines).

    `org_lookup`: how this admin's rows reach their org (default: the model's `org`)."""

    org_lookup = None
    form = OrgScopedForm

    def get_queryset(self, request):
        return restrict_to_admin_org(super().get_queryset(request), request, lookup=self.org_lookup)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        queryset = kwargs.get("queryset")
        if queryset is None:
            queryset = self.get_field_queryset(kwargs.get("using"), db_field, request)
        if queryset is None:
            queryset = db_field.remote_field.model._default_manager.using(kwargs.get("using")).all()
        kwargs["queryset"] = restrict_to_admin_org(queryset, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = restrict_to_admin_org(
                db_field.remote_field.model._default_manager.all(), request
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class OrgRestrictedAdmin(OrgRestrictedMixin, admin.ModelAdmin):
    """The base of every ModelAdmin of the project.

    `org_from`: a foreign key whose org a row's org copies (a rule takes its group's org).
    Without it, a superuser picks the org of a new row and anyone else gets their own. An org
    never changes afterwards (the rows below it follow it), so `org` is read-only on change."""

    org_from = None

    def org_is_picked(self, request, obj):
        return request.user.is_superuser and obj is None and self.org_from is None

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if has_org(self.model) and not self.org_is_picked(request, obj) and "org" not in fields:
            fields.append("org")
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # get_form builds a new class per call, so this attribute is per request.
        if has_org(self.model) and obj is None and self.org_from is None and not request.user.is_superuser:
            form.fixed_org_id = acting_actor(request).org_id
        return form

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        actor = acting_actor(request)
        if has_org(self.model) and actor is not None:
            initial.setdefault("org", actor.org_id)
        return initial

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser and has_org(self.model):
            filters.append("org")
        return filters

    def has_add_permission(self, request, *args):
        if not request.user.is_superuser and acting_actor(request) is None:
            return False
        return super().has_add_permission(request, *args)

    def get_object(self, request, object_id, from_field=None):
        # A row of another org and a row that does not exist look the same: 404 (Django's
        # default redirects to the index with a message naming the id).
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id.")
        return obj

    def assign_org(self, request, obj):
        if not has_org(type(obj)):
            return
        if self.org_from is not None:
            obj.org_id = getattr(obj, self.org_from).org_id
        elif obj.org_id is None and acting_actor(request) is not None:
            obj.org_id = acting_actor(request).org_id

    def save_model(self, request, obj, form, change):
        self.assign_org(request, obj)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        """Child rows always take their org from the parent; nobody picks it."""
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for obj in instances:
            self.prepare_child(request, form.instance, obj)
            obj.save()
        formset.save_m2m()

    def prepare_child(self, request, parent, obj):
        if has_org(type(obj)):
            obj.org_id = parent.org_id if has_org(type(parent)) else parent.id


class OrgRestrictedInline(OrgRestrictedMixin):
    """The base of every inline: `org` is never on the form; the parent admin sets it."""

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or ())
        if has_org(self.model) and "org" not in exclude:
            exclude.append("org")
        return exclude


class AttributedAdmin(OrgRestrictedAdmin):
    """Created/updated on/by are filled from the logged-in user's Actor on every save and are
    read-only. An actor of another org than the row (a superuser working on another org) is
    not recorded: the row's attribution only names actors of its own org."""

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields + [f for f in ATTRIBUTION_FIELDS if f not in fields]

    def save_model(self, request, obj, form, change):
        self.assign_org(request, obj)
        actor = attributed_actor(request, obj)
        stamp_attribution(obj, actor=actor, now=clock.now(), creating=not change)
        super().save_model(request, obj, form, change)


class ReadOnlyInline(OrgRestrictedInline, admin.TabularInline):
    """A view of rows that the engine or the API maintain."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return list(self.fields)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(OrgRestrictedAdmin):
    """Rows written by the engine or the API: listed and viewed, never added or edited here."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- orgs and actors -------------------------------------------------------------------------


class ChildOrgInline(ReadOnlyInline):
    """An org's connected children, read-only."""

    model = Org
    fk_name = "parent"
    org_lookup = "parent_id"
    fields = ("id", "name", "timezone")
    verbose_name = "connected child org"
    verbose_name_plural = "connected child orgs"


@admin.register(Org)
class OrgAdmin(OrgRestrictedAdmin):
    list_display = ("id", "name", "timezone", "parent")
    search_fields = ("name", "id__exact")
    fields = ("id", "name", "timezone", "parent")
    inlines = [ChildOrgInline]

    def get_readonly_fields(self, request, obj=None):
        fields = ["id", *super().get_readonly_fields(request, obj)]
        if not request.user.is_superuser:
            fields.append("parent")  # connecting orgs is the platform's decision
        return fields

    def get_fields(self, request, obj=None):
        return self.fields if obj is not None else ("name", "timezone", "parent")

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


@admin.register(Actor)
class ActorAdmin(OrgRestrictedAdmin):
    list_display = ("id", "code", "name", "type", "org", "user")
    list_filter = ("type",)
    search_fields = ("code", "name", "id__exact")
    fields = ("org", "code", "name", "description", "type", "user")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if not request.user.is_superuser:
            fields.append("user")  # which login acts as which actor is a superuser's decision
        return fields


# --- customers ---------------------------------------------------------------------------------


class ProfileInline(OrgRestrictedInline, admin.StackedInline):
    model = CustomerProfile
    fields = ("first_name", "last_name", "source", "account_id", "org_source_id")
    extra = 0
    show_change_link = True  # the profile's own page edits its comm channels


class EnrolmentInline(ReadOnlyInline):
    model = GroupEnrolment
    fields = ("group", "enrolled_on", "source")
    verbose_name_plural = "enrolments"


class UserTargetInline(ReadOnlyInline):
    model = UserTarget
    fields = ("id", "rule", "period", "achieved_value", "achieved_at", "enrolled_on")
    verbose_name_plural = "progress (user targets)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("rule", "period").order_by("rule_id", "period_id")


class UserStreakInline(ReadOnlyInline):
    model = UserStreak
    fields = ("id", "streak", "status", "current_count", "achieved_at", "achieved_user_target")
    verbose_name_plural = "streaks"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("streak")


class CyclicPeriodInline(ReadOnlyInline):
    model = TargetPeriod
    fk_name = "customer"
    fields = ("id", "group", "ref_code", "sequence", "start", "end")
    verbose_name_plural = "own periods (CYCLIC groups)"
    show_change_link = False


@admin.register(Customer)
class CustomerAdmin(AttributedAdmin):
    list_display = ("id", "display_name", "org", "loyalty_type", "lifetime_purchases", "created_on")
    list_filter = ("loyalty_type",)
    search_fields = (
        "id__exact",
        "profiles__first_name",
        "profiles__last_name",
        "profiles__channels__value",
    )
    fieldsets = (
        (None, {"fields": ("org", "loyalty_type", "lifetime_purchases", "custom_fields")}),
        ("Comm channels", {"fields": ("comm_channels",)}),
        ("Attribution", {"fields": ATTRIBUTION_FIELDS}),
    )
    inlines = [ProfileInline, EnrolmentInline, UserTargetInline, UserStreakInline, CyclicPeriodInline]

    def get_readonly_fields(self, request, obj=None):
        # lifetime_purchases is maintained by the engine.
        return [*super().get_readonly_fields(request, obj), "lifetime_purchases", "comm_channels"]

    def save_model(self, request, obj, form, change):
        if change:  # the engine's fields as they are now, under the row's lock, not as read
            current = Customer.objects.select_for_update().filter(pk=obj.pk).values(*Customer.ENGINE_FIELDS)
            for field, value in current.get().items():
                setattr(obj, field, value)
        super().save_model(request, obj, form, change)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("profiles")

    @admin.display(description="name")
    def display_name(self, customer):
        profile = next(iter(customer.profiles.all()), None)
        return str(profile) if profile else ""

    @admin.display(description="comm channels")
    def comm_channels(self, customer):
        if customer.pk is None:
            return "-"
        channels = CommChannel.objects.filter(profile__customer=customer).order_by("profile_id", "id")
        if not channels:
            return "none (edit them on the profile's page)"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{}: {}{}</li>",
                (
                    (
                        c.type,
                        c.value,
                        "".join(
                            f", {flag}"
                            for flag, on in (("primary", c.primary), ("verified", c.verified))
                            if on
                        ),
                    )
                    for c in channels
                ),
            ),
        )


class ChannelInline(OrgRestrictedInline, admin.TabularInline):
    model = CommChannel
    fields = ("type", "value", "primary", "verified", "subscribed", "account_id", "attributes")
    extra = 0


@admin.register(CustomerProfile)
class CustomerProfileAdmin(OrgRestrictedAdmin):
    org_from = "customer"
    list_display = ("id", "customer", "first_name", "last_name", "source")
    search_fields = ("first_name", "last_name", "customer__id__exact", "channels__value")
    fields = ("customer", "org", "first_name", "last_name", "source", "account_id", "org_source_id")
    inlines = [ChannelInline]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None:
            fields.append("customer")  # a profile never moves to another customer
        return fields

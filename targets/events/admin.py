"""Webhook endpoints and their delivery log in the admin (docs/events.md)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from customers.admin import OrgRestrictedAdmin, OrgScopedForm, ReadOnlyAdmin, restrict_to_admin_org
from targets import clock
from targets.events import dispatch
from targets.events.models import EventType, WebhookDelivery, WebhookEndpoint
from targets.events.sequencer import last_position
from targets.events.signing import new_secret
from targets.events.webhooks import clean_endpoint


class WebhookEndpointForm(OrgScopedForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every type.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "event_types", "active")

    def clean(self):
        data = super().clean()
        if "url" in data:
            try:
                data["event_types"] = clean_endpoint(
                    url=data["url"], event_types=data.get("event_types") or []
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error("url" if field == "url" else "event_types", errors)
        return data


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrgRestrictedAdmin):
    form = WebhookEndpointForm
    list_display = ("id", "url", "org", "active", "types", "secret_hint", "created_on", "log")
    list_filter = ("active",)
    search_fields = ("url", "description")
    readonly_fields = ("secret_hint", "created_on")
    actions = ["send_test_event"]

    def get_fields(self, request, obj=None):
        fields = ["url", "description", "event_types", "active"]
        if self.org_is_picked(request, obj):
            fields.insert(0, "org")
        return fields + (["secret_hint", "created_on"] if obj else [])

    @admin.display(description="delivery log")
    def log(self, obj):
        url = reverse("admin:events_webhookdelivery_changelist") + f"?endpoint__id__exact={obj.pk}"
        return format_html('<a href="{}">deliveries</a>', url)

    @admin.display(description="event types")
    def types(self, obj):
        return ", ".join(obj.event_types) or "every type"

    @admin.display(description="secret")
    def secret_hint(self, obj):
        return obj.secret_hint

    def save_model(self, request, obj, form, change):
        if not change:
            self.assign_org(request, obj)
            obj.secret = new_secret()
            obj.created_on = clock.now()
            obj.cursor = last_position(org_id=obj.org_id)
        super().save_model(request, obj, form, change)
        if not change:
            messages.warning(
                request,
                f"Signing secret of endpoint {obj.pk}, shown this once — store it now: {obj.secret}",
            )

    @admin.action(description="Send a test event")
    def send_test_event(self, request, queryset):
        for endpoint in queryset:
            dispatch.send_test_event(endpoint, now=timezone.now())
        self.message_user(request, f"Test event queued for {queryset.count()} endpoint(s).")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    org_lookup = "endpoint__org_id"
    list_display = (
        "uuid",
        "endpoint",
        "event_type",
        "user_id",
        "status",
        "attempts",
        "last_response_code",
        "last_attempt_at",
        "next_attempt_at",
    )
    list_filter = ("status",)
    search_fields = ("uuid", "user_id")
    list_select_related = ("endpoint", "event")
    fields = (
        "uuid",
        "endpoint",
        "event",
        "event_type",
        "user_id",
        "status",
        "attempts",
        "created_at",
        "first_attempt_at",
        "last_attempt_at",
        "next_attempt_at",
        "last_response_code",
        "last_error",
        "delivered_at",
    )
    readonly_fields = fields
    actions = ["resend"]

    def get_list_filter(self, request):
        return ("status",)  # not by endpoint: its choices would list other orgs' URLs

    def lookup_allowed(self, lookup, value, request=None):
        # The endpoints' "deliveries" link (the queryset is restricted to the user's org).
        return lookup == "endpoint__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="event")
    def event_type(self, obj):
        return obj.event.type if obj.event_id else "TEST"

    @admin.action(description="Resend (same delivery id)")
    def resend(self, request, queryset):
        rows = restrict_to_admin_org(queryset, request, lookup=self.org_lookup)
        count = dispatch.resend(rows, now=timezone.now())
        self.message_user(request, f"{count} delivery(ies) queued again.")

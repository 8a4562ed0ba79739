"""GET /v3.1/events: the caller's event feed (docs/events.md)."""

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from config.exceptions import APIError, Codes, envelope
from customers.permissions import CanReadTargetGroups
from customers.scopes import parse_headers, readable_org_ids
from targets.api import schema
from targets.api.filters import LongIdFilter
from targets.events import feed
from targets.events.models import Event, EventType


class CursorField(forms.Field):
    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            return feed.decode_cursor(str(value).strip())
        except feed.BadCursor as exc:
            raise forms.ValidationError(str(exc)) from exc


class TypesField(forms.Field):
    """One event type or several, comma-separated."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        names = [name.strip().upper() for name in str(value).split(",") if name.strip()]
        unknown = [name for name in names if name not in EventType.values]
        if unknown or not names:
            raise forms.ValidationError(f"unknown event type {(unknown or [value])[0][:40]!r}")
        return names


class CursorFilter(django_filters.Filter):
    field_class = CursorField


class TypesFilter(django_filters.Filter):
    field_class = TypesField


class LimitFilter(django_filters.Filter):
    field_class = forms.IntegerField


class EventFeedFilterSet(django_filters.FilterSet):
    after = CursorFilter(method="_noop", help_text="a cursor of this feed")
    limit = LimitFilter(method="_noop", min_value=1, max_value=feed.MAX_LIMIT, help_text="events per page")
    type = TypesFilter(method="_noop", help_text="event types")
    userId = LongIdFilter(method="_noop", help_text="one customer's events")

    class Meta:
        model = Event
        fields = []

    def _noop(self, queryset, name, value):
        return queryset

    def is_valid(self):
        valid = super().is_valid()
        for name in self.filters:
            if len(self.data.getlist(name)) > 1:
                self.form.add_error(name, "is given more than once")
                valid = False
        return valid


class EventSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Stable event id: receivers deduplicate on it")
    type = serializers.ChoiceField(choices=EventType.choices)
    occurredAt = serializers.RegexField(schema.INSTANT_Z, help_text="The moment of the activity (or change)")
    emittedAt = serializers.RegexField(schema.INSTANT_Z, help_text="When the event was written")
    orgId = serializers.IntegerField()
    userId = serializers.IntegerField()
    groupId = serializers.IntegerField(allow_null=True)
    groupName = serializers.CharField(allow_null=True)
    targetRuleId = serializers.IntegerField(allow_null=True)
    targetName = serializers.CharField(allow_null=True)
    periodId = serializers.IntegerField(allow_null=True)
    periodRefCode = serializers.CharField(allow_null=True)
    triggerId = serializers.IntegerField(allow_null=True)
    triggerName = serializers.CharField(allow_null=True)
    streakId = serializers.IntegerField(allow_null=True)
    streakName = serializers.CharField(allow_null=True)
    achievedValue = serializers.FloatField(allow_null=True)
    targetValue = serializers.FloatField(allow_null=True)
    activityId = serializers.IntegerField(allow_null=True, help_text="The activity that caused it")
    revokedType = serializers.CharField(
        allow_null=True,
        help_text="ACHIEVEMENT_REVOKED: the type of the achievement it takes back (one of the event types)",
    )
    source = serializers.CharField(allow_null=True, help_text="ENROLLED/UNENROLLED: who enrolled")


class EventPageSerializer(serializers.Serializer):
    events = EventSerializer(many=True)
    cursor = serializers.CharField(help_text="Pass as `after` to read on (also when the page is empty)")
    hasMore = serializers.BooleanField()


@extend_schema_serializer(many=False)  # one envelope, although the view action is `list`
class EventFeedResponseSerializer(serializers.Serializer):
    data = EventPageSerializer()
    errors = serializers.JSONField(allow_null=True)
    warnings = serializers.JSONField(allow_null=True)


class EventFeedViewSet(viewsets.ViewSet):
    permission_classes = [CanReadTargetGroups]
    filterset_class = EventFeedFilterSet
    queryset = Event.objects.none()

    @extend_schema(
        operation_id="getEvents",
        summary="Achievement events of the orgs in scope, oldest first",
        parameters=[
            OpenApiParameter("after", OpenApiTypes.STR, description="The `cursor` of the previous page"),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description=f"1–{feed.MAX_LIMIT}, default {feed.DEFAULT_LIMIT}"
            ),
            OpenApiParameter(
                "type",
                OpenApiTypes.STR,
                description="Event types, comma-separated: " + ", ".join(EventType.values),
            ),
            OpenApiParameter("userId", OpenApiTypes.INT64, description="Only this customer's events"),
            *schema.SCOPE_HEADERS,
        ],
        responses={
            200: EventFeedResponseSerializer,
            400: schema.error_response(
                400,
                (300004, "Invalid input: after: not a cursor of this feed", "invalid cursor"),
                (300004, "Invalid input: DATA-SCOPE must be SELF, OTHER or ALL", "invalid DATA-SCOPE"),
            ),
            401: schema.COMMON_ERRORS[401],
            403: schema.READ_RESPONSES[403],
            500: schema.COMMON_ERRORS[500],
        },
        filters=False,
    )
    def list(self, request):
        org_ids = readable_org_ids(org=request.user.actor.org, headers=parse_headers(request.headers))
        params = self.filterset_class(request.query_params, queryset=self.queryset)
        if not params.is_valid():
            raise APIError(
                status.HTTP_400_BAD_REQUEST,
                Codes.INVALID_INPUT,
                errors=[
                    {"code": Codes.INVALID_INPUT, "message": f"Invalid input: {name}: {' '.join(messages)}"}
                    for name, messages in params.errors.items()
                ],
            )
        data = params.form.cleaned_data
        page = feed.event_page(
            org_ids=org_ids,
            after=data.get("after") or 0,
            limit=data["limit"] if data.get("limit") is not None else feed.DEFAULT_LIMIT,
            types=data.get("type"),
            user_id=data.get("userId"),
        )
        return Response(envelope(None, data=page.as_api()))

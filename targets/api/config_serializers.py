"""Request and response bodies of /v3/targetGroups (SPEC §5), in the original platform's field
names. Serializers only parse input shape (types, enums, required fields, unknown fields) and
render output; the invariants between fields are `targets.validation`'s, applied by
`targets.configuration`.

Input is strict: JSON types are not coerced (`"true"` is not a boolean, `"3"` not an integer),
enum values are exact, and a field this API does not know is an error rather than being dropped
(so an option of the original platform we do not support is never ignored silently). Read-only
fields (`id`, `orgId`, `attribution`) are accepted and ignored, so a GET body can be PUT back.
"""

import re
from collections.abc import Mapping
from datetime import date

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import empty

from config.ids import MAX_LONG
from targets import limits
from targets.api.schema import AttributionSerializer, ErrorItemSerializer
from targets.clock import parse_instant
from targets.formats import attribution_time, instant_z
from targets.models import (
    Enrolment,
    EvaluationType,
    FrequencyType,
    TargetEntity,
    TargetType,
    TrackingType,
)
from targets.serialize import number

MAX_USER_IDS = 1000
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


# ---------------------------------------------------------------------------------------------
# Strict fields


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "must be true or false"}

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        self.fail("invalid")


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "must be an integer"}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def IdField(**kwargs):  # noqa: N802 - a field factory reads like a field class
    return StrictIntegerField(min_value=1, max_value=MAX_LONG, **kwargs)


class EnumField(serializers.ChoiceField):
    """An exact enum value; the error lists the allowed ones."""

    def __init__(self, choices, **kwargs):
        values = [value for value, _label in choices]
        kwargs.setdefault(
            "error_messages", {"invalid_choice": f'"{{input}}" is not one of {", ".join(values)}'}
        )
        super().__init__(choices=values, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=str(data)[:40])
        return super().to_internal_value(data)


class ValueField(serializers.DecimalField):
    """A decimal with up to 3 places, given as a JSON number or a numeric string; rendered as a
    JSON number."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=18, decimal_places=3, coerce_to_string=False, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "type": "string",
        "example": "2024-08-27T00:00:00Z",
        "description": "An ISO-8601 instant with a timezone, or a date (YYYY-MM-DD) meaning the org's local "
        "day: 00:00:00 for a start, 23:59:59 for an end. Rendered as 2024-08-27T00:00:00.000Z.",
    }
)
class InstantOrDateField(serializers.Field):
    default_error_messages = {
        "invalid": "must be an ISO-8601 instant with a timezone (2024-08-27T09:35:24Z) "
        "or a date (2024-08-27)",
        "range": f"must be {limits.RANGE_TEXT}",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        text = data.strip()
        if _DATE.fullmatch(text):
            try:
                day = date.fromisoformat(text)
            except ValueError:
                self.fail("invalid")
            # A local day of an org east or west of UTC must stay inside the UTC range too.
            if not limits.EARLIEST_YEAR < day.year < limits.LATEST_YEAR:
                self.fail("range")
            return day
        try:
            instant = parse_instant(text)
        except ValueError:
            self.fail("invalid")
        if not limits.in_range(instant):
            self.fail("range")
        return instant

    def to_representation(self, value):
        return instant_z(value)


# ---------------------------------------------------------------------------------------------
# Bodies


class StrictSerializer(serializers.Serializer):
    """Reports fields it does not know, together with the other errors."""

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            unknown = {key: ["unknown field"] for key in data if key not in self.fields}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not unknown or not isinstance(exc.detail, Mapping):
                raise
            raise serializers.ValidationError({**exc.detail, **unknown}) from None
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class MilestoneTriggerSerializer(StrictSerializer):
    id = IdField(required=False, help_text="Read: the trigger's id. Write: update that trigger.")
    triggerName = StrictCharField(source="trigger_name", max_length=200, allow_blank=True)
    triggerValue = ValueField(source="trigger_value", help_text="Absolute value, at most the target's value")


class TargetRuleSerializer(StrictSerializer):
    id = IdField(required=False, help_text="Read: the targetRuleId. Write: update that rule.")
    name = StrictCharField(max_length=200, allow_blank=True)
    active = StrictBooleanField(default=True)
    targetEntity = EnumField(TargetEntity.choices, source="target_entity")
    eventName = StrictCharField(source="event_name", max_length=100, help_text="e.g. TransactionAdd")
    targetType = EnumField(TargetType.choices, source="target_type")
    attribute = StrictCharField(
        max_length=100, allow_blank=True, default="", help_text="For SUM: the activity attribute to add"
    )
    value = ValueField(source="target_value", help_text="The target value per period, > 0")
    milestones = MilestoneTriggerSerializer(
        many=True,
        source="triggers",
        default=list,
        max_length=limits.MAX_TRIGGERS,
        error_messages={"max_length": "at most {max_length} milestones per target"},
    )


class GroupPeriodSerializer(StrictSerializer):
    id = IdField(required=False, help_text="Read: the period's id. Write: update that period.")
    refCode = StrictCharField(source="ref_code", max_length=100, allow_blank=True, help_text="e.g. Cycle_1")
    startDate = InstantOrDateField(source="start", required=False, help_text="Required for FIXED groups")
    endDate = InstantOrDateField(source="end", required=False, help_text="Required for FIXED groups")


class GroupStreakSerializer(StrictSerializer):
    id = IdField(required=False, help_text="Read: the streak's id. Write: update that streak.")
    name = StrictCharField(max_length=200, allow_blank=True)
    targetCountOfSequence = StrictIntegerField(
        source="target_count_of_sequence",
        max_value=limits.MAX_PERIODS,
        help_text="Achieved periods needed, 1 ≤ n ≤ number of periods",
    )


class RefreshSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["PENDING", "RUNNING", "DONE", "FAILED"])
    customersDone = serializers.IntegerField()
    customersTotal = serializers.IntegerField()
    requestedOn = serializers.CharField(help_text="e.g. 2024-08-27T09:35:24.000+0000")
    finishedOn = serializers.CharField(allow_null=True)
    background = serializers.BooleanField(help_text="Run by a background task (many customers)")


class TargetGroupSerializer(StrictSerializer):
    """A target group with its periods, targets (rules with milestone triggers) and streaks."""

    id = serializers.IntegerField(read_only=True)
    orgId = serializers.IntegerField(source="org_id", read_only=True)
    name = StrictCharField(allow_blank=True, help_text="Unique in the org, at most 200 characters")
    description = StrictCharField(allow_blank=True, default="", max_length=limits.MAX_TEXT)
    active = StrictBooleanField(default=True)
    targetEvaluationType = EnumField(EvaluationType.choices, source="target_evaluation_type")
    trackingType = EnumField(TrackingType.choices, source="tracking_type")
    preferredTillId = IdField(
        source="preferred_till_id", allow_null=True, default=None, help_text="A TILL actor of the group's org"
    )
    enrolment = EnumField(Enrolment.choices, default=Enrolment.ALL_CUSTOMERS)
    frequencyType = EnumField(FrequencyType.choices, source="frequency_type", default=FrequencyType.DAILY)
    frequency = StrictIntegerField(
        min_value=1,
        max_value=limits.MAX_FREQUENCY,
        default=1,
        help_text="Periods last frequency × frequencyType",
    )
    totalPeriods = StrictIntegerField(
        source="total_periods", min_value=1, max_value=limits.MAX_PERIODS, allow_null=True, default=None
    )
    startDate = InstantOrDateField(source="start")
    endDate = InstantOrDateField(source="end")
    countActivityFrom = InstantOrDateField(
        source="count_activity_from",
        required=False,
        allow_null=True,
        default=None,
        help_text="Count activity received from this moment on (null: from the group's creation). Set it "
        "earlier, e.g. to startDate, to count the customers' past activity (a backdated program).",
    )
    periods = GroupPeriodSerializer(
        many=True,
        required=False,
        max_length=limits.MAX_PERIODS,
        error_messages={"max_length": "at most {max_length} periods"},
        help_text="Generated from the frequency settings when absent; never given for CYCLIC_WINDOW groups "
        "(their periods are created per customer). Left out of list items with includePeriods=false.",
    )
    # Parsing stops at 10 × the cap; validate_group words the exact rule for the tracking type.
    targets = TargetRuleSerializer(
        many=True,
        source="rules",
        max_length=10 * limits.MAX_RULES,
        error_messages={"max_length": f"at most {limits.MAX_RULES} targets"},
    )
    streaks = GroupStreakSerializer(
        many=True,
        default=list,
        max_length=limits.MAX_STREAKS,
        error_messages={"max_length": "at most {max_length} streaks"},
        help_text="Only for STREAKS and NON_CONTINUOUS_STREAK",
    )
    attribution = AttributionSerializer(read_only=True)
    refresh = RefreshSerializer(
        read_only=True,
        required=False,
        allow_null=True,
        help_text="The latest refresh of customer progress after a configuration change (null when the "
        "configuration never changed)",
    )

    def __init__(self, *args, patch=False, **kwargs):
        self.patch = patch
        super().__init__(*args, **kwargs)

    def get_fields(self):
        fields = super().get_fields()
        if self.patch:
            # PATCH: a top-level field left out keeps its value (no default applies); nested
            # items given are still complete descriptions.
            for item in fields.values():
                if not item.read_only:
                    item.required = False
                    item.default = empty
        return fields

    def to_representation(self, instance):
        return group_representation(instance, include_periods=self.context.get("include_periods", True))


def _actor(actor):
    if actor is None:
        return None
    return {
        "id": actor.id,
        "code": actor.code,
        "description": actor.description,
        "name": actor.name,
        "type": actor.type,
    }


def group_representation(group, *, include_periods=True, refresh=True) -> dict:
    """The response body of one group. Expects periods (shared only, `shared_periods`), rules
    with triggers, streaks and the attribution actors to be prefetched. `refresh`: the group's
    latest RefreshState (or None), fetched for a whole page by `refresh_states`; True fetches it
    (one query)."""
    body = {
        "id": group.id,
        "orgId": group.org_id,
        "name": group.name,
        "description": group.description,
        "active": group.active,
        "targetEvaluationType": group.target_evaluation_type,
        "trackingType": group.tracking_type,
        "preferredTillId": group.preferred_till_id,
        "enrolment": group.enrolment,
        "frequencyType": group.frequency_type,
        "frequency": group.frequency,
        "totalPeriods": group.total_periods,
        "startDate": instant_z(group.start),
        "endDate": instant_z(group.end),
        "countActivityFrom": instant_z(group.count_activity_from) if group.count_activity_from else None,
    }
    if include_periods:
        body["periods"] = [
            {
                "id": p.id,
                "refCode": p.ref_code,
                "startDate": instant_z(p.start),
                "endDate": instant_z(p.end),
            }
            for p in group.shared_periods
        ]
    body["targets"] = [
        {
            "id": r.id,
            "name": r.name,
            "active": r.active,
            "targetEntity": r.target_entity,
            "eventName": r.event_name,
            "targetType": r.target_type,
            "attribute": r.attribute,
            "value": number(r.target_value),
            "milestones": [
                {"id": t.id, "triggerName": t.trigger_name, "triggerValue": number(t.trigger_value)}
                for t in r.triggers.all()
            ],
        }
        for r in group.rules.all()
    ]
    body["streaks"] = [
        {"id": s.id, "name": s.name, "targetCountOfSequence": s.target_count_of_sequence}
        for s in group.streaks.all()
    ]
    body["attribution"] = {
        "createdOn": attribution_time(group.created_on),
        "lastUpdatedOn": attribution_time(group.last_updated_on),
        "lastUpdatedBy": _actor(group.last_updated_by),
        "createdBy": _actor(group.created_by),
    }
    if refresh is True:
        from targets.refresh import group_refresh_state

        refresh = group_refresh_state(group)
    body["refresh"] = refresh.as_api() if refresh else None
    return body


class EnrolSerializer(StrictSerializer):
    userIds = serializers.ListField(
        child=IdField(), min_length=1, max_length=MAX_USER_IDS, help_text="Customer ids (userId), 1 to 1000"
    )
    initialBalance = ValueField(
        required=False,
        allow_null=True,
        help_text="The achieved value each customer starts the current period with (every target of the "
        "group), stored as an adjustment entry of the activity log. Null or absent: a new enrolment starts "
        "at 0, a re-enrolment resumes from the value at which the customer was unenrolled.",
    )
    resetStreakStatus = StrictBooleanField(
        required=False,
        default=False,
        help_text="On re-enrolment: true starts the customer's streaks afresh (periods achieved before do "
        "not count); false (default) continues them.",
    )


class UnenrolSerializer(StrictSerializer):
    userIds = serializers.ListField(
        child=IdField(), min_length=1, max_length=MAX_USER_IDS, help_text="Customer ids (userId), 1 to 1000"
    )


# ---------------------------------------------------------------------------------------------
# Response envelopes, for the schema only


class WarningItemSerializer(ErrorItemSerializer):
    pass


class TargetGroupEnvelopeSerializer(serializers.Serializer):
    data = TargetGroupSerializer()
    errors = serializers.JSONField(allow_null=True, help_text="null")
    warnings = WarningItemSerializer(many=True, allow_null=True)


class PaginationSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    pageSize = serializers.IntegerField()
    totalCount = serializers.IntegerField()
    totalPages = serializers.IntegerField()


@extend_schema_serializer(many=False)  # the list action answers one envelope, not a list of them
class TargetGroupListEnvelopeSerializer(serializers.Serializer):
    data = TargetGroupSerializer(many=True)
    errors = serializers.JSONField(allow_null=True, help_text="null")
    warnings = serializers.JSONField(allow_null=True, help_text="null")
    pagination = PaginationSerializer()


class DeletedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    deleted = serializers.BooleanField()


@extend_schema_field(OpenApiTypes.OBJECT)
class DeleteDataField(serializers.JSONField):
    pass


class DeleteEnvelopeSerializer(serializers.Serializer):
    data = DeleteDataField(
        help_text="{id, deleted: true} when deleted; the deactivated group when it holds progress"
    )
    errors = serializers.JSONField(allow_null=True, help_text="null")
    warnings = WarningItemSerializer(many=True, allow_null=True)


class EnrolResultSerializer(serializers.Serializer):
    userId = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=["ENROLLED", "ALREADY_ENROLLED", "UNENROLLED", "NOT_ENROLLED", "NOT_FOUND"]
    )


class EnrolEnvelopeSerializer(serializers.Serializer):
    data = EnrolResultSerializer(many=True)
    errors = serializers.JSONField(allow_null=True, help_text="null")
    warnings = WarningItemSerializer(many=True, allow_null=True)

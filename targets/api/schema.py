"""OpenAPI documentation of the read endpoint and the error envelope (drf-spectacular).

The response is built as plain dicts by the selector; these serializers only describe it."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorItemSerializer(serializers.Serializer):
    code = serializers.IntegerField()
    message = serializers.CharField()


class ErrorEnvelopeSerializer(serializers.Serializer):
    data = serializers.JSONField(allow_null=True, help_text="Always null on errors")
    errors = ErrorItemSerializer(many=True)
    warnings = serializers.JSONField(allow_null=True)


class ActorRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(allow_null=True)
    description = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    type = serializers.CharField(allow_null=True)


class AttributionSerializer(serializers.Serializer):
    createdOn = serializers.CharField(help_text="2024-08-27T09:35:24.000+0000")
    lastUpdatedOn = serializers.CharField()
    lastUpdatedBy = ActorRefSerializer(allow_null=True)
    createdBy = ActorRefSerializer(allow_null=True)


class CommChannelSerializer(serializers.Serializer):
    type = serializers.CharField()
    accountId = serializers.CharField(allow_null=True)
    value = serializers.CharField()
    primary = serializers.BooleanField()
    verified = serializers.BooleanField()
    subscribed = serializers.BooleanField(allow_null=True)
    attributes = serializers.JSONField(allow_null=True)


class ProfileSerializer(serializers.Serializer):
    firstName = serializers.CharField()
    lastName = serializers.CharField()
    commChannels = CommChannelSerializer(many=True)
    source = serializers.CharField()
    accountId = serializers.CharField()
    userId = serializers.IntegerField()
    orgSourceId = serializers.IntegerField()


class LoyaltyInfoSerializer(serializers.Serializer):
    attribution = AttributionSerializer()
    loyaltyType = serializers.CharField()
    lifetimePurchases = serializers.FloatField()


class CustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    profiles = ProfileSerializer(many=True)
    loyaltyInfo = LoyaltyInfoSerializer()
    customFields = serializers.DictField()


class MilestoneSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    triggerName = serializers.CharField()
    triggerValue = serializers.FloatField()
    isAchieved = serializers.BooleanField()


class TargetSerializer(serializers.Serializer):
    targetId = serializers.IntegerField(allow_null=True, help_text="The UserTarget id; null without progress")
    orgId = serializers.IntegerField()
    periodId = serializers.IntegerField()
    periodRefCode = serializers.CharField()
    periodStartDate = serializers.CharField(help_text="UTC date, 2024-08-27")
    periodEndDate = serializers.CharField()
    targetValue = serializers.FloatField()
    targetAchievedValue = serializers.FloatField()
    targetName = serializers.CharField()
    targetType = serializers.CharField()
    targetEntity = serializers.CharField()
    targetRuleId = serializers.IntegerField()
    enrolledOn = serializers.CharField(
        help_text="2024-08-27T09:43:41.000+0000; the request time without progress"
    )
    eventName = serializers.CharField()
    periodStartDateWithTimeStamp = serializers.CharField(help_text="2024-08-27T09:43:41.000Z")
    periodEndDateWithTimeStamp = serializers.CharField()
    targetAchievedDateTime = serializers.CharField(allow_null=True)
    streakAchievedDateTime = serializers.CharField(allow_null=True)
    currentPeriod = serializers.BooleanField()
    milestones = MilestoneSerializer(many=True, allow_null=True)


class StreakSerializer(serializers.Serializer):
    userStreakId = serializers.IntegerField(allow_null=True)
    streakId = serializers.IntegerField()
    streakName = serializers.CharField()
    status = serializers.ChoiceField(choices=["NOT_STARTED", "IN_PROGRESS", "ACHIEVED", "DROPPED"])
    currentCount = serializers.IntegerField()
    totalTargetCountOfSequence = serializers.IntegerField()
    streakAchievedDateTime = serializers.CharField(allow_null=True)
    streakAchievedUserTargetId = serializers.IntegerField(allow_null=True)


class TargetGroupReadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    attribution = AttributionSerializer()
    name = serializers.CharField()
    orgId = serializers.IntegerField()
    preferredTillId = serializers.IntegerField(allow_null=True)
    targets = TargetSerializer(many=True)
    streaks = StreakSerializer(many=True, required=False, help_text="Present for streak groups")
    targetEvaluationType = serializers.CharField()
    trackingType = serializers.CharField()


class UserTargetGroupsDataSerializer(serializers.Serializer):
    userId = serializers.IntegerField()
    customer = CustomerSerializer()
    targetGroups = TargetGroupReadSerializer(many=True)


class UserTargetGroupsResponseSerializer(serializers.Serializer):
    data = UserTargetGroupsDataSerializer()
    errors = serializers.JSONField(allow_null=True)
    warnings = serializers.JSONField(allow_null=True)


def _error(status, code, message):
    return OpenApiResponse(
        ErrorEnvelopeSerializer,
        description=message,
        examples=[
            OpenApiExample(
                f"{status} {code}",
                value={"data": None, "errors": [{"code": code, "message": message}], "warnings": None},
                status_codes=[str(status)],
            )
        ],
    )


SCOPE_HEADERS = [
    OpenApiParameter(
        "DATA-SCOPE",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        enum=["SELF", "OTHER", "ALL"],
        description="Which connected orgs to read: SELF (default), OTHER (the orgs in DATA-SCOPE-ORG), ALL.",
    ),
    OpenApiParameter(
        "DATA-SCOPE-ORG",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="Comma-separated org ids (alias DATA-SCOPE-ORGS).",
    ),
]

READ_QUERY_PARAMETERS = [
    OpenApiParameter(
        "includeInactive",
        OpenApiTypes.BOOL,
        description="false (default): only each group's current period; true: every period.",
    ),
    OpenApiParameter(
        "includeInactiveTargets",
        OpenApiTypes.BOOL,
        description="false (default): active groups and rules only; true: every group of the orgs in scope.",
    ),
    OpenApiParameter("targetRuleId", OpenApiTypes.INT64, description="Only this rule's targets."),
]

COMMON_ERRORS = {
    400: _error(400, 300004, "Invalid input"),
    401: _error(401, 401, "Authentication required: missing or invalid credentials"),
    403: _error(403, 403, "Permission denied"),
}

READ_RESPONSES = {
    200: UserTargetGroupsResponseSerializer,
    400: OpenApiResponse(
        ErrorEnvelopeSerializer,
        description="Invalid userId (310011), invalid input (300004) or connected orgs headers (310144)",
    ),
    401: COMMON_ERRORS[401],
    403: OpenApiResponse(
        ErrorEnvelopeSerializer, description="No permission (403) or unreachable org (310144)"
    ),
    404: _error(404, 8015, "Customer not found for the given identifiers"),
}

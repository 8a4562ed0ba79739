"""OpenAPI documentation of the read endpoint and the error envelope (drf-spectacular).

The response is built as plain dicts by the selector; these serializers only describe it."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema_serializer,
)
from rest_framework import serializers

from config.ids import MAX_LONG
from customers.models import Customer
from targets.models import EvaluationType, TargetEntity, TargetType, TrackingType

GATEWAY_PREFIX = "/api_gateway/intouch-api-v3/"

# The response's formats, as patterns: `…WithTimeStamp` / `…AchievedDateTime`, and UTC dates.
INSTANT_Z = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
ATTRIBUTION_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$"
UTC_DATE = r"^\d{4}-\d{2}-\d{2}$"


def document_paths(endpoints):
    """drf-spectacular preprocessing hook (PREPROCESSING_HOOKS in SPECTACULAR_SETTINGS).

    - The gateway alias serves every API path a second time; the schema lists each path once
      and names the alias as a second server instead of emitting duplicate operations.
    - The read path is documented as the platform documents it: `/v3.1/users/{userId}/targetGroups`
      (the URL kwarg is `user_id`, and the trailing slash is optional, not part of the path)."""
    documented = []
    for path, path_regex, method, callback in endpoints:
        if path.startswith(GATEWAY_PREFIX):
            continue
        if path_regex.endswith("/?$") and path.endswith("/"):
            path = path.rstrip("/")
        if "{user_id}" in path:
            path = path.replace("{user_id}", "{userId}")
            path_regex = path_regex.replace("(?P<user_id>", "(?P<userId>")
        documented.append((path, path_regex, method, callback))
    return documented


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
    loyaltyType = serializers.ChoiceField(choices=Customer.LoyaltyType.choices)
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
    periodStartDate = serializers.RegexField(UTC_DATE, help_text="UTC date, 2024-08-27")
    periodEndDate = serializers.RegexField(UTC_DATE, help_text="UTC date, 2024-08-27")
    targetValue = serializers.FloatField()
    targetAchievedValue = serializers.FloatField()
    targetName = serializers.CharField()
    targetType = serializers.ChoiceField(choices=TargetType.choices)
    targetEntity = serializers.ChoiceField(choices=TargetEntity.choices)
    targetRuleId = serializers.IntegerField()
    enrolledOn = serializers.RegexField(
        ATTRIBUTION_TIME, help_text="2024-08-27T09:43:41.000+0000; the request time without progress"
    )
    eventName = serializers.CharField()
    periodStartDateWithTimeStamp = serializers.RegexField(INSTANT_Z, help_text="2024-08-27T09:43:41.000Z")
    periodEndDateWithTimeStamp = serializers.RegexField(INSTANT_Z, help_text="2024-08-27T09:43:41.000Z")
    targetAchievedDateTime = serializers.RegexField(
        INSTANT_Z, allow_null=True, help_text="When the value first reached the target"
    )
    streakAchievedDateTime = serializers.RegexField(
        INSTANT_Z, allow_null=True, help_text="Set on the user target that completed a streak"
    )
    currentPeriod = serializers.BooleanField(
        help_text="FIXED and CYCLIC: the period holds the service clock; PERIOD_AGNOSTIC: the first period "
        "not yet achieved"
    )
    milestones = MilestoneSerializer(many=True, allow_null=True)


class StreakSerializer(serializers.Serializer):
    userStreakId = serializers.IntegerField(allow_null=True)
    streakId = serializers.IntegerField()
    streakName = serializers.CharField()
    status = serializers.ChoiceField(choices=["NOT_STARTED", "IN_PROGRESS", "ACHIEVED", "DROPPED"])
    currentCount = serializers.IntegerField()
    totalTargetCountOfSequence = serializers.IntegerField()
    streakAchievedDateTime = serializers.RegexField(INSTANT_Z, allow_null=True)
    streakAchievedUserTargetId = serializers.IntegerField(allow_null=True)


class TargetGroupReadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    attribution = AttributionSerializer()
    name = serializers.CharField()
    orgId = serializers.IntegerField()
    preferredTillId = serializers.IntegerField(allow_null=True)
    targets = TargetSerializer(many=True)
    streaks = StreakSerializer(many=True, required=False, help_text="Present for streak groups")
    targetEvaluationType = serializers.ChoiceField(choices=EvaluationType.choices)
    trackingType = serializers.ChoiceField(choices=TrackingType.choices)


class UserTargetGroupsDataSerializer(serializers.Serializer):
    userId = serializers.IntegerField(min_value=1, max_value=MAX_LONG)
    customer = CustomerSerializer()
    targetGroups = TargetGroupReadSerializer(many=True)


@extend_schema_serializer(many=False)  # one envelope, although the view action is `list`
class UserTargetGroupsResponseSerializer(serializers.Serializer):
    data = UserTargetGroupsDataSerializer()
    errors = serializers.JSONField(allow_null=True)
    warnings = serializers.JSONField(allow_null=True)


def error_response(status, *cases):
    """An error response: the envelope's schema and one example per case, a (code, message) or
    (code, message, example name) tuple."""
    examples = []
    for case in cases:
        code, message = case[:2]
        name = case[2] if len(case) == 3 else f"{status} {code}"
        examples.append(
            OpenApiExample(
                name,
                summary=f"{code}: {message}",
                value={"data": None, "errors": [{"code": code, "message": message}], "warnings": None},
                status_codes=[str(status)],
                response_only=True,
            )
        )
    return OpenApiResponse(
        ErrorEnvelopeSerializer,
        description="; ".join(f"{case[0]} {case[1]}" for case in cases),
        examples=examples,
    )


SCOPE_HEADERS = [
    OpenApiParameter(
        "DATA-SCOPE",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        enum=["SELF", "OTHER", "ALL"],
        description=(
            "Which connected orgs to read (case-insensitive): SELF (default: the caller's org), "
            "OTHER (the orgs listed in DATA-SCOPE-ORG: a parent lists its children, a child itself), "
            "ALL (a parent: itself and its children; a child: itself and its parent)."
        ),
    ),
    OpenApiParameter(
        "DATA-SCOPE-ORG",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description=(
            "Comma-separated org ids, e.g. `50363` or `60001, 60002`; required with OTHER. "
            "Every listed org must be readable under DATA-SCOPE (else 403 310144)."
        ),
    ),
    OpenApiParameter(
        "DATA-SCOPE-ORGS",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="Alias of DATA-SCOPE-ORG, read when DATA-SCOPE-ORG is absent.",
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

UNAUTHORIZED = (401, "Authentication required: missing or invalid credentials")
INTERNAL = (500, "Internal error")

COMMON_ERRORS = {
    400: error_response(400, (300004, "Invalid input")),
    401: error_response(401, UNAUTHORIZED),
    403: error_response(403, (403, "Permission denied")),
    500: error_response(500, INTERNAL),
}

READ_RESPONSES = {
    200: UserTargetGroupsResponseSerializer,
    400: error_response(
        400,
        (310011, "Invalid userId", "invalid userId"),
        (300004, "Invalid input: includeInactive: must be true or false, got 'yes'", "invalid parameter"),
        (300004, "Invalid input: DATA-SCOPE must be SELF, OTHER or ALL", "invalid DATA-SCOPE"),
        (
            310144,
            "Connected Orgs not set properly in Headers: DATA-SCOPE OTHER needs DATA-SCOPE-ORG",
            "invalid DATA-SCOPE-ORG",
        ),
    ),
    401: COMMON_ERRORS[401],
    403: error_response(
        403,
        (403, "Permission denied", "no permission"),
        (
            310144,
            "Connected Orgs not set properly in Headers: org 70001 is not reachable with this DATA-SCOPE",
            "org not reachable",
        ),
    ),
    404: error_response(404, (8015, "Customer not found for the given identifiers", "customer not found")),
    500: COMMON_ERRORS[500],
}

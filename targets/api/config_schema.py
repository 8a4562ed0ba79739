"""OpenAPI documentation of /v3/targetGroups (the configuration API, SPEC §5): examples,
parameters, responses and errors per action, applied to the viewset (TARGET_GROUP_SCHEMA)
and to its enrol/unenrol actions."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from targets.api import schema
from targets.api.config_serializers import (
    DeleteEnvelopeSerializer,
    EnrolEnvelopeSerializer,
    EnrolSerializer,
    TargetGroupEnvelopeSerializer,
    TargetGroupListEnvelopeSerializer,
    TargetGroupSerializer,
    UnenrolSerializer,
)

FIXED_GROUP_REQUEST = {
    "name": "Spend 1000 a week",
    "description": "Four weekly targets with a halfway milestone",
    "active": True,
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "trackingType": "DEFAULT",
    "preferredTillId": 50150886,
    "enrolment": "ALL_CUSTOMERS",
    "frequencyType": "WEEKLY",
    "frequency": 1,
    "totalPeriods": 4,
    "startDate": "2024-09-02",
    "endDate": "2024-09-29",
    "targets": [
        {
            "name": "Weekly spend",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetType": "GROSS_SALES",
            "value": 1000,
            "milestones": [{"triggerName": "Halfway", "triggerValue": 500}],
        }
    ],
}
ACTOR_EXAMPLE = {
    "id": 50150886,
    "code": "tillrustaging2",
    "description": "",
    "name": "tillrustaging2",
    "type": "TILL",
}
FIXED_GROUP_RESPONSE = {
    "id": 53240,
    "orgId": 50363,
    "name": "Spend 1000 a week",
    "description": "Four weekly targets with a halfway milestone",
    "active": True,
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "trackingType": "DEFAULT",
    "preferredTillId": 50150886,
    "enrolment": "ALL_CUSTOMERS",
    "frequencyType": "WEEKLY",
    "frequency": 1,
    "totalPeriods": 4,
    "startDate": "2024-09-02T00:00:00.000Z",
    "endDate": "2024-09-29T23:59:59.000Z",
    "periods": [
        {
            "id": 900 + n,
            "refCode": f"Cycle_{n}",
            "startDate": f"2024-09-{2 + 7 * (n - 1):02d}T00:00:00.000Z",
            "endDate": f"2024-09-{8 + 7 * (n - 1):02d}T23:59:59.000Z",
        }
        for n in range(1, 5)
    ],
    "targets": [
        {
            "id": 7001,
            "name": "Weekly spend",
            "active": True,
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetType": "GROSS_SALES",
            "attribute": "",
            "value": 1000,
            "milestones": [{"id": 3001, "triggerName": "Halfway", "triggerValue": 500}],
        }
    ],
    "streaks": [],
    "attribution": {
        "createdOn": "2024-08-30T09:21:43.741+0000",
        "lastUpdatedOn": "2024-08-30T09:21:43.741+0000",
        "lastUpdatedBy": ACTOR_EXAMPLE,
        "createdBy": ACTOR_EXAMPLE,
    },
}
STREAK_GROUP_REQUEST = {
    "name": "Visit 3 days in a row",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "trackingType": "STREAKS",
    "frequencyType": "DAILY",
    "frequency": 1,
    "totalPeriods": 7,
    "startDate": "2024-09-01T00:00:00Z",
    "endDate": "2024-09-07T23:59:59Z",
    "targets": [
        {
            "name": "Daily visit",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetType": "VISIT",
            "value": 1,
        }
    ],
    "streaks": [{"name": "Three in a row", "targetCountOfSequence": 3}],
}
CYCLIC_GROUP_REQUEST = {
    "name": "Five purchases within 30 days of the first",
    "targetEvaluationType": "CYCLIC_WINDOW",
    "trackingType": "DEFAULT",
    "frequencyType": "MONTHLY",
    "frequency": 1,
    "totalPeriods": 3,
    "startDate": "2024-09-01",
    "endDate": "2024-12-31",
    "targets": [
        {
            "name": "Purchases",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetType": "COUNT",
            "value": 5,
        }
    ],
}


def envelope_example(name, data, *, status_codes=("200",), warnings=None, description=""):
    return OpenApiExample(
        name,
        value={"data": data, "errors": None, "warnings": warnings},
        response_only=True,
        status_codes=list(status_codes),
        description=description,
    )


def _error_example(name, status_code, errors):
    return OpenApiExample(
        name,
        value={"data": None, "errors": errors, "warnings": None},
        response_only=True,
        status_codes=[str(status_code)],
    )


INVALID_EXAMPLE = _error_example(
    "Invariants broken",
    400,
    [
        {"code": 300004, "message": "periods[1].startDate: overlaps Cycle_1"},
        {"code": 300004, "message": "targets[0].milestones[0].triggerValue: is above the target value 1000"},
    ],
)
DUPLICATE_EXAMPLE = _error_example(
    "Duplicate name",
    400,
    [
        {
            "code": 310069,
            "message": "name: a target group named 'Spend 1000 a week' already exists in this org",
        }
    ],
)
CONFLICT_EXAMPLE = _error_example(
    "Progress would be lost",
    409,
    [
        {
            "code": 409,
            "message": "periods: period Cycle_1 (id 901) holds 12 customer target(s); it cannot be deleted",
        }
    ],
)


def _error_response(status_code, code, message, description=None):
    return OpenApiResponse(
        schema.ErrorEnvelopeSerializer,
        description=description or message,
        examples=[_error_example(f"{status_code} {code}", status_code, [{"code": code, "message": message}])],
    )


NOT_FOUND = _error_response(404, 404, "Not found", "No such group in the orgs in scope (never 403)")
BAD_QUERY = _error_response(400, 300004, "Invalid input: active: must be true or false, got 'yes'")
BAD_SCOPE = _error_response(
    400,
    310144,
    "Connected Orgs not set properly in Headers: DATA-SCOPE OTHER needs DATA-SCOPE-ORG",
    "Bad DATA-SCOPE (300004) or DATA-SCOPE-ORG (310144) headers",
)
ERRORS = {
    401: _error_response(401, 401, "Authentication required: missing or invalid credentials"),
    403: OpenApiResponse(
        schema.ErrorEnvelopeSerializer,
        description="No permission (403), or DATA-SCOPE-ORG names an org the caller cannot reach (310144)",
    ),
}
WRITE_ERRORS = {
    400: OpenApiResponse(
        schema.ErrorEnvelopeSerializer,
        description="Invalid input: one error per problem, each naming its field (300004); a duplicate name "
        "(310069); bad DATA-SCOPE headers (310144)",
        examples=[INVALID_EXAMPLE, DUPLICATE_EXAMPLE],
    ),
    **ERRORS,
}
WRITE_SCOPE = [
    OpenApiParameter(
        "DATA-SCOPE",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        enum=["SELF", "OTHER"],
        description="Writes go to the caller's org (SELF, default) or, for a parent, to the one child named "
        "in DATA-SCOPE-ORG (OTHER). ALL is for reads only.",
    ),
    OpenApiParameter(
        "DATA-SCOPE-ORG",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="With OTHER: the one child org id to write to.",
    ),
]
ID_PARAMETER = OpenApiParameter("id", OpenApiTypes.INT64, OpenApiParameter.PATH, description="The group's id")
LIST_PARAMETERS = [
    OpenApiParameter("active", OpenApiTypes.BOOL, description="true/false: only active/inactive groups"),
    OpenApiParameter(
        "targetEvaluationType",
        OpenApiTypes.STR,
        enum=["FIXED_CALENDAR_WINDOW", "CYCLIC_WINDOW", "PERIOD_AGNOSTIC_WINDOW"],
    ),
    OpenApiParameter(
        "trackingType",
        OpenApiTypes.STR,
        enum=["DEFAULT", "UNIFIED", "STREAKS", "CAPPING", "NON_CONTINUOUS_STREAK"],
    ),
    OpenApiParameter("name", OpenApiTypes.STR, description="Name contains (any case)"),
    OpenApiParameter(
        "includePeriods", OpenApiTypes.BOOL, description="false: leave periods out (default true)"
    ),
    OpenApiParameter("page", OpenApiTypes.INT, description="1-based page (default 1)"),
    OpenApiParameter("pageSize", OpenApiTypes.INT, description="Items per page, 1 to 100 (default 20)"),
]

TARGET_GROUP_SCHEMA = extend_schema_view(
    list=extend_schema(
        operation_id="listTargetGroups",
        summary="List target groups",
        description="Groups of the orgs in scope (DATA-SCOPE), ordered by id, paginated with page/pageSize. "
        "Unknown, repeated or invalid parameters are a 400.",
        parameters=[*LIST_PARAMETERS, *schema.SCOPE_HEADERS],
        responses={
            200: OpenApiResponse(
                TargetGroupListEnvelopeSerializer,
                examples=[
                    OpenApiExample(
                        "One page",
                        value={
                            "data": [FIXED_GROUP_RESPONSE],
                            "errors": None,
                            "warnings": None,
                            "pagination": {"page": 1, "pageSize": 20, "totalCount": 1, "totalPages": 1},
                        },
                        response_only=True,
                    )
                ],
            ),
            400: BAD_QUERY,
            **ERRORS,
        },
        filters=False,
    ),
    retrieve=extend_schema(
        operation_id="getTargetGroup",
        summary="Get a target group",
        parameters=[ID_PARAMETER, *schema.SCOPE_HEADERS],
        responses={
            200: OpenApiResponse(
                TargetGroupEnvelopeSerializer,
                examples=[envelope_example("A FIXED group", FIXED_GROUP_RESPONSE)],
            ),
            400: BAD_SCOPE,
            **ERRORS,
            404: NOT_FOUND,
        },
    ),
    create=extend_schema(
        operation_id="createTargetGroup",
        summary="Create a target group",
        description="Periods are generated from the frequency settings when `periods` is absent (FIXED: "
        "Cycle_N aligned to the org's local days; PERIOD_AGNOSTIC: PERIOD_G_{id}_N; CYCLIC: none, the engine "
        "creates each customer's cycles).",
        parameters=WRITE_SCOPE,
        request=TargetGroupSerializer,
        examples=[
            OpenApiExample(
                "FIXED group, generated weekly periods", value=FIXED_GROUP_REQUEST, request_only=True
            ),
            OpenApiExample("Streak group", value=STREAK_GROUP_REQUEST, request_only=True),
            OpenApiExample("CYCLIC group", value=CYCLIC_GROUP_REQUEST, request_only=True),
            envelope_example("Created", FIXED_GROUP_RESPONSE, status_codes=("201",)),
        ],
        responses={201: TargetGroupEnvelopeSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        operation_id="replaceTargetGroup",
        summary="Replace a target group",
        description="Nested lists replace the saved ones: items with an id update that row, items without "
        "one are created, rows left out are deleted. Without `periods` the periods are regenerated from the "
        "frequency settings. With customer progress, periods holding progress cannot be deleted or moved and "
        "rules holding progress cannot be deleted or change what they count (409).",
        parameters=[ID_PARAMETER, *WRITE_SCOPE],
        request=TargetGroupSerializer,
        examples=[envelope_example("Updated", FIXED_GROUP_RESPONSE)],
        responses={
            200: TargetGroupEnvelopeSerializer,
            **WRITE_ERRORS,
            404: NOT_FOUND,
            409: OpenApiResponse(schema.ErrorEnvelopeSerializer, examples=[CONFLICT_EXAMPLE]),
        },
    ),
    partial_update=extend_schema(
        operation_id="updateTargetGroup",
        summary="Change some fields of a target group",
        description="Top-level fields left out keep their values; a nested list given replaces the saved one "
        "as in PUT. Periods are regenerated only when a frequency setting changes and `periods` is absent.",
        parameters=[ID_PARAMETER, *WRITE_SCOPE],
        request=TargetGroupSerializer,
        examples=[
            OpenApiExample(
                "Raise the target",
                value={
                    "targets": [
                        {
                            "id": 7001,
                            "name": "Weekly spend",
                            "targetEntity": "TRANSACTION",
                            "eventName": "TransactionAdd",
                            "targetType": "GROSS_SALES",
                            "value": 1500,
                        }
                    ]
                },
                request_only=True,
            )
        ],
        responses={
            200: TargetGroupEnvelopeSerializer,
            **WRITE_ERRORS,
            404: NOT_FOUND,
            409: OpenApiResponse(schema.ErrorEnvelopeSerializer, examples=[CONFLICT_EXAMPLE]),
        },
    ),
    destroy=extend_schema(
        operation_id="deleteTargetGroup",
        summary="Delete a target group",
        description="A group without customer progress is deleted. A group with progress is deactivated "
        "instead (200, the group with active=false and a warning), unless ?force=true by a superuser, which "
        "deletes it with its progress.",
        parameters=[
            ID_PARAMETER,
            OpenApiParameter(
                "force", OpenApiTypes.BOOL, description="true: delete even with progress (superusers)"
            ),
            *WRITE_SCOPE,
        ],
        responses={
            200: OpenApiResponse(
                DeleteEnvelopeSerializer,
                examples=[
                    envelope_example("Deleted", {"id": 53240, "deleted": True}),
                    envelope_example(
                        "Deactivated instead",
                        {**FIXED_GROUP_RESPONSE, "active": False},
                        warnings=[
                            {
                                "code": 409,
                                "message": "group 53240 holds progress of 12 customer(s): deactivated "
                                "instead of deleted; a superuser can delete it with its progress with "
                                "?force=true",
                            }
                        ],
                    ),
                ],
            ),
            400: BAD_QUERY,
            **ERRORS,
            404: NOT_FOUND,
        },
    ),
)

ENROL_SCHEMA = extend_schema(
    operation_id="enrolInTargetGroup",
    summary="Enrol customers in an EXPLICIT group",
    description="Per userId: ENROLLED, ALREADY_ENROLLED, or NOT_FOUND (unknown, or not a customer of the "
    "group's org). A group enrolling ALL_CUSTOMERS answers 400. Activity counts only while a customer is "
    "enrolled; initialBalance sets the starting value of the current period, resetStreakStatus restarts "
    "streaks on re-enrolment.",
    parameters=[ID_PARAMETER, *WRITE_SCOPE],
    request=EnrolSerializer,
    examples=[
        OpenApiExample("Enrol", value={"userIds": [900000001, 900000002, 123]}, request_only=True),
        envelope_example(
            "Enrolled",
            [
                {"userId": 900000001, "status": "ENROLLED"},
                {"userId": 900000002, "status": "ALREADY_ENROLLED"},
                {"userId": 123, "status": "NOT_FOUND"},
            ],
        ),
    ],
    responses={200: EnrolEnvelopeSerializer, **WRITE_ERRORS, 404: NOT_FOUND},
)

UNENROL_SCHEMA = extend_schema(
    operation_id="unenrolFromTargetGroup",
    summary="Unenrol customers from an EXPLICIT group",
    description="Per userId: UNENROLLED, NOT_ENROLLED, or NOT_FOUND. Customers keep their progress rows "
    "(re-enrolling shows them again); a warning names those who hold some.",
    parameters=[ID_PARAMETER, *WRITE_SCOPE],
    request=UnenrolSerializer,
    examples=[
        OpenApiExample("Unenrol", value={"userIds": [900000001, 900000003]}, request_only=True),
        envelope_example(
            "Unenrolled",
            [
                {"userId": 900000001, "status": "UNENROLLED"},
                {"userId": 900000003, "status": "NOT_ENROLLED"},
            ],
        ),
    ],
    responses={200: EnrolEnvelopeSerializer, **WRITE_ERRORS, 404: NOT_FOUND},
)

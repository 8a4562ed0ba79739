"""POST /v3.1/activities: one activity or a list of up to 1,000 for the caller's org."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from config.exceptions import APIError, Codes, envelope
from customers.models import Org
from customers.permissions import CanPostActivity
from customers.scopes import parse_headers, writable_org_id
from targets import clock
from targets.api import schema
from targets.progress.ingest import activity_ingest

MAX_ITEMS = 1000


class ActivityInSerializer(serializers.Serializer):
    """Documentation of one item; validation is `targets.activities.parse_item`, per item."""

    userId = serializers.IntegerField(min_value=1)
    entity = serializers.ChoiceField(choices=["TRANSACTION", "LINEITEM", "EVENT", "REWARDS"])
    eventName = serializers.CharField(max_length=100)
    occurredAt = serializers.DateTimeField(help_text="ISO-8601 with a timezone, e.g. 2024-08-27T09:43:41Z")
    amount = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0, required=False)
    netAmount = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0, required=False)
    quantity = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0, required=False)
    attributes = serializers.DictField(required=False)
    externalId = serializers.CharField(max_length=200, help_text="Idempotency key, unique per org")


class ActivityResultSerializer(serializers.Serializer):
    externalId = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["APPLIED", "DUPLICATE", "REJECTED"])
    errors = schema.ErrorItemSerializer(many=True, allow_null=True)


class ActivitiesViewSet(viewsets.ViewSet):
    permission_classes = [CanPostActivity]

    @extend_schema(
        operation_id="postActivities",
        summary="Post customer activity (one object or a list of up to 1,000)",
        request=ActivityInSerializer(many=True),
        parameters=schema.SCOPE_HEADERS,
        responses={
            200: inline_serializer(
                "ActivitiesResponse",
                {
                    "data": ActivityResultSerializer(many=True),
                    "errors": serializers.JSONField(allow_null=True),
                    "warnings": serializers.JSONField(allow_null=True),
                },
            ),
            400: schema.COMMON_ERRORS[400],
            401: schema.COMMON_ERRORS[401],
            403: schema.COMMON_ERRORS[403],
            503: OpenApiResponse(
                schema.ErrorEnvelopeSerializer, description="Database unavailable; nothing applied"
            ),
        },
        examples=[
            OpenApiExample(
                "A transaction",
                value={
                    "userId": 347286146,
                    "entity": "TRANSACTION",
                    "eventName": "TransactionAdd",
                    "occurredAt": "2024-08-30T09:00:00Z",
                    "amount": 1200,
                    "externalId": "bill-1001",
                },
                request_only=True,
            )
        ],
    )
    def create(self, request):
        org_id = writable_org_id(org=request.user.actor.org, headers=parse_headers(request.headers))
        if not request.body:
            raise APIError(
                status.HTTP_400_BAD_REQUEST, Codes.INVALID_INPUT, "Invalid input: the body is empty"
            )
        body = request.data
        items = [body] if isinstance(body, dict) else body
        if not isinstance(items, list) or not items:
            raise APIError(
                status.HTTP_400_BAD_REQUEST,
                Codes.INVALID_INPUT,
                "Invalid input: send one activity object or a non-empty list of them",
            )
        if len(items) > MAX_ITEMS:
            raise APIError(
                status.HTTP_400_BAD_REQUEST,
                Codes.INVALID_INPUT,
                f"Invalid input: at most {MAX_ITEMS} activities per request, got {len(items)}",
            )
        org = Org.objects.get(id=org_id)
        results = activity_ingest(org=org, items=items, now=clock.now(), actor=request.user.actor)
        return Response(envelope(None, data=[_renderable(r.as_dict()) for r in results]))


def _renderable(result):
    """externalId is a string or null, as documented: a rejected item's number is echoed as its
    string, a boolean or a string that cannot be written as UTF-8 (an unpaired surrogate, valid
    as a JSON escape) as null."""
    external_id = result["externalId"]
    if isinstance(external_id, bool):
        result["externalId"] = None
    elif isinstance(external_id, int):
        result["externalId"] = str(external_id)
    elif isinstance(external_id, str):
        try:
            external_id.encode("utf-8")
        except UnicodeEncodeError:
            result["externalId"] = None
    return result

"""/v3/webhooks: an org's webhook endpoints (docs/events.md). The secret is in the answer to
the POST that creates the endpoint, and never again (`secretHint` shows its last characters)."""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from config.exceptions import APIError, Codes, envelope
from customers.permissions import ActorPermission
from customers.scopes import parse_headers, readable_org_ids, writable_org_id
from targets import clock
from targets.api import schema
from targets.events.models import EventType, WebhookEndpoint
from targets.events.webhooks import endpoint_create, endpoint_update

_DIGITS = re.compile(r"[0-9]+", re.ASCII)


class CanConfigureWebhooks(ActorPermission):
    perms = {
        "GET": "events.view_webhookendpoint",
        "HEAD": "events.view_webhookendpoint",
        "OPTIONS": "events.view_webhookendpoint",
        "*": "events.change_webhookendpoint",
    }


class WebhookSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    orgId = serializers.IntegerField(read_only=True, source="org_id")
    url = serializers.CharField(max_length=2000)
    eventTypes = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        source="event_types",
        required=False,
        max_length=len(EventType.values),
        help_text="Event types to deliver; empty or absent: every type",
    )
    active = serializers.BooleanField(required=False, default=True)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    secretHint = serializers.CharField(read_only=True, source="secret_hint")
    createdOn = serializers.DateTimeField(read_only=True, source="created_on")


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once: store it to verify signatures")


def _envelope(name, item):
    return inline_serializer(
        name,
        {
            "data": item,
            "errors": serializers.JSONField(allow_null=True),
            "warnings": serializers.JSONField(allow_null=True),
        },
    )


WebhookEnvelope = _envelope("WebhookEnvelope", WebhookSerializer())
WebhookCreatedEnvelope = _envelope("WebhookCreatedEnvelope", WebhookCreatedSerializer())
WebhookListEnvelope = _envelope("WebhookListEnvelope", WebhookSerializer(many=True))
ERRORS = {
    400: schema.COMMON_ERRORS[400],
    401: schema.COMMON_ERRORS[401],
    403: schema.COMMON_ERRORS[403],
    404: schema.error_response(404, (404, "Not found")),
}


@extend_schema_view(
    list=extend_schema(
        operation_id="listWebhooks",
        parameters=schema.SCOPE_HEADERS,
        responses={200: WebhookListEnvelope, **ERRORS},
    ),
    create=extend_schema(
        operation_id="createWebhook",
        parameters=schema.SCOPE_HEADERS,
        request=WebhookSerializer,
        responses={201: WebhookCreatedEnvelope, **ERRORS},
    ),
    retrieve=extend_schema(
        operation_id="getWebhook", parameters=schema.SCOPE_HEADERS, responses={200: WebhookEnvelope, **ERRORS}
    ),
    partial_update=extend_schema(
        operation_id="updateWebhook",
        parameters=schema.SCOPE_HEADERS,
        request=WebhookSerializer,
        responses={200: WebhookEnvelope, **ERRORS},
    ),
    destroy=extend_schema(
        operation_id="deleteWebhook", parameters=schema.SCOPE_HEADERS, responses={204: None, **ERRORS}
    ),
)
class WebhookViewSet(viewsets.ViewSet):
    permission_classes = [CanConfigureWebhooks]
    queryset = WebhookEndpoint.objects.none()

    def _org_ids(self, request, *, write):
        org, headers = request.user.actor.org, parse_headers(request.headers)
        if write:
            return {writable_org_id(org=org, headers=headers)}
        return readable_org_ids(org=org, headers=headers)

    def _get(self, request, pk, *, write):
        if not _DIGITS.fullmatch(pk or "") or len(pk) > 18:
            raise APIError(status.HTTP_404_NOT_FOUND, Codes.NOT_FOUND)
        found = WebhookEndpoint.objects.filter(
            pk=int(pk), org_id__in=self._org_ids(request, write=write)
        ).first()
        if found is None:
            raise APIError(status.HTTP_404_NOT_FOUND, Codes.NOT_FOUND)
        return found

    def _valid(self, request, *, partial):
        if not isinstance(request.data, dict):
            raise APIError(
                status.HTTP_400_BAD_REQUEST, Codes.INVALID_INPUT, "Invalid input: a JSON object is expected"
            )
        unknown = set(request.data) - {"url", "eventTypes", "active", "description"}
        if unknown:
            raise APIError(
                status.HTTP_400_BAD_REQUEST,
                Codes.INVALID_INPUT,
                f"Invalid input: unknown field {sorted(unknown)[0][:40]!r}",
            )
        serializer = WebhookSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _written(self, call):
        try:
            return call()
        except DjangoValidationError as exc:
            raise APIError(
                status.HTTP_400_BAD_REQUEST,
                Codes.INVALID_INPUT,
                errors=[
                    {"code": Codes.INVALID_INPUT, "message": f"Invalid input: {field}: {' '.join(messages)}"}
                    for field, messages in exc.message_dict.items()
                ],
            ) from exc

    def list(self, request):
        rows = WebhookEndpoint.objects.filter(org_id__in=self._org_ids(request, write=False)).order_by("id")
        return Response(envelope(None, data=WebhookSerializer(rows, many=True).data))

    def create(self, request):
        (org_id,) = self._org_ids(request, write=True)
        data = self._valid(request, partial=False)
        endpoint = self._written(
            lambda: endpoint_create(
                org_id=org_id,
                url=data["url"],
                event_types=data.get("event_types", []),
                active=data.get("active", True),
                description=data.get("description", ""),
                now=clock.now(),
            )
        )
        return Response(
            envelope(None, data=WebhookCreatedSerializer(endpoint).data), status=status.HTTP_201_CREATED
        )

    def retrieve(self, request, pk=None):
        return Response(envelope(None, data=WebhookSerializer(self._get(request, pk, write=False)).data))

    def partial_update(self, request, pk=None):
        endpoint = self._get(request, pk, write=True)
        data = self._valid(request, partial=True)
        self._written(lambda: endpoint_update(endpoint=endpoint, changes=data))
        return Response(envelope(None, data=WebhookSerializer(endpoint).data))

    def destroy(self, request, pk=None):
        self._get(request, pk, write=True).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

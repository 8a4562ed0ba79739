"""API views. Each validates its input, calls one domain function, and renders."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from config.exceptions import APIError, Codes, envelope
from config.ids import parse_long_id
from config.routers import replica_reads
from customers.permissions import CanReadTargetGroups
from customers.scopes import parse_headers, readable_org_ids
from targets import clock
from targets.api import schema
from targets.api.filters import UserTargetGroupsFilterSet
from targets.models import TargetGroup
from targets.selectors import user_target_groups


def parse_user_id(raw: str) -> int:
    user_id = parse_long_id(raw)
    if user_id is None:
        raise APIError(status.HTTP_400_BAD_REQUEST, Codes.INVALID_USER_ID, "Invalid userId")
    return user_id


def scope_org_ids(request):
    return readable_org_ids(org=request.user.actor.org, headers=parse_headers(request.headers))


class UserTargetGroupsViewSet(viewsets.ViewSet):
    """GET /v3.1/users/{userId}/targetGroups: a customer's target groups with progress."""

    permission_classes = [CanReadTargetGroups]
    filterset_class = UserTargetGroupsFilterSet
    queryset = TargetGroup.objects.none()

    @extend_schema(
        operation_id="getUserTargetGroups",
        summary="Get associated target groups of a user",
        parameters=[
            OpenApiParameter(
                "userId", OpenApiTypes.INT64, OpenApiParameter.PATH, description="The customer's id"
            ),
            *schema.READ_QUERY_PARAMETERS,
            *schema.SCOPE_HEADERS,
        ],
        responses=schema.READ_RESPONSES,
        filters=False,
    )
    def list(self, request, user_id=None):
        customer_id = parse_user_id(user_id)
        org_ids = scope_org_ids(request)
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
        with replica_reads():
            data = user_target_groups(
                customer_id=customer_id, org_ids=org_ids, now=clock.now(), filters=params.cleaned()
            )
        if data is None:
            raise APIError(status.HTTP_404_NOT_FOUND, Codes.CUSTOMER_NOT_FOUND)
        return Response(envelope(None, data=data))

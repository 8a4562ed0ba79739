"""/v3/targetGroups: the configuration API (SPEC §5). Each action checks scope, parses its input
with a serializer, calls one function of `targets.configuration` and renders the envelope.

Scope: reads (list, retrieve) see the groups of the orgs DATA-SCOPE makes readable; writes
see only the groups of the one org they may write to (the caller's, or with DATA-SCOPE OTHER a
parent's child). A group outside that set answers the same 404 as an id that does not exist.
"""

from contextlib import contextmanager

from django.db.models import Prefetch
from django.http import Http404
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from config.exceptions import APIError, Codes, envelope
from config.ids import parse_long_id
from customers.models import Org
from customers.permissions import CanConfigureTargetGroups
from customers.scopes import parse_headers, readable_org_ids, writable_org_id
from targets import clock
from targets.api import config_schema
from targets.api.config_filters import TargetGroupFilterSet
from targets.api.config_serializers import (
    EnrolSerializer,
    TargetGroupSerializer,
    UnenrolSerializer,
    group_representation,
)
from targets.api.filters import StrictBooleanField
from targets.api.pagination import EnvelopePagination
from targets.configuration import (
    ConfigurationInvalid,
    group_create,
    group_delete,
    group_enrol,
    group_unenrol,
    group_update,
)
from targets.models import EnrolmentSource, MilestoneTrigger, Streak, TargetGroup, TargetPeriod, TargetRule
from targets.refresh import refresh_states
from targets.services import ConfigurationConflict

# Warnings about customer progress (kept, or why a delete deactivated instead) carry this code.
PROGRESS_WARNING = Codes.CONFLICT


def config_groups(*, include_periods=True):
    """Groups with everything their body renders, in a fixed number of queries."""
    prefetches = [
        Prefetch(
            "rules",
            queryset=TargetRule.objects.order_by("id").prefetch_related(
                Prefetch("triggers", queryset=MilestoneTrigger.objects.order_by("trigger_value", "id"))
            ),
        ),
        Prefetch("streaks", queryset=Streak.objects.order_by("id")),
    ]
    if include_periods:
        prefetches.append(
            Prefetch(
                "periods",
                queryset=TargetPeriod.objects.filter(customer__isnull=True).order_by("sequence", "id"),
                to_attr="shared_periods",
            )
        )
    return (
        TargetGroup.objects.select_related("created_by", "last_updated_by")
        .prefetch_related(*prefetches)
        .order_by("id")
    )


@contextmanager
def service_errors():
    """Domain refusals as envelopes: invalid input 400 (300004 per error, 310069 for a duplicate
    name), lost progress 409."""
    try:
        yield
    except ConfigurationInvalid as exc:
        errors = [{"code": Codes.INVALID_INPUT, "message": str(error)} for error in exc.errors]
        if exc.duplicate_name:
            errors.append(
                {
                    "code": Codes.DUPLICATE_NAME,
                    "message": f"name: a target group named {exc.duplicate_name!r} already exists in the org",
                }
            )
        raise APIError(status.HTTP_400_BAD_REQUEST, errors[0]["code"], errors=errors) from None
    except ConfigurationConflict as exc:
        messages = getattr(exc, "messages", None) or [str(exc)]
        raise APIError(
            status.HTTP_409_CONFLICT,
            Codes.CONFLICT,
            errors=[{"code": Codes.CONFLICT, "message": message} for message in messages],
        ) from None


def _warnings(messages):
    return [{"code": PROGRESS_WARNING, "message": m} for m in messages] or None


def _invalid(messages):
    return APIError(
        status.HTTP_400_BAD_REQUEST,
        Codes.INVALID_INPUT,
        errors=[{"code": Codes.INVALID_INPUT, "message": m} for m in messages],
    )


def _reject_unknown_params(request, allowed=()):
    unknown = [name for name in request.query_params if name not in allowed]
    if unknown:
        raise _invalid([f"Invalid input: {name[:40]}: unknown query parameter" for name in unknown])


@config_schema.TARGET_GROUP_SCHEMA
class TargetGroupViewSet(viewsets.ModelViewSet):
    """Target groups ("milestones") with their periods, targets, milestone triggers and streaks."""

    permission_classes = [CanConfigureTargetGroups]
    serializer_class = TargetGroupSerializer
    pagination_class = EnvelopePagination
    filterset_class = TargetGroupFilterSet
    filter_backends = []
    queryset = TargetGroup.objects.none()

    # -- scope

    def scoped_org_ids(self):
        org = self.request.user.actor.org
        headers = parse_headers(self.request.headers)
        if self.request.method in SAFE_METHODS:
            return readable_org_ids(org=org, headers=headers)
        return frozenset({writable_org_id(org=org, headers=headers)})

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TargetGroup.objects.none()
        return TargetGroup.objects.filter(org_id__in=self.scoped_org_ids())

    def get_object(self):
        raw = str(self.kwargs.get("pk", ""))
        group_id = parse_long_id(raw)
        if group_id is None:
            raise Http404
        group = self.get_queryset().select_related("org").filter(pk=group_id).first()
        if group is None:
            raise Http404
        return group

    # -- helpers

    def _validated(self, serializer):
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _group_response(self, group_id, *, warnings=(), http_status=status.HTTP_200_OK):
        group = config_groups().get(pk=group_id)
        return Response(
            envelope(None, data=group_representation(group), warnings=_warnings(list(warnings))),
            status=http_status,
        )

    # -- reads

    def list(self, request, *args, **kwargs):
        org_ids = self.scoped_org_ids()
        params = self.filterset_class(
            request.query_params, queryset=TargetGroup.objects.filter(org_id__in=org_ids)
        )
        if not params.is_valid():
            raise _invalid(params.messages())
        include_periods = params.include_periods
        self.paging = (params.page_number, params.page_size)
        page_ids = self.paginate_queryset(params.qs.order_by("id").values_list("id", flat=True))
        groups = config_groups(include_periods=include_periods).filter(id__in=page_ids) if page_ids else []
        states = refresh_states(page_ids) if page_ids else {}
        return self.get_paginated_response(
            [
                group_representation(g, include_periods=include_periods, refresh=states.get(g.id))
                for g in groups
            ]
        )

    def retrieve(self, request, *args, **kwargs):
        _reject_unknown_params(request)
        group = self.get_object()
        return self._group_response(group.id)

    # -- writes

    def create(self, request, *args, **kwargs):
        _reject_unknown_params(request)
        actor = request.user.actor
        org_id = writable_org_id(org=actor.org, headers=parse_headers(request.headers))
        org = actor.org if org_id == actor.org_id else Org.objects.get(id=org_id)
        data = self._validated(TargetGroupSerializer(data=request.data))
        with service_errors():
            result = group_create(org=org, actor=actor, data=data, now=clock.now())
        return self._group_response(
            result.group.id, warnings=result.warnings, http_status=status.HTTP_201_CREATED
        )

    def update(self, request, *args, partial=False, **kwargs):
        _reject_unknown_params(request)
        group = self.get_object()
        data = self._validated(TargetGroupSerializer(data=request.data, patch=partial))
        with service_errors():
            result = group_update(
                group=group, actor=request.user.actor, data=data, now=clock.now(), partial=partial
            )
        return self._group_response(group.id, warnings=result.warnings)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        _reject_unknown_params(request, allowed=("force",))
        group = self.get_object()
        try:
            force = bool(StrictBooleanField().clean(request.query_params.get("force", "false")))
        except Exception as exc:  # django.forms.ValidationError
            raise _invalid(
                [f"Invalid input: force: {' '.join(getattr(exc, 'messages', [str(exc)]))}"]
            ) from None
        if force and not request.user.is_superuser:
            raise APIError(status.HTTP_403_FORBIDDEN, Codes.FORBIDDEN, "force=true is for superusers")
        group_id = group.id
        with service_errors():
            outcome = group_delete(group=group, actor=request.user.actor, now=clock.now(), force=force)
        if outcome.deleted:
            return Response(
                envelope(None, data={"id": group_id, "deleted": True}, warnings=_warnings(outcome.warnings))
            )
        return self._group_response(group_id, warnings=outcome.warnings)

    # -- enrolment

    @config_schema.ENROL_SCHEMA
    @action(detail=True, methods=["post"])
    def enrol(self, request, *args, **kwargs):
        _reject_unknown_params(request)
        group = self.get_object()
        payload = self._validated(EnrolSerializer(data=request.data))
        with service_errors():
            results = group_enrol(
                group=group,
                user_ids=payload["userIds"],
                now=clock.now(),
                initial_balance=payload.get("initialBalance"),
                reset_streaks=payload.get("resetStreakStatus", False),
                source=EnrolmentSource.API,
            )
        return Response(envelope(None, data=[{"userId": u, "status": s} for u, s in results]))

    @config_schema.UNENROL_SCHEMA
    @action(detail=True, methods=["post"])
    def unenrol(self, request, *args, **kwargs):
        _reject_unknown_params(request)
        group = self.get_object()
        payload = self._validated(UnenrolSerializer(data=request.data))
        with service_errors():
            results, warnings = group_unenrol(group=group, user_ids=payload["userIds"], now=clock.now())
        return Response(
            envelope(
                None, data=[{"userId": u, "status": s} for u, s in results], warnings=_warnings(warnings)
            )
        )

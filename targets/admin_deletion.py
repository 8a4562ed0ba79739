"""Every admin door that deletes a group, a rule or an enrolment goes through the configuration
service the API uses (targets.configuration), so that deleting announces what it takes away
(ACHIEVEMENT_REVOKED, UNENROLLED; docs/events.md) and refreshes progress, as the API does.

Django's admin deletes through `delete_model` (the object's delete page), `delete_queryset`
(the "delete selected" action) and an inline formset's `delete_existing` (an inline's delete
box); the mixins below override the three. As in the API, only a superuser deletes a group
(or a rule) holding customer progress — its confirmation page is the API's ?force=true — and
the progress goes with it; for other users the admin's page refuses, as it always did (the
progress rows are read-only). The configuration API refuses a rule holding progress with 409."""

from django.contrib import messages
from django.db import transaction
from django.forms.models import BaseInlineFormSet

from customers.admin import attributed_actor
from targets import clock, configuration, history, labels
from targets.models import Enrolment, GroupEnrolment


class _Deleting:
    def get_deleted_objects(self, objs, request):
        """The progress rows under a group or rule are read-only in the admin (no delete
        permission), which would refuse the delete: a superuser deletes them with it, as the
        API's ?force=true; enrolments go with their group whoever deletes it."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if request.user.is_superuser:
            perms_needed = set()
        else:
            perms_needed.discard(GroupEnrolment._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def _warn(self, request, warnings):
        for warning in warnings:
            self.message_user(request, labels.words(warning), messages.WARNING)

    def delete_queryset(self, request, queryset):
        with history.through(history.ADMIN_ACTION), transaction.atomic():
            for obj in queryset.order_by("pk"):
                self.delete_model(request, obj)


class GroupDeletionAdmin(_Deleting):
    def delete_model(self, request, obj):
        outcome = configuration.group_delete(
            group=obj, actor=attributed_actor(request, obj), now=clock.now(), force=request.user.is_superuser
        )
        self._warn(request, outcome.warnings)


class RuleDeletionAdmin(_Deleting):
    def delete_model(self, request, obj):
        warnings = configuration.rule_delete(
            rule=obj, actor=attributed_actor(request, obj.group), now=clock.now()
        )
        self._warn(request, warnings)


class EnrolmentDeletionAdmin:
    """Deleting an enrolment is unenrolling (an EXPLICIT group's only: every customer of the
    org is in an ALL_CUSTOMERS group, the engine enrols them at their first activity)."""

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.group.enrolment == Enrolment.EXPLICIT)

    def delete_model(self, request, obj):
        self._unenrol(request, [obj])

    def delete_queryset(self, request, queryset):
        self._unenrol(request, list(queryset))

    def _unenrol(self, request, enrolments):
        warnings = configuration.enrolments_delete(enrolments=enrolments, now=clock.now())
        for warning in warnings:
            self.message_user(request, labels.words(warning), messages.WARNING)


class UnenrolInlineFormSet(BaseInlineFormSet):
    """For an inline of GroupEnrolment rows: its delete box unenrols through the service."""

    def delete_existing(self, obj, commit=True):
        if commit:
            configuration.enrolments_delete(enrolments=[obj], now=clock.now())

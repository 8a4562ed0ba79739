"""Query parameters of the read endpoint, validated by a django-filter FilterSet: an invalid
value is a 400, never ignored (SPEC §3)."""

import django_filters
from django import forms

from config.ids import parse_long_id
from targets.models import TargetGroup
from targets.serialize import Filters


class StrictBooleanField(forms.Field):
    """`true` or `false` in any case; anything else (1, yes, empty) is invalid."""

    def to_python(self, value):
        if value is None:
            return None
        text = str(value).strip().lower()
        if text == "true":
            return True
        if text == "false":
            return False
        raise forms.ValidationError(f"must be true or false, got {str(value)[:40]!r}")


class LongIdField(forms.Field):
    """A positive integer that fits in 64 bits, ASCII digits only."""

    def to_python(self, value):
        if value is None:
            return None
        number = parse_long_id(str(value).strip())
        if number is None:
            raise forms.ValidationError(f"must be a positive 64-bit integer, got {str(value)[:40]!r}")
        return number


class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


class LongIdFilter(django_filters.Filter):
    field_class = LongIdField


class SingleValuedFilterSet(django_filters.FilterSet):
    """A FilterSet whose parameters may each be given once: `?a=1&a=2` is a 400, never a
    silent pick of one value."""

    def get_form_class(self):
        """The form class, built once per FilterSet class: django-filter builds a new class
        (and its fields) for every request otherwise. Forms copy their base fields per
        instance, so the class is safe to share."""
        form_class = type(self).__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            type(self)._form_class = form_class
        return form_class

    def is_valid(self):
        valid = super().is_valid()
        for name in self.filters:
            if len(self.data.getlist(name)) > 1:
                self.form.add_error(name, "is given more than once")
                valid = False
        return valid


class UserTargetGroupsFilterSet(SingleValuedFilterSet):
    """`includeInactive`, `includeInactiveTargets` (default false) and `targetRuleId`.
    The selector applies them (the first one chooses periods, not rows of a queryset); this
    FilterSet is what validates them and documents them in the schema."""

    includeInactive = StrictBooleanFilter(
        method="_noop", help_text="true: every period; false: the current one"
    )
    includeInactiveTargets = StrictBooleanFilter(
        method="_noop", help_text="true: inactive groups and rules too"
    )
    targetRuleId = LongIdFilter(method="_noop", help_text="only this rule's targets")

    class Meta:
        model = TargetGroup
        fields = []

    def _noop(self, queryset, name, value):
        return queryset

    def cleaned(self) -> Filters:
        data = self.form.cleaned_data
        return Filters(
            include_inactive=bool(data.get("includeInactive")),
            include_inactive_targets=bool(data.get("includeInactiveTargets")),
            target_rule_id=data.get("targetRuleId"),
        )

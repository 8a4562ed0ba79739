"""Query parameters of GET /v3/targetGroups, validated by a django-filter FilterSet: an invalid
value, a repeated parameter or an unknown parameter is a 400 (300004), never ignored."""

import django_filters
from django import forms

from targets.api.filters import SingleValuedFilterSet, StrictBooleanFilter
from targets.models import EvaluationType, TargetGroup, TrackingType

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 10**6


class BoundedIntegerField(forms.Field):
    """A positive integer in [1, maximum], ASCII digits only."""

    def __init__(self, *, maximum, **kwargs):
        self.maximum = maximum
        super().__init__(**kwargs)

    def to_python(self, value):
        if value is None:
            return None
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= self.maximum:
            raise forms.ValidationError(
                f"must be an integer from 1 to {self.maximum}, got {str(value)[:40]!r}"
            )
        return int(text)


class BoundedIntegerFilter(django_filters.Filter):
    field_class = BoundedIntegerField


class TargetGroupFilterSet(SingleValuedFilterSet):
    active = StrictBooleanFilter(
        field_name="active", help_text="true: active groups only; false: inactive only"
    )
    targetEvaluationType = django_filters.ChoiceFilter(
        field_name="target_evaluation_type", choices=EvaluationType.choices
    )
    trackingType = django_filters.ChoiceFilter(field_name="tracking_type", choices=TrackingType.choices)
    name = django_filters.CharFilter(
        field_name="name", lookup_expr="icontains", help_text="Name contains (any case)"
    )
    includePeriods = StrictBooleanFilter(method="_noop", help_text="false: leave periods out (default true)")
    page = BoundedIntegerFilter(method="_noop", maximum=MAX_PAGE, help_text="1-based page number (default 1)")
    pageSize = BoundedIntegerFilter(
        method="_noop", maximum=MAX_PAGE_SIZE, help_text=f"Items per page (default {DEFAULT_PAGE_SIZE})"
    )

    class Meta:
        model = TargetGroup
        fields = []

    def _noop(self, queryset, name, value):
        return queryset

    def is_valid(self):
        valid = super().is_valid()
        for name in self.data:
            if name not in self.filters:
                self.form.add_error(None, f"{name[:40]}: unknown query parameter")
                valid = False
        for name in ("targetEvaluationType", "trackingType", "name"):
            if name in self.data and not self.data.get(name, "").strip():
                self.form.add_error(name, "is empty")
                valid = False
        return valid

    def messages(self) -> list[str]:
        out = []
        for name, messages in self.errors.items():
            for message in messages:
                out.append(
                    f"Invalid input: {message}" if name == "__all__" else f"Invalid input: {name}: {message}"
                )
        return out

    @property
    def include_periods(self) -> bool:
        value = self.form.cleaned_data.get("includePeriods")
        return True if value is None else value

    @property
    def page_number(self) -> int:
        return self.form.cleaned_data.get("page") or 1

    @property
    def page_size(self) -> int:
        return self.form.cleaned_data.get("pageSize") or DEFAULT_PAGE_SIZE

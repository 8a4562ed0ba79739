"""Template filters for people's words: `{{ code|label }}` (FIXED_CALENDAR_WINDOW → Fixed
calendar periods) and `{{ value|amount:target_type }}` (COUNT 3, money 1,200.00)."""

from django import template

from targets import labels

register = template.Library()


@register.filter
def label(code):
    return labels.label(code)


@register.filter
def amount(value, target_type=None):
    return labels.value(value, target_type)

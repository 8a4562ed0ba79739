"""Template filters for people's words: `{{ code|label }}` (FIXED_CALENDAR_WINDOW → Fixed
calendar periods), `{{ value|amount:target_type }}` (COUNT 3, money 1,200.00), and times in an
org's own zone: `{{ instant|local_day:zone }}` (30 Aug 2024) and `{{ instant|local_time:zone }}`
(30 Aug 2024, 14:51 IST), `zone` being a zone name (Asia/Kolkata)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django import template

from targets import labels

register = template.Library()


@register.filter
def label(code):
    return labels.label(code)


@register.filter
def amount(value, target_type=None):
    return labels.value(value, target_type)


def _local(instant, zone):
    if not isinstance(instant, datetime):
        return None
    tz = zone if not isinstance(zone, str) else ZoneInfo(zone or "UTC")
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(tz)


@register.filter
def local_day(instant, zone="UTC"):
    """The instant's day in `zone`: 30 Aug 2024."""
    local = _local(instant, zone)
    return f"{local.day} {local:%b %Y}" if local else ""


@register.filter
def local_time(instant, zone="UTC"):
    """The instant in `zone` with the zone's abbreviation: 30 Aug 2024, 14:51 IST."""
    local = _local(instant, zone)
    return f"{local.day} {local:%b %Y, %H:%M} {local:%Z}" if local else ""

"""The documented response's three time formats, formatted by hand because this is the hot
path of the read endpoint (strftime is several times slower)."""

from datetime import UTC, datetime


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.utcoffset() else value


def attribution_time(value: datetime | None) -> str | None:
    """`2024-08-27T09:35:24.000+0000`: attribution times and `enrolledOn`."""
    if value is None:
        return None
    v = _utc(value)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
        f".{v.microsecond // 1000:03d}+0000"
    )


def instant_z(value: datetime | None) -> str | None:
    """`2024-08-27T09:43:41.000Z`: `…WithTimeStamp` and `…AchievedDateTime`."""
    if value is None:
        return None
    v = _utc(value)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
        f".{v.microsecond // 1000:03d}Z"
    )


def utc_date(value: datetime | None) -> str | None:
    """`2024-08-27`: the UTC date of an instant."""
    if value is None:
        return None
    v = _utc(value)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}"

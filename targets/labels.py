"""People's words for the configuration's codes, and values formatted by type.

The API keeps its codes (`FIXED_CALENDAR_WINDOW`, `targetType`); the admin and the staff pages
show these labels. `words()` rewrites a service message (written in the API's vocabulary, so
that both doors give the same reason) into the admin's words.
"""

import re
from decimal import Decimal

LABELS = {
    # evaluation types
    "FIXED_CALENDAR_WINDOW": "Fixed calendar periods",
    "CYCLIC_WINDOW": "Cycles from each customer's first activity",
    "PERIOD_AGNOSTIC_WINDOW": "Periods filled one after another",
    # tracking types
    "DEFAULT": "One target",
    "UNIFIED": "Several targets, all needed",
    "STREAKS": "Streaks of consecutive periods",
    "CAPPING": "Capped target",
    "NON_CONTINUOUS_STREAK": "Streaks of any periods",
    # frequencies
    "DAILY": "Daily",
    "WEEKLY": "Weekly",
    "MONTHLY": "Monthly",
    "QUARTERLY": "Quarterly",
    "HALF_YEARLY": "Half-yearly",
    "YEARLY": "Yearly",
    "CUSTOM": "Custom (periods typed in)",
    # enrolment
    "ALL_CUSTOMERS": "All customers of the org",
    "EXPLICIT": "Enrolled customers only",
    # target entities
    "TRANSACTION": "Transactions",
    "LINEITEM": "Line items",
    "EVENT": "Events",
    "REWARDS": "Rewards",
    # target types
    "COUNT": "Number of activities",
    "VISIT": "Visits",
    "GROSS_SALES": "Gross sales (money)",
    "SALES": "Net sales (money)",
    "QUANTITY": "Quantity of items",
    "SUM": "Sum of an attribute",
    # streak statuses
    "NOT_STARTED": "Not started",
    "IN_PROGRESS": "In progress",
    "ACHIEVED": "Achieved",
    "DROPPED": "Dropped",
    # enrolment sources
    "ACTIVITY": "First activity",
    "ADMIN": "Admin",
    "API": "API",
    "IMPORT": "Import",
}

# The API's field names in service messages, as the admin labels its fields.
FIELD_WORDS = {
    "targetEvaluationType": "evaluation type",
    "trackingType": "tracking type",
    "frequencyType": "frequency",
    "totalPeriods": "total periods",
    "targetCountOfSequence": "periods in a row",
    "targetEntity": "entity",
    "targetType": "target type",
    "eventName": "event name",
    "triggerValue": "trigger value",
    "preferredTillId": "preferred till",
    "startDate": "first day",
    "endDate": "last day",
    "refCode": "ref code",
}

MONEY = {"GROSS_SALES", "SALES"}

_CODES = re.compile(
    r"\b(" + "|".join(sorted((c for c in LABELS if "_" in c or len(c) > 5), key=len, reverse=True)) + r")\b"
)
_FIELDS = re.compile(r"\b(" + "|".join(FIELD_WORDS) + r")\b")


def label(code: str | None) -> str:
    return LABELS.get(code or "", code or "")


def choices(enum) -> list[tuple[str, str]]:
    """A TextChoices' values with the people's words."""
    return [(value, label(value)) for value in enum.values]


def words(message: str) -> str:
    """A service message in the admin's words: codes become labels (in quotes), API field
    names become the admin's field labels; the sentence is capitalised."""
    text = _CODES.sub(lambda m: f"“{LABELS[m.group(1)]}”", message)
    text = _FIELDS.sub(lambda m: FIELD_WORDS[m.group(1)], text)
    return text[:1].upper() + text[1:]


def value(amount, target_type: str | None = None) -> str:
    """A target or trigger value as people read it: money with two decimals (1,200.00), counts
    and other quantities without trailing zeros (3, 2.5)."""
    if amount is None:
        return ""
    amount = Decimal(str(amount))
    if target_type in MONEY:
        return f"{amount:,.2f}"
    if amount == amount.to_integral_value():
        return f"{amount:,.0f}"
    return f"{amount.normalize():,f}"


def plain_value(amount, target_type: str | None = None) -> str:
    """The same for a form input (no thousands separator)."""
    return value(amount, target_type).replace(",", "")

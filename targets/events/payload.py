"""An event as JSON: what the feed lists and what a webhook POSTs (docs/events.md)."""

from targets.formats import instant_z


def _number(value):
    return None if value is None else float(value)


def event_json(event) -> dict:
    return {
        "id": str(event.uuid),
        "type": event.type,
        "occurredAt": instant_z(event.occurred_at),
        "emittedAt": instant_z(event.emitted_at),
        "orgId": event.org_id,
        "userId": event.user_id,
        "groupId": event.group_id,
        "groupName": event.group_name or None,
        "targetRuleId": event.rule_id,
        "targetName": event.rule_name or None,
        "periodId": event.period_id,
        "periodRefCode": event.period_ref_code or None,
        "triggerId": event.trigger_id,
        "triggerName": event.trigger_name or None,
        "streakId": event.streak_id,
        "streakName": event.streak_name or None,
        "achievedValue": _number(event.achieved_value),
        "targetValue": _number(event.target_value),
        "activityId": event.activity_id,
        "revokedType": event.revoked_type or None,
        "source": event.source or None,
    }

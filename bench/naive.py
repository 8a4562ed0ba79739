"""A straightforward implementation of GET /v3.1/users/{userId}/targetGroups, for comparison
only (read.naive_ratio): nested DRF ModelSerializers over model instances, the way the endpoint
would first be written. It is not careless — every relation is prefetched, so the number of
queries does not grow with the data — but it pays for model instances, prefetch joins in
Python and per-field serializer work on every one of the ~720 targets of the heavy customer.

It is served by the benchmark's URLconf (bench.urls) behind the same middleware,
authentication and permission as the real endpoint, and renders the same document (the
benchmark checks), so the two medians differ only by how the response is built.
"""

from django.db.models import Prefetch, Q
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.exceptions import envelope
from customers.models import Actor, CommChannel, Customer, CustomerProfile
from customers.permissions import CanReadTargetGroups
from customers.scopes import parse_headers, readable_org_ids
from targets import clock
from targets.formats import attribution_time, instant_z, utc_date
from targets.models import (
    STREAK_TRACKING,
    MilestoneTrigger,
    Streak,
    TargetGroup,
    TargetPeriod,
    TargetRule,
    UserStreak,
    UserTarget,
)
from targets.serialize import group_progress


def _number(value):
    return int(value) if value == value.to_integral_value() else float(value)


class ChannelSerializer(serializers.ModelSerializer):
    accountId = serializers.CharField(source="account_id", allow_null=True)

    class Meta:
        model = CommChannel
        fields = ["type", "accountId", "value", "primary", "verified", "subscribed", "attributes"]


class ProfileSerializer(serializers.ModelSerializer):
    firstName = serializers.CharField(source="first_name")
    lastName = serializers.CharField(source="last_name")
    commChannels = ChannelSerializer(source="channels", many=True)
    accountId = serializers.CharField(source="account_id")
    userId = serializers.IntegerField(source="customer_id")
    orgSourceId = serializers.IntegerField(source="org_source_id")

    class Meta:
        model = CustomerProfile
        fields = ["firstName", "lastName", "commChannels", "source", "accountId", "userId", "orgSourceId"]


class CustomerSerializer(serializers.ModelSerializer):
    loyaltyInfo = serializers.SerializerMethodField()
    customFields = serializers.SerializerMethodField()
    profiles = ProfileSerializer(many=True)

    class Meta:
        model = Customer
        fields = ["id", "profiles", "loyaltyInfo", "customFields"]

    def get_loyaltyInfo(self, customer):
        def id_only(actor_id):
            if actor_id is None:
                return None
            return {"id": actor_id, "code": None, "description": None, "name": None, "type": None}

        return {
            "attribution": {
                "createdOn": attribution_time(customer.created_on),
                "lastUpdatedOn": attribution_time(customer.last_updated_on),
                "lastUpdatedBy": id_only(customer.last_updated_by_id),
                "createdBy": id_only(customer.created_by_id),
            },
            "loyaltyType": customer.loyalty_type,
            "lifetimePurchases": _number(customer.lifetime_purchases),
        }

    def get_customFields(self, customer):
        return customer.custom_fields or {}


class ActorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Actor
        fields = ["id", "code", "description", "name", "type"]


class AttributionSerializer(serializers.ModelSerializer):
    createdOn = serializers.SerializerMethodField()
    lastUpdatedOn = serializers.SerializerMethodField()
    lastUpdatedBy = ActorSerializer(source="last_updated_by", allow_null=True)
    createdBy = ActorSerializer(source="created_by", allow_null=True)

    class Meta:
        model = TargetGroup
        fields = ["createdOn", "lastUpdatedOn", "lastUpdatedBy", "createdBy"]

    def get_createdOn(self, group):
        return attribution_time(group.created_on)

    def get_lastUpdatedOn(self, group):
        return attribution_time(group.last_updated_on)


class MilestoneSerializer(serializers.ModelSerializer):
    triggerName = serializers.CharField(source="trigger_name")
    triggerValue = serializers.FloatField(source="trigger_value")
    isAchieved = serializers.SerializerMethodField()

    class Meta:
        model = MilestoneTrigger
        fields = ["id", "triggerName", "triggerValue", "isAchieved"]

    def get_isAchieved(self, trigger):
        value = self.context["achieved_value"]
        return value is not None and value >= trigger.trigger_value


class Target:
    """One row of `targets`: a rule in a period, with the customer's progress if any."""

    def __init__(self, group, rule, period, user_target, current, streak_achieved_at):
        self.group, self.rule, self.period, self.user_target = group, rule, period, user_target
        self.current, self.streak_achieved_at = current, streak_achieved_at


class TargetSerializer(serializers.Serializer):
    targetId = serializers.SerializerMethodField()
    orgId = serializers.IntegerField(source="group.org_id")
    periodId = serializers.IntegerField(source="period.id")
    periodRefCode = serializers.CharField(source="period.ref_code")
    periodStartDate = serializers.SerializerMethodField()
    periodEndDate = serializers.SerializerMethodField()
    targetValue = serializers.SerializerMethodField()
    targetAchievedValue = serializers.SerializerMethodField()
    targetName = serializers.CharField(source="rule.name")
    targetType = serializers.CharField(source="rule.target_type")
    targetEntity = serializers.CharField(source="rule.target_entity")
    targetRuleId = serializers.IntegerField(source="rule.id")
    enrolledOn = serializers.SerializerMethodField()
    eventName = serializers.CharField(source="rule.event_name")
    periodStartDateWithTimeStamp = serializers.SerializerMethodField()
    periodEndDateWithTimeStamp = serializers.SerializerMethodField()
    targetAchievedDateTime = serializers.SerializerMethodField()
    streakAchievedDateTime = serializers.SerializerMethodField()
    currentPeriod = serializers.BooleanField(source="current")
    milestones = serializers.SerializerMethodField()

    def get_targetId(self, t):
        return t.user_target.id if t.user_target else None

    def get_periodStartDate(self, t):
        return utc_date(t.period.start)

    def get_periodEndDate(self, t):
        return utc_date(t.period.end)

    def get_targetValue(self, t):
        for override in t.period.rule_values.all():
            if override.rule_id == t.rule.id:
                return float(override.target_value)
        return float(t.rule.target_value)

    def get_targetAchievedValue(self, t):
        return float(t.user_target.achieved_value) if t.user_target else 0

    def get_enrolledOn(self, t):
        if t.user_target:
            return attribution_time(t.user_target.enrolled_on)
        return attribution_time(self.context["now"])

    def get_periodStartDateWithTimeStamp(self, t):
        return instant_z(t.period.start)

    def get_periodEndDateWithTimeStamp(self, t):
        return instant_z(t.period.end)

    def get_targetAchievedDateTime(self, t):
        return instant_z(t.user_target.achieved_at) if t.user_target else None

    def get_streakAchievedDateTime(self, t):
        return instant_z(t.streak_achieved_at) if t.user_target else None

    def get_milestones(self, t):
        triggers = t.rule.triggers.all()
        if not triggers:
            return None
        value = t.user_target.achieved_value if t.user_target else None
        return MilestoneSerializer(triggers, many=True, context={"achieved_value": value}).data


class StreakSerializer(serializers.ModelSerializer):
    userStreakId = serializers.SerializerMethodField()
    streakId = serializers.IntegerField(source="id")
    streakName = serializers.CharField(source="name")
    status = serializers.SerializerMethodField()
    currentCount = serializers.SerializerMethodField()
    totalTargetCountOfSequence = serializers.IntegerField(source="target_count_of_sequence")
    streakAchievedDateTime = serializers.SerializerMethodField()
    streakAchievedUserTargetId = serializers.SerializerMethodField()

    class Meta:
        model = Streak
        fields = [
            "userStreakId",
            "streakId",
            "streakName",
            "status",
            "currentCount",
            "totalTargetCountOfSequence",
            "streakAchievedDateTime",
            "streakAchievedUserTargetId",
        ]

    def _state(self, streak):
        return self.context["states"][streak.id]

    def get_userStreakId(self, streak):
        mine = streak.user_streaks.all()
        return mine[0].id if mine else None

    def get_status(self, streak):
        return self._state(streak).status

    def get_currentCount(self, streak):
        return self._state(streak).current_count

    def get_streakAchievedDateTime(self, streak):
        return instant_z(self._state(streak).achieved_at)

    def get_streakAchievedUserTargetId(self, streak):
        return self._state(streak).achieved_user_target_id


class TargetGroupSerializer(serializers.ModelSerializer):
    attribution = AttributionSerializer(source="*")
    orgId = serializers.IntegerField(source="org_id")
    preferredTillId = serializers.IntegerField(source="preferred_till_id", allow_null=True)
    targets = serializers.SerializerMethodField()
    streaks = serializers.SerializerMethodField()
    targetEvaluationType = serializers.CharField(source="target_evaluation_type")
    trackingType = serializers.CharField(source="tracking_type")

    class Meta:
        model = TargetGroup
        fields = [
            "id",
            "attribution",
            "name",
            "orgId",
            "preferredTillId",
            "targets",
            "streaks",
            "targetEvaluationType",
            "trackingType",
        ]

    def _progress(self, group):
        """The request-time rules (current period, streaks), from the read model's one function."""
        if not hasattr(group, "_naive_progress"):
            rules = list(group.rules.all())
            group._naive_progress = group_progress(
                group,
                periods=list(group.periods.all()),
                rules=rules,
                user_targets={(ut.rule_id, ut.period_id): ut for r in rules for ut in r.user_targets.all()},
                streaks=list(group.streaks.all()),
                now=self.context["now"],
            )
        return group._naive_progress

    def get_streaks(self, group):
        if group.tracking_type not in STREAK_TRACKING:
            return None  # left out of the group by to_representation
        states = {streak.id: state for streak, state in self._progress(group).streaks}
        context = {**self.context, "states": states}
        return StreakSerializer(group.streaks.all(), many=True, context=context).data

    def get_targets(self, group):
        progress = self._progress(group)
        rows = []
        for rule in group.rules.all():
            if not rule.active:
                continue
            mine = {ut.period_id: ut for ut in rule.user_targets.all()}
            for i, period in enumerate(group.periods.all()):
                ut = mine.get(period.id)
                achieved = progress.streak_achieved_at.get(ut.id) if ut else None
                rows.append(Target(group, rule, period, ut, progress.current[i], achieved))
        return TargetSerializer(rows, many=True, context=self.context).data

    def to_representation(self, group):
        data = super().to_representation(group)
        if group.tracking_type not in STREAK_TRACKING:
            del data["streaks"]
        return data


def naive_target_groups(customer_id, org_ids, now):
    customer = (
        Customer.objects.filter(id=customer_id, org_id__in=org_ids)
        .prefetch_related(
            Prefetch("profiles", queryset=CustomerProfile.objects.order_by("id")), "profiles__channels"
        )
        .first()
    )
    if customer is None:
        return None
    groups = (
        TargetGroup.objects.filter(org_id__in=org_ids, active=True)
        .filter(Q(enrolment="ALL_CUSTOMERS", org_id=customer.org_id) | Q(enrolments__customer_id=customer_id))
        .distinct()
        .order_by("id")
        .select_related("created_by", "last_updated_by")
        .prefetch_related(
            Prefetch(
                "periods",
                queryset=TargetPeriod.objects.filter(Q(customer__isnull=True) | Q(customer_id=customer_id))
                .order_by("sequence", "id")
                .prefetch_related("rule_values"),
            ),
            Prefetch(
                "rules",
                queryset=TargetRule.objects.order_by("id").prefetch_related(
                    Prefetch("triggers", queryset=MilestoneTrigger.objects.order_by("trigger_value", "id")),
                    Prefetch("user_targets", queryset=UserTarget.objects.filter(customer_id=customer_id)),
                ),
            ),
            Prefetch(
                "streaks",
                queryset=Streak.objects.order_by("id").prefetch_related(
                    Prefetch("user_streaks", queryset=UserStreak.objects.filter(customer_id=customer_id))
                ),
            ),
        )
    )
    context = {"now": now}
    return {
        "userId": customer.id,
        "customer": CustomerSerializer(customer, context=context).data,
        "targetGroups": TargetGroupSerializer(groups, many=True, context=context).data,
    }


class NaiveUserTargetGroupsView(APIView):
    """includeInactive=true only: the benchmark's one request."""

    permission_classes = [CanReadTargetGroups]

    def get(self, request, user_id):
        org_ids = readable_org_ids(org=request.user.actor.org, headers=parse_headers(request.headers))
        data = naive_target_groups(int(user_id), org_ids, clock.now())
        return Response(envelope(None, data=data))

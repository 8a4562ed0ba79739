from django.urls import re_path

from targets.api.activities import ActivitiesViewSet
from targets.api.views import UserTargetGroupsViewSet

user_target_groups = UserTargetGroupsViewSet.as_view({"get": "list"})
activities = ActivitiesViewSet.as_view({"post": "create"})

# Served under /v3.1/… and under the gateway prefix of the documented curl (config.urls).
urlpatterns = [
    re_path(
        r"^v3\.1/users/(?P<user_id>[^/]*)/targetGroups/?$", user_target_groups, name="user-target-groups"
    ),
    re_path(r"^v3\.1/activities/?$", activities, name="activities"),
]

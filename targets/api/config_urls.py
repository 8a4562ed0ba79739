"""/v3/targetGroups (the configuration API, SPEC §5). A trailing slash is optional; an id that is
not a positive integer answers the same 404 as an unknown one (the view checks it)."""

from django.urls import re_path

from targets.api.config_views import TargetGroupViewSet

target_groups = TargetGroupViewSet.as_view({"get": "list", "post": "create"})
target_group = TargetGroupViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)
enrol = TargetGroupViewSet.as_view({"post": "enrol"})
unenrol = TargetGroupViewSet.as_view({"post": "unenrol"})

urlpatterns = [
    re_path(r"^v3/targetGroups/?$", target_groups, name="target-groups"),
    re_path(r"^v3/targetGroups/(?P<pk>[^/]+)/?$", target_group, name="target-group"),
    re_path(r"^v3/targetGroups/(?P<pk>[^/]+)/enrol/?$", enrol, name="target-group-enrol"),
    re_path(r"^v3/targetGroups/(?P<pk>[^/]+)/unenrol/?$", unenrol, name="target-group-unenrol"),
]

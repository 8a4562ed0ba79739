from django.urls import re_path

from targets.events.api import EventFeedViewSet

# Served under /v3.1/… and under the gateway prefix (config.urls).
urlpatterns = [
    re_path(r"^v3\.1/events/?$", EventFeedViewSet.as_view({"get": "list"}), name="events"),
]

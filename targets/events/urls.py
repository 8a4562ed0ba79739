from django.urls import re_path

from targets.events.api import EventFeedViewSet
from targets.events.webhooks_api import WebhookViewSet

# Served under /v3.1/… and /v3/…, and under the gateway prefix (config.urls).
urlpatterns = [
    re_path(r"^v3\.1/events/?$", EventFeedViewSet.as_view({"get": "list"}), name="events"),
    re_path(r"^v3/webhooks/?$", WebhookViewSet.as_view({"get": "list", "post": "create"}), name="webhooks"),
    re_path(
        r"^v3/webhooks/(?P<pk>[^/]+)/?$",
        WebhookViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="webhook",
    ),
]

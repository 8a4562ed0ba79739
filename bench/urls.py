"""The benchmark's URLconf: the application's, plus the naive implementation of the read
endpoint (bench.naive) under /benchmark/naive/…, so that both are served through
the same middleware, authentication and permission."""

from django.urls import path

from bench.naive import NaiveUserTargetGroupsView
from config import urls as app_urls

urlpatterns = [
    path(
        "benchmark/naive/users/<int:user_id>/targetGroups",
        NaiveUserTargetGroupsView.as_view(),
        name="benchmark-naive-user-target-groups",
    ),
    *app_urls.urlpatterns,
]

handler400 = app_urls.handler400
handler403 = app_urls.handler403
handler404 = app_urls.handler404
handler500 = app_urls.handler500

"""A test urlconf: the project's URLs plus views that fail in unexpected ways, to show that the
API still answers in its envelope (tests/api/test_errors.py)."""

from django.db import OperationalError
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from config import urls as project

handler400 = project.handler400
handler403 = project.handler403
handler404 = project.handler404
handler500 = project.handler500


class Boom(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("an unexpected bug inside an API view")


class DatabaseDown(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise OperationalError("could not connect to server")


def plain_boom(request):
    raise RuntimeError("an unexpected bug inside a plain Django view")


urlpatterns = [
    path("v3.1/boom", Boom.as_view()),
    path("v3.1/database-down", DatabaseDown.as_view()),
    path("v3.1/plain-boom", plain_boom),
    *project.urlpatterns,
]

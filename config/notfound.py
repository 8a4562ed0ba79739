"""The project's own 404 page, also with DEBUG on (`make run`): Django's debug 404 lists every
URL pattern, which is no page for a program admin or a staff user. API paths keep the JSON
envelope (config.urls.handler404)."""

from django.conf import settings
from django.shortcuts import render

OWN_PAGE = "_project_404"


def not_found_page(request, exception=None):
    response = render(request, "404.html", {"path": request.path[:200]}, status=404)
    setattr(response, OWN_PAGE, True)
    return response


class ProjectNotFoundMiddleware:
    """With DEBUG on, replaces Django's technical 404 page by the project's (with DEBUG off,
    Django already calls handler404, which renders it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and not getattr(response, OWN_PAGE, False)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            from config.urls import handler404

            return handler404(request)
        return response

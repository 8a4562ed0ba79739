from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.exceptions import Codes, json_error
from customers.login import ThrottledAdminAuthenticationForm, throttled_status
from customers.views import ThrottledTokenView, TokenGenerateView

API_PREFIXES = ("/v3", "/v3.1", "/api_gateway/", "/api/")


@csrf_exempt  # an API client POSTing to an unknown path gets the 404 envelope, not a CSRF page
def api_not_found(request, *args, **kwargs):
    return json_error(404, Codes.NOT_FOUND, f"No API resource at {request.path[:200]}")


api = [
    path("", include("targets.api.urls")),
    path("", include("targets.api.config_urls")),
    path("", include("targets.events.urls")),
    path("v3/oauth/token/generate", TokenGenerateView.as_view(), name="token-generate"),
]

# Of django-oauth-toolkit's endpoints only the token endpoint (client credentials), throttled.
# Its other views are left out: they would let any logged-in user register OAuth applications
# outside the admin, and the revoke/introspect endpoints authenticate client secrets unthrottled.
oauth = ([path("token/", ThrottledTokenView.as_view(), name="token")], "oauth2_provider")

admin.site.site_header = "Loyalty milestones"
admin.site.site_title = "Loyalty milestones admin"
admin.site.index_title = "Programs, customers and progress"
admin.site.site_url = "/staff/"  # "View site": the staff pages
# The admin's log-in verifies passwords like HTTP Basic: the same failure throttle (issue 15 §3).
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("", RedirectView.as_view(url="/staff/", permanent=False), name="home"),
    path("admin/login/", throttled_status(admin.site.login)),  # admin's own view, 429 when throttled
    path("admin/", admin.site.urls),
    path("_nested_admin/", include("nested_admin.urls")),
    path("o/", include(oauth)),
    path("staff/", include("targets.staff.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include(api)),
    path("api_gateway/intouch-api-v3/", include(api)),
    # Anything else under an API prefix, the bare prefixes included (so that APPEND_SLASH does not
    # answer /v3.1 with an HTML redirect), is a 404 in the envelope.
    re_path(r"^(api_gateway|v3(\.1)?|api)(/|$)", api_not_found),
]


def handler404(request, exception=None):
    if request.path.startswith(API_PREFIXES):
        return api_not_found(request)
    from config.notfound import not_found_page

    return not_found_page(request, exception)


def handler400(request, exception=None):
    if request.path.startswith(API_PREFIXES):
        return json_error(400, Codes.INVALID_INPUT, "Invalid input: bad request")
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler403(request, exception=None):
    if request.path.startswith(API_PREFIXES):
        return json_error(403, Codes.FORBIDDEN)
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


def handler500(request):
    if request.path.startswith(API_PREFIXES):
        return json_error(500, Codes.INTERNAL, "Internal error")
    from django.views.defaults import server_error

    return server_error(request)

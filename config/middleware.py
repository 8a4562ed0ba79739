"""Request guards that run before any view: the body size limit and NUL characters.

- A body over MAX_BODY_BYTES (Content-Length) is answered 413 before anything reads it, in the
  API's envelope on API paths and the token endpoints (anonymous callers included), naming the
  limit; Django would otherwise raise RequestDataTooBig wherever the body is first read (a 500
  inside DRF views). DATA_UPLOAD_MAX_MEMORY_SIZE is the same number, for form bodies.
- A NUL character in the query string of a page (staff pages, admin) is a 400: PostgreSQL
  cannot compare text with NUL, so a search for it would fail deep in the database. The API
  answers such values itself (e.g. 400 310011 for a userId), so API paths are left alone.
"""

from django.http import HttpResponse, HttpResponseBadRequest

from config.exceptions import Codes, json_error
from targets.limits import MAX_BODY_BYTES

API_PREFIXES = ("/v3", "/v3.1", "/api_gateway/", "/api/", "/o/")


def too_large_message():
    return (
        f"Request body too large: the limit is {MAX_BODY_BYTES} bytes "
        f"({MAX_BODY_BYTES // (1024 * 1024)} MiB); send at most 1000 activities per request"
    )


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path.startswith(API_PREFIXES)
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            size = int(length)
        except ValueError:
            size = -1
        if size < 0:
            if api:
                return json_error(400, Codes.INVALID_INPUT, "Invalid input: bad Content-Length")
            return HttpResponseBadRequest("Bad Content-Length", content_type="text/plain")
        if size > MAX_BODY_BYTES:
            if api:
                return json_error(413, 413, too_large_message())
            return HttpResponse(too_large_message(), status=413, content_type="text/plain")
        if not api and _has_nul(request.GET):
            return HttpResponseBadRequest("NUL characters are not allowed", content_type="text/plain")
        return self.get_response(request)


def _has_nul(query) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in query.lists())


# Staff pages and the admin: scripts, styles, images, fonts and forms only from this origin, no
# plugins, no framing. Inline style attributes stay allowed (the staff pages draw progress bars
# with `style="width: …%"`); inline <style> and <script> do not.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)
CSP_PREFIXES = ("/staff/", "/admin/")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(CSP_PREFIXES) and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response

"""The API's error envelope and the exception handler that answers every failure with it.

`{"data": null, "errors": [{"code": N, "message": "…"}], "warnings": null}` with the HTTP status
of SPEC §3's table. No API request gets an HTML page or a bare 500."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

log = logging.getLogger("api")


class Codes:
    INVALID_USER_ID = 310011
    CUSTOMER_NOT_FOUND = 8015
    INVALID_INPUT = 300004
    CONNECTED_ORGS = 310144
    DUPLICATE_NAME = 310069
    UNAUTHORIZED = 401
    FORBIDDEN = 403
    NOT_FOUND = 404
    METHOD_NOT_ALLOWED = 405
    CONFLICT = 409
    UNSUPPORTED_MEDIA_TYPE = 415
    THROTTLED = 429
    INTERNAL = 500
    UNAVAILABLE = 503


MESSAGES = {
    Codes.INVALID_USER_ID: "Invalid userId",
    Codes.CUSTOMER_NOT_FOUND: "Customer not found for the given identifiers",
    Codes.INVALID_INPUT: "Invalid input",
    Codes.CONNECTED_ORGS: "Connected Orgs not set properly in Headers",
    Codes.UNAUTHORIZED: "Authentication required: missing or invalid credentials",
    Codes.FORBIDDEN: "Permission denied",
    Codes.NOT_FOUND: "Not found",
}


class APIError(exceptions.APIException):
    """An error with the envelope's code. `errors` may carry several (code, message) pairs."""

    def __init__(self, http_status, code, message=None, *, errors=None):
        self.status_code = http_status
        self.errors = errors or [{"code": code, "message": message or MESSAGES.get(code, "Error")}]
        super().__init__(detail=self.errors[0]["message"], code=code)


def envelope(errors, *, data=None, warnings=None):
    return {"data": data, "errors": errors, "warnings": warnings}


def error_body(code, message):
    return envelope([{"code": code, "message": message}])


def _validation_messages(detail, prefix=""):
    """Flatten DRF's nested validation detail into `field: message` strings."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # DRF ≥ 3.15 reports list items as {index: detail}
                yield from _validation_messages(value, f"{prefix}[{key}]")
                continue
            name = key if key != "non_field_errors" else ""
            yield from _validation_messages(
                value, f"{prefix}.{name}" if prefix and name else (name or prefix)
            )
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            for item in detail:
                yield f"{prefix}: {item}" if prefix else str(item)
        else:
            for i, item in enumerate(detail):
                if item:
                    yield from _validation_messages(item, f"{prefix}[{i}]")
    else:
        yield f"{prefix}: {detail}" if prefix else str(detail)


def _translate(exc):
    """(status, errors) for an exception, or None for an unexpected one."""
    if isinstance(exc, APIError):
        return exc.status_code, exc.errors
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return status.HTTP_401_UNAUTHORIZED, [{"code": Codes.UNAUTHORIZED, "message": str(exc.detail)}]
    if isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
        return status.HTTP_403_FORBIDDEN, [{"code": Codes.FORBIDDEN, "message": MESSAGES[Codes.FORBIDDEN]}]
    if isinstance(exc, (exceptions.NotFound, Http404)):
        return status.HTTP_404_NOT_FOUND, [{"code": Codes.NOT_FOUND, "message": MESSAGES[Codes.NOT_FOUND]}]
    if isinstance(exc, exceptions.MethodNotAllowed):
        return exc.status_code, [{"code": Codes.METHOD_NOT_ALLOWED, "message": str(exc.detail)}]
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return exc.status_code, [{"code": Codes.UNSUPPORTED_MEDIA_TYPE, "message": str(exc.detail)}]
    if isinstance(exc, exceptions.NotAcceptable):
        return exc.status_code, [{"code": Codes.INVALID_INPUT, "message": str(exc.detail)}]
    if isinstance(exc, exceptions.Throttled):
        return exc.status_code, [{"code": Codes.THROTTLED, "message": str(exc.detail)}]
    if isinstance(exc, exceptions.ParseError):
        return status.HTTP_400_BAD_REQUEST, [
            {"code": Codes.INVALID_INPUT, "message": f"Invalid input: {exc.detail}"}
        ]
    if isinstance(exc, exceptions.ValidationError):
        messages = list(_validation_messages(exc.detail)) or ["Invalid input"]
        return status.HTTP_400_BAD_REQUEST, [{"code": Codes.INVALID_INPUT, "message": m} for m in messages]
    if isinstance(exc, exceptions.APIException):
        return exc.status_code, [{"code": exc.status_code, "message": str(exc.detail)}]
    if isinstance(exc, RequestDataTooBig):  # a body without Content-Length read past the limit
        from config.middleware import too_large_message

        return 413, [{"code": 413, "message": too_large_message()}]
    if isinstance(exc, TooManyFieldsSent):
        return status.HTTP_400_BAD_REQUEST, [{"code": Codes.INVALID_INPUT, "message": "Invalid input"}]
    if isinstance(exc, (OperationalError, InterfaceError)):
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return status.HTTP_503_SERVICE_UNAVAILABLE, [
            {
                "code": Codes.UNAVAILABLE,
                "message": "Service temporarily unavailable; nothing was applied, retry",
            }
        ]
    return None


def envelope_exception_handler(exc, context):
    translated = _translate(exc)
    if translated is None:
        request = context.get("request")
        log.exception("unexpected error on %s", getattr(request, "path", "?"))
        translated = (
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            [{"code": Codes.INTERNAL, "message": "Internal error"}],
        )
    http_status, errors = translated
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    set_rollback()
    return Response(envelope(errors), status=http_status, headers=headers)


def json_error(http_status, code, message=None):
    """The envelope outside DRF views: unknown API paths, Django's 404/500 handlers."""
    return JsonResponse(error_body(code, message or MESSAGES.get(code, "Error")), status=http_status)

"""JSON rendering with orjson: the read endpoint's dicts are plain, so this is the whole cost."""

import json
from datetime import date, datetime
from decimal import Decimal

import orjson
from django.http import Http404
from django.utils.functional import Promise
from rest_framework import status
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer


def _default(value):
    """What orjson does not encode itself. Anything else is a bug in the caller: it raises
    (a 500 the exception handler turns into the envelope) instead of being silently written
    as its str()."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Promise):  # lazy translations in error messages
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        try:
            return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:
            # A string that is not valid UTF-8 (a lone surrogate from a JSON escape in the
            # request, echoed in an error) or an integer beyond 64 bits: the standard library
            # writes both, surrogates as \uXXXX escapes.
            return json.dumps(data, default=_default, ensure_ascii=True).encode()


class LenientContentNegotiation(DefaultContentNegotiation):
    """Honour Accept where a view offers a choice (the schema view), but never answer 406: an
    API client asking for text/html still gets the JSON envelope. A `?format=` that no renderer
    offers is invalid input (400), not a 404 that would read as "customer not found"."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type
        except Http404:
            # Imported here: config.exceptions imports DRF's views, which import this module.
            from config.exceptions import APIError, Codes

            raise APIError(
                status.HTTP_400_BAD_REQUEST,
                Codes.INVALID_INPUT,
                "Invalid input: format: unsupported response format",
            ) from None

"""The platform-compatible token endpoint: POST /v3/oauth/token/generate {"key", "secret"}.

It runs django-oauth-toolkit's client-credentials grant (same validator, hashed secrets, same
token table as /o/token/) and answers in the platform's envelope."""

import json
import math
from urllib.parse import urlencode

from drf_spectacular.utils import extend_schema, inline_serializer
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauth2_provider.views import TokenView
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from config.exceptions import APIError, Codes, envelope, json_error
from targets.api.schema import COMMON_ERRORS, error_response


class TokenRateThrottle(SimpleRateThrottle):
    """Token requests per client address, one bucket for both token endpoints (failures count
    too). The rate is REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"] (env TOKEN_THROTTLE_RATE),
    read at each request rather than once at import."""

    scope = "token"

    @property
    def THROTTLE_RATES(self):  # noqa: N802 (DRF's attribute name)
        return api_settings.DEFAULT_THROTTLE_RATES

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ThrottledTokenView(TokenView):
    """django-oauth-toolkit's standard /o/token/ behind the same throttle as the platform's
    token endpoint; a throttled request gets the 429 envelope with Retry-After."""

    def post(self, request, *args, **kwargs):
        throttle = TokenRateThrottle()
        if not throttle.allow_request(request, self):
            wait = math.ceil(throttle.wait() or 1)
            response = json_error(
                429, Codes.THROTTLED, f"Request was throttled. Expected available in {wait} seconds."
            )
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)


class TokenRequestSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=255)
    secret = serializers.CharField(max_length=255)


class TokenGenerateView(APIView):
    authentication_classes = []
    permission_classes = []
    throttle_classes = [TokenRateThrottle]

    @extend_schema(
        operation_id="generateOAuthToken",
        summary="Generate an access token from an API client key and secret",
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer(
                "TokenResponse",
                {
                    "data": inline_serializer(
                        "TokenData",
                        {"accessToken": serializers.CharField(), "ttlSeconds": serializers.IntegerField()},
                    ),
                    "errors": serializers.JSONField(allow_null=True),
                    "warnings": serializers.JSONField(allow_null=True),
                },
            ),
            400: COMMON_ERRORS[400],
            401: error_response(401, (401, "Failed to generate OAuth token")),
            429: error_response(429, (429, "Request was throttled. Expected available in 60 seconds.")),
        },
        auth=[],
    )
    def post(self, request):
        body = request.data if isinstance(request.data, dict) else None
        credentials = TokenRequestSerializer(data=body if body is not None else {})
        if body is None or not credentials.is_valid():
            raise APIError(
                status.HTTP_400_BAD_REQUEST, Codes.INVALID_INPUT, "Invalid input: key and secret are required"
            )
        form = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": credentials.validated_data["key"],
                "client_secret": credentials.validated_data["secret"],
            }
        )
        _headers, token_body, token_status = get_oauthlib_core().server.create_token_response(
            request.build_absolute_uri(), "POST", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if token_status != 200:
            raise APIError(status.HTTP_401_UNAUTHORIZED, Codes.UNAUTHORIZED, "Failed to generate OAuth token")
        token = json.loads(token_body)
        return Response(
            envelope(None, data={"accessToken": token["access_token"], "ttlSeconds": token["expires_in"]})
        )

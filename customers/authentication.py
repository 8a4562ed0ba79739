"""API identities: HTTP Basic for Django users linked to an Actor, and OAuth 2 client
credentials through django-oauth-toolkit, each application bound to its owner's Actor.

Basic auth cost: verifying a PBKDF2 hash takes a large fraction of a second of CPU by design.
Verified credentials are remembered in-process for a short time under a keyed hash (HMAC with
SECRET_KEY) of the user id, the stored password hash and the presented password; the password
itself is never kept. A password change changes the stored hash, so old entries stop matching
at once; a deactivated user is refused because the user row is read on every request. The
trade-off: for CREDENTIAL_CACHE_SECONDS a stolen process memory could confirm a password guess
offline against an HMAC instead of PBKDF2 — bounded by the TTL and the cache size.
"""

import functools
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication

from customers import identity, throttling

CREDENTIAL_CACHE_SECONDS = getattr(settings, "CREDENTIAL_CACHE_SECONDS", 300)
CREDENTIAL_CACHE_SIZE = 4096


class VerifiedCredentials:
    """A small LRU of recently verified (user, password hash, password) triples, keyed by HMAC."""

    def __init__(self, ttl=CREDENTIAL_CACHE_SECONDS, size=CREDENTIAL_CACHE_SIZE):
        self.ttl, self.size = ttl, size
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(user, password):
        message = f"{user.pk}\0{user.password}\0{password}".encode()
        return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()

    def __contains__(self, key):
        with self._lock:
            expires = self._entries.get(key)
            if expires is None:
                return False
            if expires < time.monotonic():
                del self._entries[key]
                return False
            self._entries.move_to_end(key)
            return True

    def add(self, key):
        with self._lock:
            self._entries[key] = time.monotonic() + self.ttl
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self):
        with self._lock:
            self._entries.clear()


verified_credentials = VerifiedCredentials()


def require_actor(user):
    actor = getattr(user, "actor", None) if user is not None else None
    if actor is None:
        raise exceptions.AuthenticationFailed("This identity is not linked to an actor")
    return actor


class ActorBasicAuthentication(BasicAuthentication):
    www_authenticate_realm = "api"

    def authenticate_credentials(self, userid, password, request=None):
        if "\x00" in userid:  # PostgreSQL cannot even compare such a string: refuse, don't fail
            raise exceptions.AuthenticationFailed("Invalid username/password")
        user = identity.user_by_username(userid)  # with its actor, org and permissions
        known = user is not None and user.is_active
        key = verified_credentials.key(user, password) if known else None
        if key is None or key not in verified_credentials:
            # A password verification is due: refused cheaply (429) when this address or
            # username failed too often lately (customers/throttling.py).
            throttling.check(request, userid)
            if not known:
                # Spend the same work as a real check so that unknown users are not faster to refuse.
                get_user_model()().set_password(password)
                throttling.record_failure(request, userid)
                raise exceptions.AuthenticationFailed("Invalid username/password")
            if not user.check_password(password):
                throttling.record_failure(request, userid)
                raise exceptions.AuthenticationFailed("Invalid username/password")
            verified_credentials.add(key)
        require_actor(user)
        return user, None


@functools.cache
def _dummy_secret_hash():
    """A hash made by the hasher that stores client secrets, with its current cost."""
    return make_password(secrets.token_urlsafe(32))


class ActorOAuth2Validator(OAuth2Validator):
    """Loads the token with its application's owner, the owner's Actor and org in one query."""

    def _load_application(self, client_id, request):
        if client_id and "\x00" in client_id:  # PostgreSQL cannot compare it: an unknown client
            application = None
        else:
            application = super()._load_application(client_id, request)
        if application is None:
            request.unknown_client = True
        return application

    def authenticate_client(self, request, *args, **kwargs):
        """An unknown client key costs the same secret verification as a known key with a wrong
        secret, so answer times do not tell which keys exist (issue 15 §3)."""
        authenticated = super().authenticate_client(request, *args, **kwargs)
        if not authenticated and getattr(request, "unknown_client", False):
            check_password(getattr(request, "client_secret", "") or "", _dummy_secret_hash())
        return authenticated

    def _load_access_token(self, token):
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return (
            AccessToken.objects.select_related("application__user__actor__org", "user")
            .filter(token_checksum=checksum)
            .first()
        )


class ActorOAuth2Authentication(OAuth2Authentication):
    """Bearer tokens from `Authorization: Bearer` or the platform's `X-CAP-API-OAUTH-TOKEN`.
    A client-credentials token acts as its application's owner, a user linked to an Actor.

    The token is checked by one query (customers/identity.py) instead of oauthlib's request
    validation, with django-oauth-toolkit's rules on its own model: the token is read from the
    header as oauthlib reads it (`Bearer <token>`; never from the query string, RFC 9700),
    looked up by its SHA-256 checksum (a revoked token is a deleted row), and must be valid by
    `AccessToken.is_valid` (not expired) and, when bound to a resource, allow this URI
    (`allows_audience`, RFC 8707). Scopes are enforced by the permission classes as before."""

    def authenticate(self, request):
        meta = request._request.META
        cap_token = meta.get("HTTP_X_CAP_API_OAUTH_TOKEN")
        if cap_token and not meta.get("HTTP_AUTHORIZATION"):
            meta["HTTP_AUTHORIZATION"] = f"Bearer {cap_token.strip()}"
        header = meta.get("HTTP_AUTHORIZATION", "")
        if not (cap_token or header.lower().startswith("bearer ")):
            return None
        parts = header.split()
        token = None
        if len(parts) == 2 and parts[0].lower() == "bearer" and "\x00" not in parts[1]:
            token = identity.access_token(parts[1])
        if token is None or not token.is_valid([]) or not self._audience_allows(request, token):
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token")
        user = token.user or token.application.user
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("The token's application has no active owner")
        require_actor(user)
        return user, token

    @staticmethod
    def _audience_allows(request, token):
        if not getattr(token, "resource", None):
            return True
        return token.allows_audience(request._request.build_absolute_uri().split("?")[0])

"""Permission classes: an authenticated Actor identity holding a Django permission.
Permissions are loaded once per request by the authentication classes.

OAuth scopes (SPEC §5): a request made with an access token needs the token's `read` scope to
read (GET, HEAD, OPTIONS) and its `write` scope for anything else; a token without it is a 403.
Basic credentials carry no scope: the Actor's Django permissions decide alone."""

from oauth2_provider.models import AbstractAccessToken
from rest_framework.permissions import SAFE_METHODS, BasePermission

READ_SCOPE, WRITE_SCOPE = "read", "write"


def required_scope(method: str) -> str:
    return READ_SCOPE if method in SAFE_METHODS else WRITE_SCOPE


def token_allows(request) -> bool:
    token = getattr(request, "auth", None)
    if not isinstance(token, AbstractAccessToken):
        return True
    return token.allow_scopes([required_scope(request.method)])


class ActorPermission(BasePermission):
    """Authenticated, linked to an Actor, and holding `perms[method]` (or `perms["*"]`)."""

    perms: dict = {}

    def has_permission(self, request, view):
        user = request.user
        if user is None or not user.is_authenticated or getattr(user, "actor", None) is None:
            return False
        if not token_allows(request):
            self.message = f"This access token lacks the '{required_scope(request.method)}' scope"
            return False
        needed = self.perms.get(request.method, self.perms.get("*"))
        return needed is None or user.has_perm(needed)


class CanReadTargetGroups(ActorPermission):
    perms = {"*": "targets.view_targetgroup"}


class CanPostActivity(ActorPermission):
    perms = {"*": "targets.add_activity"}


class CanConfigureTargetGroups(ActorPermission):
    """Reads need the view permission; writes the change permission (SPEC §5)."""

    perms = {
        "GET": "targets.view_targetgroup",
        "HEAD": "targets.view_targetgroup",
        "OPTIONS": "targets.view_targetgroup",
        "*": "targets.change_targetgroup",
    }

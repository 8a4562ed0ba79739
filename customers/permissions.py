"""Permission classes: an authenticated Actor identity holding a Django permission.
Permissions are loaded once per request by the authentication classes."""

from rest_framework.permissions import BasePermission


class ActorPermission(BasePermission):
    """Authenticated, linked to an Actor, and holding `perms[method]` (or `perms["*"]`)."""

    perms: dict = {}

    def has_permission(self, request, view):
        user = request.user
        if user is None or not user.is_authenticated or getattr(user, "actor", None) is None:
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

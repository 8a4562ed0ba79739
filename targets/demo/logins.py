"""Demo logins (SPEC §7). Demo only: every password equals its username."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from oauth2_provider.models import Application

from customers.models import Actor

# username -> (actor id, org id, actor type, name); None: no actor of its own.
TILL_PERMISSIONS = [
    ("targets", "view_targetgroup"),
    ("targets", "add_activity"),
    ("targets", "add_targetgroup"),
    ("targets", "change_targetgroup"),
    ("targets", "delete_targetgroup"),
]
STAFF_APPS = ("customers", "targets")

DEMO_OAUTH_CLIENT = {
    "client_id": "demo-key",
    "client_secret": "demo-secret",
    "name": "tillrustaging2 demo client",
}


def _user(username, *, is_staff=False, is_superuser=False):
    User = get_user_model()
    user = User.objects.filter(username=username).first() or User(username=username)
    user.is_staff, user.is_superuser, user.is_active = is_staff, is_superuser, True
    user.set_password(username)
    user.save()
    return user


def _grant(user, perms):
    user.user_permissions.set(
        Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in perms
    )


def link(user, actor_id):
    Actor.objects.filter(user=user).exclude(id=actor_id).update(user=None)
    Actor.objects.filter(id=actor_id).update(user=user)


def create_logins(*, tills, staff, admin_actor_id):
    """tills: {username: actor id}; staff: {username: actor id}."""
    admin = _user("admin", is_staff=True, is_superuser=True)
    link(admin, admin_actor_id)
    for username, actor_id in tills.items():
        user = _user(username)
        _grant(user, TILL_PERMISSIONS)
        link(user, actor_id)
    staff_perms = Permission.objects.filter(content_type__app_label__in=STAFF_APPS).values_list(
        "content_type__app_label", "codename"
    )
    for username, actor_id in staff.items():
        user = _user(username, is_staff=True)
        _grant(user, list(staff_perms))
        link(user, actor_id)
    owner = get_user_model().objects.get(username="tillrustaging2")
    Application.objects.filter(client_id=DEMO_OAUTH_CLIENT["client_id"]).delete()
    Application.objects.create(
        client_id=DEMO_OAUTH_CLIENT["client_id"],
        client_secret=DEMO_OAUTH_CLIENT["client_secret"],
        name=DEMO_OAUTH_CLIENT["name"],
        user=owner,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )

"""Who is calling, in one query: the credential (a bearer token, or a Basic username) with its
user, the user's Actor and org, the user's permissions and the org's children.

Authentication used to cost two queries (the token or user with select_related, then the
user's permissions) and, for DATA-SCOPE ALL/OTHER, a third (the org's children). Everything is
read fresh on every request — nothing is cached between requests — so a revoked (deleted) or
expired token, a deactivated user, a removed permission or a moved child org is refused or
seen at once, from whichever process made the change. The permissions and children ride along
as two aggregated subqueries (comma-separated text), so the count stays one.

The SQL text is built once per process and database vendor from the models' metadata and runs
through `config.prepared.statement_cursor` (a prepared statement on PostgreSQL). The rows become
the models' own instances (`Model.from_db`, Django's column converters), so the token is
django-oauth-toolkit's `AccessToken` and its expiry and scope rules are its own methods.
"""

import functools
import hashlib

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections, router
from oauth2_provider.models import get_access_token_model, get_application_model

from config.prepared import statement_cursor
from customers.models import Actor, Org


def _columns(model, alias):
    return [(alias, field) for field in model._meta.concrete_fields]


@functools.cache
def _layout():
    """(alias, model) of each instance a row holds, in column order, for a token row and a
    username row."""
    user = [("u", get_user_model()), ("ac", Actor), ("o", Org)]
    return [("t", get_access_token_model()), ("a", get_application_model()), *user], user


_SQL = {}


def _sql(connection, by_token):
    """The query for this connection's vendor: by token checksum or by username."""
    key = (connection.vendor, by_token)
    if key not in _SQL:
        _SQL[key] = _build_sql(connection, by_token)
    return _SQL[key]


def _build_sql(connection, by_token):
    q = connection.ops.quote_name

    def table(model):
        return q(model._meta.db_table)

    def col(alias, model, name):
        return f"{alias}.{q(model._meta.get_field(name).column)}"

    def joined(expression):  # comma-separated text of the subquery's rows
        if connection.vendor == "postgresql":
            return f"STRING_AGG({expression}, ',')"
        return f"GROUP_CONCAT({expression}, ',')"

    User = get_user_model()  # noqa: N806 (a model class)
    user_perms = User.user_permissions.through
    user_groups = User.groups.through
    group_perms = Group.permissions.through
    token_layout, user_layout = _layout()
    layout = token_layout if by_token else user_layout
    select = [f"{alias}.{q(field.column)}" for alias, model in layout for _, field in _columns(model, alias)]
    uid = col("u", User, "id")
    permission_name = f"{col('ct', ContentType, 'app_label')} || '.' || {col('p', Permission, 'codename')}"
    permissions = (
        f"(SELECT {joined(permission_name)}"
        f" FROM {table(Permission)} p JOIN {table(ContentType)} ct"
        f" ON {col('ct', ContentType, 'id')} = {col('p', Permission, 'content_type')}"
        # Two indexed IN lookups, not an OR across joins (which scans, docs/scaling.md).
        f" WHERE {col('p', Permission, 'id')} IN (SELECT {col('up', user_perms, 'permission')}"
        f" FROM {table(user_perms)} up WHERE {col('up', user_perms, 'user')} = {uid})"
        f" OR {col('p', Permission, 'id')} IN (SELECT {col('gp', group_perms, 'permission')}"
        f" FROM {table(group_perms)} gp JOIN {table(user_groups)} ug"
        f" ON {col('ug', user_groups, 'group')} = {col('gp', group_perms, 'group')}"
        f" WHERE {col('ug', user_groups, 'user')} = {uid}))"
    )
    children = (
        f"(SELECT {joined('CAST(' + col('c', Org, 'id') + ' AS TEXT)')} FROM {table(Org)} c"
        f" WHERE {col('c', Org, 'parent')} = {col('o', Org, 'id')})"
    )
    joins = (
        f" LEFT JOIN {table(Actor)} ac ON {col('ac', Actor, 'user')} = {uid}"
        f" LEFT JOIN {table(Org)} o ON {col('o', Org, 'id')} = {col('ac', Actor, 'org')}"
    )
    if by_token:
        Token, Application = get_access_token_model(), get_application_model()  # noqa: N806
        source = (
            f"{table(Token)} t LEFT JOIN {table(Application)} a"
            f" ON {col('a', Application, 'id')} = {col('t', Token, 'application')}"
            f" LEFT JOIN {table(User)} u"
            f" ON {uid} = COALESCE({col('t', Token, 'user')}, {col('a', Application, 'user')})"
        )
        where = f"{col('t', Token, 'token_checksum')} = %s"
    else:
        source = f"{table(User)} u"
        where = f"{col('u', User, 'username')} = %s"
    return f"SELECT {', '.join([*select, permissions, children])} FROM {source}{joins} WHERE {where}"


def _instances(row, layout, connection):
    """The row's model instances (None for a NULL side of a LEFT JOIN), then the rest."""
    instances, at = [], 0
    for alias, model in layout:
        fields = model._meta.concrete_fields
        values = list(row[at : at + len(fields)])
        at += len(fields)
        if values[0] is None:  # the primary key: no such row
            instances.append(None)
            continue
        for i, field in enumerate(fields):
            expression = field.get_col(alias)
            for convert in connection.ops.get_db_converters(expression) + field.get_db_converters(connection):
                values[i] = convert(values[i], expression, connection)
        instances.append(model.from_db(connection.alias, [f.attname for f in fields], values))
    return instances, row[at:]


def _run(by_token, value):
    layout = _layout()[0 if by_token else 1]
    connection = connections[router.db_for_read(layout[0][1])]
    with statement_cursor(connection) as cursor:
        cursor.execute(_sql(connection, by_token), [value])
        row = cursor.fetchone()
    if row is None:
        return None
    return _instances(row, layout, connection)


def _attach(user, actor, org, permissions, children):
    """Put the row's relations and lookups where Django and the views look for them."""
    if actor is not None:
        actor.user = user  # also the reverse one-to-one cache: user.actor
        actor.org = org
        org.child_ids = frozenset(int(i) for i in children.split(",")) if children else frozenset()
    else:
        Actor._meta.get_field("user").remote_field.set_cached_value(user, None)
    # Django's permission cache (ModelBackend.get_all_permissions reads these).
    user._perm_cache = set(permissions.split(",")) if permissions else set()
    user._user_perm_cache = user._group_perm_cache = user._perm_cache


def user_by_username(username):
    """The user with its Actor, org, permissions and child orgs; None when unknown."""
    found = _run(False, username)
    if found is None:
        return None
    (user, actor, org), (permissions, children) = found
    _attach(user, actor, org, permissions, children)
    return user


def access_token(token):
    """django-oauth-toolkit's AccessToken stored for this bearer token (its SHA-256 checksum),
    with its application and the user it acts as (the token's user, else the application's
    owner) loaded as by `user_by_username`; None when no such token is stored."""
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    found = _run(True, checksum)
    if found is None:
        return None
    (token, application, user, actor, org), (permissions, children) = found
    if application is not None:
        token.application = application
    if user is not None:
        _attach(user, actor, org, permissions, children)
        if token.user_id == user.pk:
            token.user = user
        elif application is not None and application.user_id == user.pk:
            application.user = user
    return token

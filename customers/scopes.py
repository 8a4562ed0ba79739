"""Which orgs a caller may read or write, from the DATA-SCOPE headers (SPEC §3).

| DATA-SCOPE     | caller is a parent                      | caller is a child                     |
| absent / SELF  | own org                                 | own org                               |
| OTHER          | the children listed in DATA-SCOPE-ORG   | only itself, and it must list itself  |
| ALL            | itself and all its children             | its parent and itself                 |

The answer is a set of org ids that views apply as a queryset restriction
(`.filter(org_id__in=…)`), never as per-object checks. Header values are case-insensitive and
spaces around ids are ignored. An org with no parent counts as a parent (of zero or more children).
"""

from dataclasses import dataclass

from rest_framework import status

from config.exceptions import APIError, Codes
from config.ids import parse_long_id
from customers.models import Org

SCOPES = ("SELF", "OTHER", "ALL")


def _bad_header(message):
    return APIError(
        status.HTTP_400_BAD_REQUEST,
        Codes.CONNECTED_ORGS,
        f"Connected Orgs not set properly in Headers: {message}",
    )


def _unreachable(org_ids):
    listed = ", ".join(str(i) for i in sorted(org_ids)[:5])
    return APIError(
        status.HTTP_403_FORBIDDEN,
        Codes.CONNECTED_ORGS,
        f"Connected Orgs not set properly in Headers: org {listed} is not reachable with this DATA-SCOPE",
    )


@dataclass(frozen=True)
class ScopeHeaders:
    scope: str  # SELF, OTHER or ALL
    org_ids: frozenset | None  # DATA-SCOPE-ORG(S), None when absent


def parse_headers(headers) -> ScopeHeaders:
    """Read DATA-SCOPE and DATA-SCOPE-ORG (alias DATA-SCOPE-ORGS) from request headers."""
    raw_scope = headers.get("DATA-SCOPE")
    if raw_scope is None:
        scope = "SELF"
    else:
        scope = raw_scope.strip().upper()
        if scope not in SCOPES:
            raise APIError(
                status.HTTP_400_BAD_REQUEST,
                Codes.INVALID_INPUT,
                "Invalid input: DATA-SCOPE must be SELF, OTHER or ALL",
            )
    raw_orgs = headers.get("DATA-SCOPE-ORG")
    if raw_orgs is None:
        raw_orgs = headers.get("DATA-SCOPE-ORGS")
    if raw_orgs is None or not raw_orgs.strip():
        return ScopeHeaders(scope, None)
    ids = set()
    for item in raw_orgs.split(","):
        item = item.strip()
        org_id = parse_long_id(item)
        if org_id is None:
            raise _bad_header(f"{item[:40]!r} is not an org id")
        ids.add(org_id)
    return ScopeHeaders(scope, frozenset(ids))


def children_of(org: Org) -> frozenset:
    """The org's child org ids: loaded with the caller's identity by authentication
    (customers/identity.py, read fresh on each request), else one query."""
    loaded = getattr(org, "child_ids", None)
    if loaded is not None:
        return loaded
    return frozenset(Org.objects.filter(parent_id=org.id).values_list("id", flat=True))


def readable_org_ids(*, org: Org, headers: ScopeHeaders) -> frozenset:
    """The org ids a caller of `org` may read under these headers."""
    is_child = org.parent_id is not None
    listed = headers.org_ids
    if headers.scope == "OTHER":
        if not listed:
            raise _bad_header("DATA-SCOPE OTHER needs DATA-SCOPE-ORG")
        if is_child:
            allowed = frozenset({org.id})
            if org.id not in listed:
                raise _unreachable(listed)
        else:
            allowed = children_of(org) & listed
    elif headers.scope == "ALL":
        allowed = frozenset({org.id, org.parent_id}) if is_child else children_of(org) | {org.id}
    else:
        allowed = frozenset({org.id})
    if listed and not listed <= allowed:
        raise _unreachable(listed - allowed)
    return listed if headers.scope == "OTHER" else allowed


def writable_org_id(*, org: Org, headers: ScopeHeaders) -> int:
    """The one org a write goes to: the caller's own, or with OTHER a parent's listed child.
    ALL is for reads only."""
    if headers.scope == "ALL":
        raise APIError(
            status.HTTP_400_BAD_REQUEST,
            Codes.INVALID_INPUT,
            "Invalid input: DATA-SCOPE ALL is for reads only",
        )
    if headers.scope == "OTHER":
        if not headers.org_ids:
            raise _bad_header("DATA-SCOPE OTHER needs DATA-SCOPE-ORG")
        if len(headers.org_ids) != 1:
            raise _bad_header("a write goes to exactly one org")
        if org.parent_id is not None:
            raise _unreachable(headers.org_ids)
        (target,) = headers.org_ids
        if target not in children_of(org):
            raise _unreachable(headers.org_ids)
        return target
    if headers.org_ids and headers.org_ids != {org.id}:
        raise _unreachable(headers.org_ids - {org.id})
    return org.id

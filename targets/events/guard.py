"""No SSRF through webhooks: an endpoint's URL must not reach loopback, private, link-local or
otherwise internal addresses, unless `settings.WEBHOOKS_ALLOW_PRIVATE_URLS` (on with DEBUG, for
development and the tests' local receiver; off in production settings).

Checked twice: when an endpoint is saved (every address its host resolves to), and when a
delivery connects (the address the socket actually reached), so that DNS answering differently
at delivery time (rebinding) cannot point a delivery inward. Redirects are never followed."""

import http.client
import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeURL(ValueError):
    pass


def private_allowed() -> bool:
    return getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_URLS", False)


def forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(url: str) -> None:
    """Raise UnsafeURL when `url` is not an http(s) URL this service may deliver to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL("not a valid URL") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("the URL must be http:// or https:// with a host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("the URL must not carry credentials")
    if private_allowed():
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeURL(f"the host {parts.hostname[:100]!r} does not resolve") from exc
    for info in infos:
        if forbidden(info[4][0]):
            raise UnsafeURL("the URL resolves to a loopback, private or link-local address")


class _Guarded:
    def connect(self):
        super().connect()
        if not private_allowed():
            peer = self.sock.getpeername()[0]
            if forbidden(peer):
                self.sock.close()
                raise UnsafeURL("the URL reached a loopback, private or link-local address")


class GuardedHTTPConnection(_Guarded, http.client.HTTPConnection):
    pass


class GuardedHTTPSConnection(_Guarded, http.client.HTTPSConnection):
    pass

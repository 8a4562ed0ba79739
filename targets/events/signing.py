"""The webhook signature (Stripe's scheme): `Loyalty-Signature: t=<unix time>,v1=<hex>` where
v1 = HMAC-SHA256(secret, f"{t}.{body}"). Receivers recompute it and compare (docs/events.md)."""

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Loyalty-Signature"
DELIVERY_HEADER = "Loyalty-Delivery-Id"
EVENT_HEADER = "Loyalty-Event-Id"
TYPE_HEADER = "Loyalty-Event-Type"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (the docs' example is this function)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))

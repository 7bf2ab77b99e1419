"""Webhook signatures: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`.

The raw body is hashed exactly as received; parsing and re-serialising it would not match
what Meta signed (it escapes non-ASCII characters).
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The header value Meta would send for `body` signed with `secret`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def verify(body: bytes, header: str | None, secret: str) -> bool:
    """True only for a well-formed header whose digest matches, compared in constant time."""
    if not header or not secret:
        return False
    scheme, sep, received = header.strip().partition("=")
    if not sep or scheme.lower() != "sha256" or not received:
        return False
    try:
        received_bytes = received.lower().encode("ascii")
    except UnicodeEncodeError:
        return False
    expected = sign(body, secret).removeprefix(PREFIX).encode("ascii")
    return hmac.compare_digest(expected, received_bytes)

"""Console sign-in: an API key of role supervisor or admin, kept as a signed session cookie.

The cookie never holds the key. It holds the role, the key's fingerprint and an expiry, signed
with HMAC under the key itself: removing a key from PACTA_API_KEYS signs its sessions out, and
no extra secret has to be shared between processes. Forms carry a CSRF token derived the same
way (the cookie is also SameSite=Strict).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request

from api.security import app_api_keys, key_fingerprint, match_key

COOKIE = "pacta_console"
SESSION_SECONDS = 12 * 3600  # a working day
CONSOLE_ROLES = frozenset({"supervisor", "admin"})


class SignInRequired(Exception):
    """No valid console session: the page redirects to the sign-in form."""

    def __init__(self, next_path: str = "/console") -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfError(Exception):
    """A form without the session's CSRF token (HTTP 403)."""


@dataclass(frozen=True)
class ConsoleUser:
    role: str
    key_id: str
    csrf: str

    @property
    def actor(self) -> str:
        """Who acted, as audit events record it (role and key fingerprint, never the key)."""
        return f"{self.role}:{self.key_id}"


class SignInError(ValueError):
    """The key is unknown or its role may not use the console."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: str, payload: str) -> str:
    return _b64(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest())


def _csrf(key: str, payload: str) -> str:
    return _sign(key, "csrf:" + payload)[:32]


def sign_in(keys: dict[str, str], presented: str, now: float | None = None) -> str:
    """The cookie value for a valid supervisor or admin key; SignInError otherwise."""
    presented = presented.strip()
    role = match_key(presented, keys) if presented else None
    if role is None:
        raise SignInError("unknown key")
    if role not in CONSOLE_ROLES:
        raise SignInError(f"role {role} may not use the console")
    expires = int((now or time.time()) + SESSION_SECONDS)
    payload = _b64(json.dumps({"r": role, "k": key_fingerprint(presented), "e": expires}).encode())
    return f"{payload}.{_sign(presented, payload)}"


def read_session(
    keys: dict[str, str], cookie: str | None, now: float | None = None
) -> ConsoleUser | None:
    """The user a cookie stands for, or None when it is missing, forged, expired or revoked."""
    if not cookie or "." not in cookie:
        return None
    payload, signature = cookie.rsplit(".", 1)
    try:
        claims = json.loads(_unb64(payload))
        role, key_id, expires = str(claims["r"]), str(claims["k"]), int(claims["e"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires < (now or time.time()) or role not in CONSOLE_ROLES:
        return None
    for key, key_role in keys.items():
        if key_role != role or key_fingerprint(key) != key_id:
            continue
        if hmac.compare_digest(_sign(key, payload), signature):
            return ConsoleUser(role=role, key_id=key_id, csrf=_csrf(key, payload))
    return None


def current_user(request: Request) -> ConsoleUser:
    """The signed-in console user; otherwise the page sends the browser to the sign-in form."""
    user = read_session(app_api_keys(request.app), request.cookies.get(COOKIE))
    if user is None:
        path = request.url.path
        if request.method == "GET" and request.url.query:
            path += "?" + request.url.query
        raise SignInRequired(path if request.method == "GET" else "/console")
    return user


def checked_form_user(
    user: Annotated[ConsoleUser, Depends(current_user)],
    csrf: Annotated[str, Form()] = "",
) -> ConsoleUser:
    """The signed-in user of a form post that carries the session's CSRF token."""
    if not hmac.compare_digest(csrf.encode(), user.csrf.encode()):
        raise CsrfError
    return user


User = Annotated[ConsoleUser, Depends(current_user)]
FormUser = Annotated[ConsoleUser, Depends(checked_form_user)]

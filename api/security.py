"""HTTP security: request body limits, API keys with roles, and log-safe phone numbers.

`/v1/*` routes take `Depends(require_role(...))`. Keys come from `PACTA_API_KEYS`
("key:role,key:role"). In sandbox mode with no configured key, one random development admin key
is generated, kept in `data_dir/dev-api-key` (mode 0600) and reused across restarts; only its
location is ever logged.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.config import Settings

log = logging.getLogger("pacta.security")

Role = Literal["admin", "supervisor", "qa"]
DEV_KEY_FILE = "dev-api-key"
_DEV_KEY_LOCK = threading.Lock()


# --- request body size -------------------------------------------------------------------------


class BodyTooLargeError(Exception):
    """Raised inside the app when a streamed request body passes the limit."""


class BodySizeLimit:
    """Answer 413 when Content-Length or the streamed body exceeds `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_413(send, self.max_bytes)
            return
        guard = _BodyGuard(self.max_bytes, receive, send)
        with contextlib.suppress(BodyTooLargeError):
            await self.app(scope, guard.receive, guard.send)
        if guard.exceeded and not guard.started:
            await _send_413(send, self.max_bytes)


class _BodyGuard:
    """Counts body bytes as the app reads them; once over the limit, the app's reply is dropped."""

    def __init__(self, max_bytes: int, receive: Receive, send: Send) -> None:
        self.max_bytes = max_bytes
        self._receive = receive
        self._send = send
        self.seen = 0
        self.exceeded = False
        self.started = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.max_bytes:
                self.exceeded = True
                raise BodyTooLargeError
        return message

    async def send(self, message: Message) -> None:
        if self.exceeded and not self.started:
            return  # whatever the app made of the cut body, the answer is 413
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, max_bytes: int) -> None:
    body = json.dumps(
        {"detail": f"request body too large: the limit is {max_bytes} bytes"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- API keys and roles ------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """Who called: a role and a short fingerprint of the key (never the key itself)."""

    role: Role
    key_id: str


def key_fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def dev_key_path(settings: Settings) -> Path:
    return settings.data_dir / DEV_KEY_FILE


def uses_dev_key(settings: Settings) -> bool:
    """True when the development admin key is in force (sandbox, no PACTA_API_KEYS)."""
    return settings.channel == "sandbox" and not settings.api_key_roles()


def ensure_dev_key(settings: Settings) -> str:
    """The development admin key: read from its file, or generated once (mode 0600)."""
    path = dev_key_path(settings)
    with _DEV_KEY_LOCK:
        key = _read_key(path)
        if key is None:
            key = _create_key_file(path)
            log.info("development API key (role admin) generated in %s", path)
        else:
            _tighten_mode(path)
    return key


def _read_key(path: Path) -> str | None:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return key or None


def _create_key_file(path: Path) -> str:
    """Write a fresh key atomically; if another process won the race, use its key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key + "\n")
        os.chmod(tmp, 0o600)  # whatever the umask said
        if path.exists():  # an empty file left behind: replace it
            os.replace(tmp, path)
            return key
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read_key(path) or key
        return key
    finally:
        tmp.unlink(missing_ok=True)


def _tighten_mode(path: Path) -> None:
    if path.stat().st_mode & 0o077:
        log.warning("%s was readable by others; setting its mode to 0600", path)
        os.chmod(path, 0o600)


def api_keys(settings: Settings) -> dict[str, str]:
    """{key: role}: PACTA_API_KEYS, or the development admin key in sandbox mode."""
    configured = settings.api_key_roles()
    if configured or settings.channel != "sandbox":
        return configured
    return {ensure_dev_key(settings): "admin"}


def app_api_keys(app: Any) -> dict[str, str]:
    """The app's keys, resolved once (the dev key file is read or written only once)."""
    keys: dict[str, str] | None = getattr(app.state, "api_keys", None)
    if keys is None:
        settings: Settings = app.state.settings
        keys = api_keys(settings)
        if not keys:
            log.warning("no API keys configured (PACTA_API_KEYS): every /v1 request gets 401")
        elif uses_dev_key(settings):
            log.info("sandbox: development API key (role admin) in %s", dev_key_path(settings))
        app.state.api_keys = keys
    return keys


def match_key(presented: str, keys: dict[str, str]) -> str | None:
    """The role of `presented`, comparing against every key in constant time."""
    digest = hashlib.sha256(presented.encode()).digest()
    found: str | None = None
    for key, role in keys.items():
        if hmac.compare_digest(digest, hashlib.sha256(key.encode()).digest()):
            found = role
    return found


def _unauthorized(detail: str, error: str | None = None) -> HTTPException:
    challenge = 'Bearer realm="pacta"' + (f', error="{error}"' if error else "")
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": challenge}
    )


_bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="apiKey", description="PACTA_API_KEYS key (key:role)"
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)]


def _bearer_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is not None and credentials.credentials.strip():
        return credentials.credentials.strip()
    if not request.headers.get("authorization"):
        raise _unauthorized("missing Authorization: Bearer <key>")
    raise _unauthorized("use Authorization: Bearer <key>", "invalid_request")


def require_role(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits the given roles (admin is always admitted): 401, 403 or a
    Principal."""
    allowed = frozenset(roles) | {"admin"}

    def dependency(request: Request, credentials: BearerCredentials) -> Principal:
        keys = app_api_keys(request.app)
        token = _bearer_token(request, credentials)
        role = match_key(token, keys)
        if role is None:
            raise _unauthorized("unknown API key", "invalid_token")
        if role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {role!r} may not use this route (needs {', '.join(sorted(roles))})",
            )
        return Principal(role=role, key_id=key_fingerprint(token))  # type: ignore[arg-type]

    return dependency


# --- logs --------------------------------------------------------------------------------------


def log_safe_phone(phone: str | None) -> str:
    """A phone number fit for a log line: every digit but the last four masked."""
    if not phone:
        return "-"
    digits = [ch for ch in phone if ch.isdigit()]
    shown = "".join(digits[-4:]) if len(digits) > 4 else ""
    prefix = "+" if phone.strip().startswith("+") else ""
    return prefix + "*" * (len(digits) - len(shown)) + shown


_PHONE_PARAM = re.compile(r"(?i)\b(phone=)(%2B|\+)?(\d{5,15})")
ACCESS_LOGGERS = ("uvicorn.access",)


def redact_phone_params(text: str) -> str:
    """Mask phone numbers in query strings (`?phone=%2B52...`), as request lines carry them."""
    return _PHONE_PARAM.sub(lambda m: m[1] + (m[2] or "") + log_safe_phone(m[3]), text)


class RedactPhoneQuery(logging.Filter):
    """Masks phone query parameters in access-log lines (uvicorn logs the full request path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_phone_params(a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = redact_phone_params(record.msg)
        return True


def install_access_log_redaction() -> None:
    """Add the phone-masking filter to the access loggers (once)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactPhoneQuery) for f in logger.filters):
            logger.addFilter(RedactPhoneQuery())

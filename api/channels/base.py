"""What every WhatsApp channel offers: the message, the result, the errors and their meaning.

Limits and error handling follow `shared/reference/whatsapp_api.md` (sections 5, 5.1 and 6).
A message is validated when it is built, so a bad one never reaches the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Kind = Literal["text", "buttons", "list", "template"]
RetryClass = Literal["retry", "backoff", "undeliverable", "stop", "window", "fail"]

MAX_TEXT = 4096
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_BUTTON_BODY = 1024
MAX_LIST_ROWS = 10
MAX_LIST_BUTTON = 20
MAX_ROW_ID = 200
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_TEMPLATE_NAME = 512

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_USER_ID = re.compile(r"^[A-Z]{2}\.[A-Za-z0-9]{1,128}$")  # business-scoped user id (2026)
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]+$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
_LONG_DIGITS = re.compile(r"\+?\d{7,}")

# Error codes (reference §5.1) grouped by what the sender must do.
BACKOFF_CODES = frozenset({4, 80007, 130429, 131056})
PAIR_RATE_CODES = frozenset({130429, 131056})  # at most one message per ~6 s to that user
PAIR_RATE_SECONDS = 6.0
RETRY_CODES = frozenset({1, 2, 131000, 131016, 131057})
STOP_CODES = frozenset({0, 3, 10, 190, 368, 131005, 131031, 131048})
UNDELIVERABLE_CODES = frozenset({131026})
WINDOW_CODES = frozenset({131047})


@dataclass(frozen=True)
class Button:
    id: str
    title: str


@dataclass(frozen=True)
class ListRow:
    id: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to one recipient: an E.164 phone ("+52...") or a WhatsApp user id ("MX.123")."""

    to: str
    kind: Kind = "text"
    body: str = ""
    buttons: tuple[Button, ...] = ()
    rows: tuple[ListRow, ...] = ()
    list_button: str = "Ver opciones"
    template_name: str = ""
    template_language: str = "es_MX"
    template_parameters: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_recipient(self.to)
        {
            "text": _check_text,
            "buttons": _check_buttons,
            "list": _check_list,
            "template": _check_template,
        }.get(self.kind, _unknown_kind)(self)

    @property
    def is_template(self) -> bool:
        return self.kind == "template"


@dataclass(frozen=True)
class SendResult:
    wamid: str


class ChannelError(Exception):
    """A send that did not go through, with what to do about it (`retry`)."""

    def __init__(
        self,
        code: int | None,
        title: str,
        retry: RetryClass,
        retry_after: float | None = None,
        *,
        details: str = "",
        http_status: int | None = None,
    ) -> None:
        self.code = code
        self.title = title
        self.retry: RetryClass = retry
        self.retry_after = retry_after
        self.details = details
        self.http_status = http_status
        super().__init__(f"({code}) {title}" if code is not None else title)


@runtime_checkable
class Channel(Protocol):
    def send(self, message: OutgoingMessage) -> SendResult: ...

    def mark_read(self, wamid: str) -> None: ...

    def close(self) -> None: ...


def classify(code: int | None, http_status: int | None) -> RetryClass:
    """What to do after an error: by Meta's code first, by HTTP status when there is none."""
    if code is not None:
        by_code = _classify_code(code)
        if by_code is not None:
            return by_code
    if http_status is None or http_status >= 500:
        return "retry"  # transport error or server error
    if http_status == 429:
        return "backoff"
    if http_status in (401, 403):
        return "stop"
    return "fail"


def _classify_code(code: int) -> RetryClass | None:
    if code in BACKOFF_CODES:
        return "backoff"
    if code in UNDELIVERABLE_CODES:
        return "undeliverable"
    if code in WINDOW_CODES:
        return "window"
    if code in STOP_CODES or 200 <= code <= 299:
        return "stop"
    if code in RETRY_CODES:
        return "retry"
    return None


def error_for(
    code: int | None, title: str, http_status: int | None = None, details: str = ""
) -> ChannelError:
    """The ChannelError for an API or transport failure, classified."""
    retry = classify(code, http_status)
    retry_after = PAIR_RATE_SECONDS if code in PAIR_RATE_CODES else None
    return ChannelError(
        code, redact(title), retry, retry_after, details=redact(details), http_status=http_status
    )


def mask_recipient(recipient: str) -> str:
    """For logs: all but the last four characters hidden."""
    return "*" * max(0, len(recipient) - 4) + recipient[-4:]


def redact(text: str, limit: int = 500) -> str:
    """Error text fit for logs and the database: long digit runs (phone numbers) masked."""
    return _LONG_DIGITS.sub(lambda m: mask_recipient(m.group(0)), text)[:limit]


def _check_recipient(to: str) -> None:
    if not (_E164.match(to) or _USER_ID.match(to)):
        raise ValueError("recipient must be an E.164 phone (+ and country code) or a user id")


def _check_length(what: str, value: str, limit: int, *, allow_empty: bool = False) -> None:
    if not value.strip() and not allow_empty:
        raise ValueError(f"{what} is empty")
    if len(value) > limit:
        raise ValueError(f"{what} is {len(value)} characters long, at most {limit} allowed")


def _check_text(m: OutgoingMessage) -> None:
    _check_length("text body", m.body, MAX_TEXT)
    _no_extras(m, buttons=True, rows=True)


def _check_buttons(m: OutgoingMessage) -> None:
    _check_length("button message body", m.body, MAX_BUTTON_BODY)
    if not 1 <= len(m.buttons) <= MAX_BUTTONS:
        raise ValueError(f"{len(m.buttons)} reply buttons: 1 to {MAX_BUTTONS} allowed")
    for i, b in enumerate(m.buttons, 1):
        _check_length(f"button {i} title", b.title, MAX_BUTTON_TITLE)
        _check_length(f"button {i} id", b.id, MAX_BUTTON_ID)
    if len({b.title for b in m.buttons}) != len(m.buttons):
        raise ValueError("reply button titles must be unique")
    if len({b.id for b in m.buttons}) != len(m.buttons):
        raise ValueError("reply button ids must be unique")
    _no_extras(m, rows=True)


def _check_list(m: OutgoingMessage) -> None:
    _check_length("list message body", m.body, MAX_TEXT)
    _check_length("list button label", m.list_button, MAX_LIST_BUTTON)
    if not 1 <= len(m.rows) <= MAX_LIST_ROWS:
        raise ValueError(f"{len(m.rows)} list rows: 1 to {MAX_LIST_ROWS} allowed")
    for i, r in enumerate(m.rows, 1):
        _check_length(f"list row {i} id", r.id, MAX_ROW_ID)
        _check_length(f"list row {i} title", r.title, MAX_ROW_TITLE)
        _check_length(
            f"list row {i} description", r.description, MAX_ROW_DESCRIPTION, allow_empty=True
        )
    if len({r.id for r in m.rows}) != len(m.rows):
        raise ValueError("list row ids must be unique")
    _no_extras(m, buttons=True)


def _check_template(m: OutgoingMessage) -> None:
    name = m.template_name
    if not name or len(name) > MAX_TEMPLATE_NAME or not _TEMPLATE_NAME.match(name):
        raise ValueError("template name must be 1-512 lowercase letters, digits or underscores")
    if not _LANGUAGE.match(m.template_language):
        raise ValueError("template language must be a code such as es or es_MX")
    for i, p in enumerate(m.template_parameters, 1):
        _check_length(f"template parameter {i}", p, MAX_BUTTON_BODY)
    _no_extras(m, buttons=True, rows=True)


def _no_extras(m: OutgoingMessage, *, buttons: bool = False, rows: bool = False) -> None:
    if buttons and m.buttons:
        raise ValueError(f"a {m.kind} message cannot carry reply buttons")
    if rows and m.rows:
        raise ValueError(f"a {m.kind} message cannot carry list rows")


def _unknown_kind(m: OutgoingMessage) -> None:
    raise ValueError(f"unknown message kind {m.kind!r}: text, buttons, list or template")

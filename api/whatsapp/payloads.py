"""WhatsApp Cloud API webhook payloads, read leniently.

Meta batches several entries, changes, messages and statuses into one POST, adds fields
without notice, and since 2026 may leave out the sender's phone (`from`, `wa_id`) and send a
business-scoped user id (`user_id`) instead. The models below accept unknown fields and unknown
message types; an element that cannot be read is skipped with one clear reason and never sinks
its siblings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

WEBHOOK_OBJECT = "whatsapp_business_account"
MESSAGES_FIELD = "messages"
MEDIA_KINDS = frozenset(
    {"image", "audio", "video", "document", "sticker", "location", "contacts", "unsupported"}
)


class WebhookFormatError(ValueError):
    """The body is not a WhatsApp Business Account webhook at all."""


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class WireProfile(_Lenient):
    name: str | None = None


class WireContact(_Lenient):
    wa_id: str | None = None
    user_id: str | None = None
    profile: WireProfile | None = None


class WireText(_Lenient):
    body: str


class WireButton(_Lenient):
    """A tap on a template quick-reply button."""

    payload: str | None = None
    text: str | None = None


class WireReply(_Lenient):
    id: str | None = None
    title: str | None = None
    description: str | None = None


class WireInteractive(_Lenient):
    type: str | None = None
    button_reply: WireReply | None = None
    list_reply: WireReply | None = None


class WireReaction(_Lenient):
    message_id: str | None = None
    emoji: str | None = None


class WireMessage(_Lenient):
    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    from_: str | None = Field(default=None, alias="from")
    from_user_id: str | None = None
    timestamp: datetime | None = None
    text: WireText | None = None
    button: WireButton | None = None
    interactive: WireInteractive | None = None
    reaction: WireReaction | None = None
    context: dict[str, Any] | None = None

    @field_validator("timestamp", mode="before")
    @classmethod
    def _read_time(cls, value: Any) -> datetime | None:
        return _unix_time(value)


class WireStatusError(_Lenient):
    code: int | None = None
    title: str | None = None


class WireStatus(_Lenient):
    id: str = Field(min_length=1)
    status: str = Field(min_length=1)
    timestamp: datetime | None = None
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    errors: list[WireStatusError] = Field(default_factory=list)

    @field_validator("timestamp", mode="before")
    @classmethod
    def _read_time(cls, value: Any) -> datetime | None:
        return _unix_time(value)


class InboundEvent(BaseModel):
    """One message a debtor (or anyone) sent to the business."""

    wamid: str
    phone: str | None  # WhatsApp id as sent (digits, no "+"); missing for username users
    user_id: str | None  # business-scoped user id (BSUID), 2026 onwards
    profile_name: str | None
    timestamp: datetime | None  # aware UTC; None when Meta's value was missing or unreadable
    kind: str  # text | button | interactive | reaction | image | ... | unsupported | <other>
    text: str | None  # text body, button label, or the chosen reply's title
    button_id: str | None  # interactive reply id, or a template quick-reply payload
    context_wamid: str | None = None  # the business message this one replies to
    raw: dict[str, Any]

    @property
    def attachment(self) -> dict[str, Any] | None:
        """The type-specific object of a media, location, contacts or unknown-type message."""
        part = self.raw.get(self.kind)
        return part if isinstance(part, dict | list) else None  # type: ignore[return-value]


class StatusEvent(BaseModel):
    """A delivery status of one of the business's own outbound messages."""

    wamid: str
    status: str  # sent | delivered | read | failed | played | <other>
    timestamp: datetime | None
    recipient: str | None  # phone digits, or the BSUID when the phone is withheld
    error_code: int | None = None
    error_title: str | None = None
    raw: dict[str, Any]


class MetaError(BaseModel):
    """A value-level error Meta reports beside messages: logged and acknowledged."""

    code: int | None
    title: str


class WebhookBatch(BaseModel):
    messages: list[InboundEvent] = Field(default_factory=list)
    statuses: list[StatusEvent] = Field(default_factory=list)
    meta_errors: list[MetaError] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)  # one reason per skipped element


def parse_webhook(data: Any) -> WebhookBatch:
    """Every message and status of a webhook body (already JSON-decoded)."""
    if not isinstance(data, dict):
        raise WebhookFormatError(f"expected a JSON object, got {_json_type(data)}")
    if data.get("object") != WEBHOOK_OBJECT:
        raise WebhookFormatError(f'"object" must be "{WEBHOOK_OBJECT}", got {data.get("object")!r}')
    batch = WebhookBatch()
    for e, entry in _items(data, "entry", "", batch):
        for c, change in _items(entry, "changes", f"entry[{e}]", batch):
            where = f"entry[{e}].changes[{c}]"
            if change.get("field", MESSAGES_FIELD) != MESSAGES_FIELD:
                continue  # other subscriptions (account updates, templates...) are not ours
            value = change.get("value")
            if not isinstance(value, dict):
                batch.errors.append(f"{where}.value: expected an object")
                continue
            _read_value(value, f"{where}.value", batch)
    return batch


def _read_value(value: dict[str, Any], where: str, batch: WebhookBatch) -> None:
    contacts = [c for _, c in _items(value, "contacts", where, batch, optional=True)]
    readable = [_contact(c) for c in contacts]
    for i, raw in _items(value, "messages", where, batch, optional=True):
        _append(batch, f"{where}.messages[{i}]", lambda r=raw: _inbound(r, readable))
    for i, raw in _items(value, "statuses", where, batch, optional=True):
        _append(batch, f"{where}.statuses[{i}]", lambda r=raw: _status(r))
    for _, raw in _items(value, "errors", where, batch, optional=True):
        code = raw.get("code")
        title = str(raw.get("title") or raw.get("message") or "unknown error")
        batch.meta_errors.append(
            MetaError(code=code if isinstance(code, int) else None, title=title)
        )


def _append(
    batch: WebhookBatch, where: str, read: Callable[[], InboundEvent | StatusEvent]
) -> None:
    try:
        event = read()
    except ValidationError as e:
        batch.errors.append(f"{where}: {_reasons(e)}")
        return
    except ValueError as e:
        batch.errors.append(f"{where}: {e}")
        return
    if isinstance(event, InboundEvent):
        batch.messages.append(event)
    else:
        batch.statuses.append(event)


def _inbound(raw: dict[str, Any], contacts: list[WireContact | None]) -> InboundEvent:
    wire = WireMessage.model_validate(raw)
    contact = _sender_contact(wire, contacts)
    phone = wire.from_ or (contact.wa_id if contact else None)
    user_id = wire.from_user_id or (contact.user_id if contact else None)
    if not phone and not user_id:
        raise ValueError("no sender: neither from, from_user_id nor a matching contact")
    if wire.type == "text" and wire.text is None:
        raise ValueError('a "text" message without text.body')
    text, button_id = _text_and_button(wire)
    return InboundEvent(
        wamid=wire.id,
        phone=phone,
        user_id=user_id,
        profile_name=contact.profile.name if contact and contact.profile else None,
        timestamp=wire.timestamp,
        kind=wire.type,
        text=text,
        button_id=button_id,
        context_wamid=_context_id(wire.context),
        raw=raw,
    )


def _text_and_button(wire: WireMessage) -> tuple[str | None, str | None]:
    if wire.type == "text" and wire.text is not None:
        return wire.text.body, None
    if wire.type == "button" and wire.button is not None:
        return wire.button.text, wire.button.payload
    if wire.type == "interactive" and wire.interactive is not None:
        reply = wire.interactive.button_reply or wire.interactive.list_reply
        return (reply.title, reply.id) if reply else (None, None)
    if wire.type == "reaction" and wire.reaction is not None:
        return wire.reaction.emoji or None, None
    return None, None  # media captions stay in `raw`: only typed text is read as text


def _status(raw: dict[str, Any]) -> StatusEvent:
    wire = WireStatus.model_validate(raw)
    first_error = wire.errors[0] if wire.errors else None
    return StatusEvent(
        wamid=wire.id,
        status=wire.status,
        timestamp=wire.timestamp,
        recipient=wire.recipient_id or wire.recipient_user_id,
        error_code=first_error.code if first_error else None,
        error_title=first_error.title if first_error else None,
        raw=raw,
    )


def _sender_contact(wire: WireMessage, contacts: list[WireContact | None]) -> WireContact | None:
    """The contact describing this message's sender; a lone contact that fits is taken."""
    known = [c for c in contacts if c is not None]
    for contact in known:
        if (wire.from_ and contact.wa_id == wire.from_) or (
            wire.from_user_id and contact.user_id == wire.from_user_id
        ):
            return contact
    if len(known) == 1:
        lone = known[0]
        fits_phone = not (wire.from_ and lone.wa_id)
        fits_user = not (wire.from_user_id and lone.user_id)
        if fits_phone and fits_user:
            return lone
    return None


def _contact(raw: dict[str, Any]) -> WireContact | None:
    try:
        return WireContact.model_validate(raw)
    except ValidationError:
        return None  # a contact only adds detail; the message itself is still read


def _context_id(context: dict[str, Any] | None) -> str | None:
    quoted = (context or {}).get("id")
    return quoted if isinstance(quoted, str) else None


def _items(
    parent: dict[str, Any], key: str, where: str, batch: WebhookBatch, *, optional: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, element) for each object under parent[key]; anything else is reported."""
    path = f"{where}.{key}" if where else key
    value = parent.get(key)
    if value is None and optional:
        return
    if not isinstance(value, list):
        batch.errors.append(f"{path}: expected a list, got {_json_type(value)}")
        return
    for i, item in enumerate(value):
        if isinstance(item, dict):
            yield i, item
        else:
            batch.errors.append(f"{path}[{i}]: expected an object, got {_json_type(item)}")


def _unix_time(value: Any) -> datetime | None:
    """Meta's timestamps are Unix seconds as strings; anything unreadable becomes None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        seconds = int(str(value).strip())
        return datetime.fromtimestamp(seconds, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _reasons(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in x['loc']) or 'element'}: {x['msg']}" for x in error.errors()
    )


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)

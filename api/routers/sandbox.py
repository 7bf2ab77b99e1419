"""The WhatsApp sandbox: see what was sent to a phone, and write to Pacta as that phone.

Mounted only when the sandbox channel is active (no WhatsApp token). Inbound messages are built
as real Meta webhook payloads and go through the same ingestion path as Meta's own POSTs.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from agent.config import Settings
from agent.drafting import address_name
from agent.store.models import Account, Conversation, Debtor, Direction, Message
from api.app import get_app_settings, get_engine
from api.security import (
    log_safe_phone,
    require_role,
)

log = logging.getLogger("pacta.sandbox")

E164 = r"^\+[1-9]\d{6,14}$"
MAX_TEXT_CHARS = 4096
SANDBOX_PHONE_NUMBER_ID = "sandbox"
SANDBOX_DISPLAY_NUMBER = "15550000000"
# Outbound messages that reached the (simulated) phone; queued or failed ones did not.
DELIVERED_STATUSES = frozenset({"sent", "delivered", "read", "played"})


router = APIRouter(
    prefix="/v1/sandbox",
    tags=["sandbox"],
    dependencies=[Depends(require_role("admin", "qa", "supervisor"))],
)

SettingsDep = Annotated[Settings, Depends(get_app_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
PhoneQuery = Annotated[str, Query(pattern=E164, description="The debtor's phone, E.164")]


class Button(BaseModel):
    id: str
    title: str


class SandboxMessage(BaseModel):
    id: int
    direction: str
    kind: str
    body: str
    buttons: list[Button]
    status: str
    created_at: datetime
    action: str | None


class InboundRequest(BaseModel):
    """What the debtor does on the phone: type a text, or tap a reply button."""

    phone: str = Field(pattern=E164, examples=["+525512345678"])
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT_CHARS)
    button_id: str | None = Field(default=None, min_length=1, max_length=256)

    @model_validator(mode="after")
    def _exactly_one(self) -> InboundRequest:
        if (self.text is None) == (self.button_id is None):
            raise ValueError("give exactly one of text or button_id")
        if self.text is not None and not self.text.strip():
            raise ValueError("text must not be blank")
        return self


class InboundAccepted(BaseModel):
    wamid: str


class SandboxAccount(BaseModel):
    reference: str
    first_name: str
    phone_masked: str
    phone: str
    creditor: str
    currency: str
    balance: Decimal


# --- reads -------------------------------------------------------------------------------------


def _phone_variants(phone: str) -> list[str]:
    """E.164 spellings of one number: Mexico's mobiles may still carry the old "1" after +52."""
    variants = [phone]
    if phone.startswith("+521") and len(phone) == 14:
        variants.append("+52" + phone[4:])
    return variants


def find_debtor(session: Session, phone: str) -> Debtor:
    query = select(Debtor).where(col(Debtor.phone).in_(_phone_variants(phone)))
    debtor = session.exec(query).first()
    if debtor is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no debtor has this phone number")
    return debtor


def _visible(message: Message) -> bool:
    return message.direction == Direction.inbound or message.status in DELIVERED_STATUSES


def _as_sandbox_message(message: Message) -> SandboxMessage:
    raw_buttons = (message.payload or {}).get("buttons") or []
    return SandboxMessage(
        id=message.id or 0,
        direction=str(message.direction),
        kind=message.kind,
        body=message.body,
        buttons=[Button(id=str(b["id"]), title=str(b["title"])) for b in raw_buttons],
        status=message.status,
        created_at=message.created_at,
        action=message.action,
    )


def debtor_messages(session: Session, debtor: Debtor) -> list[Message]:
    """Every message of the debtor's conversations (any account), oldest first."""
    query = (
        select(Message)
        .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
        .join(Account, col(Account.id) == col(Conversation.account_id))
        .where(Account.debtor_id == debtor.id)
        .order_by(col(Message.created_at), col(Message.id))
    )
    return list(session.exec(query).all())


@router.get("/messages", response_model=list[SandboxMessage])
def list_messages(phone: PhoneQuery, engine: EngineDep) -> list[SandboxMessage]:
    """The debtor's chat as the phone shows it: inbound messages and outbound ones that were
    sent, oldest first, newest last, with any reply buttons."""
    with Session(engine) as session:
        debtor = find_debtor(session, phone)
        return [_as_sandbox_message(m) for m in debtor_messages(session, debtor) if _visible(m)]


@router.get("/accounts", response_model=list[SandboxAccount])
def list_accounts(engine: EngineDep) -> list[SandboxAccount]:
    """Every imported account, for the simulator's picker."""
    with Session(engine) as session:
        rows = session.exec(
            select(Account, Debtor)
            .join(Debtor, col(Debtor.id) == col(Account.debtor_id))
            .order_by(col(Account.reference))
        ).all()
        return [_as_sandbox_account(account, debtor) for account, debtor in rows]


def _as_sandbox_account(account: Account, debtor: Debtor) -> SandboxAccount:
    return SandboxAccount(
        reference=account.reference,
        first_name=address_name(debtor.name, account.segment),
        phone_masked=log_safe_phone(debtor.phone),
        phone=debtor.phone,
        creditor=account.creditor,
        currency=account.currency,
        balance=account.balance,
    )


# --- inbound -----------------------------------------------------------------------------------


def new_wamid() -> str:
    """A fresh message id shaped like Meta's: "wamid." and base64 text."""
    return "wamid." + base64.b64encode(b"SANDBOX" + secrets.token_bytes(21)).decode()


def text_message(sender: str, wamid: str, when: datetime, text: str) -> dict[str, Any]:
    """A §2.2 inbound text message object."""
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(int(when.timestamp())),
        "type": "text",
        "text": {"body": text},
    }


def button_message(
    sender: str, wamid: str, when: datetime, button: Button, context_wamid: str | None
) -> dict[str, Any]:
    """A §2.3 interactive button_reply message object (quoting the offering message if known)."""
    message: dict[str, Any] = {
        "from": sender,
        "id": wamid,
        "timestamp": str(int(when.timestamp())),
        "type": "interactive",
        "interactive": {
            "type": "button_reply",
            "button_reply": {"id": button.id, "title": button.title},
        },
    }
    if context_wamid:
        message["context"] = {"from": SANDBOX_DISPLAY_NUMBER, "id": context_wamid}
    return message


def webhook_payload(sender: str, profile_name: str, message: dict[str, Any]) -> dict[str, Any]:
    """The Meta webhook envelope around one inbound message."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": SANDBOX_DISPLAY_NUMBER,
            "phone_number_id": SANDBOX_PHONE_NUMBER_ID,
        },
        "contacts": [{"profile": {"name": profile_name}, "wa_id": sender}],
        "messages": [message],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "sandbox", "changes": [{"field": "messages", "value": value}]}],
    }


def offered_button(session: Session, debtor: Debtor, button_id: str) -> tuple[Button, str | None]:
    """The button with this id on the newest outbound message offering it, and that message's
    wamid; a button never offered is still sent, titled with its id."""
    for message in reversed(debtor_messages(session, debtor)):
        if message.direction != Direction.outbound:
            continue
        for raw in (message.payload or {}).get("buttons") or []:
            if str(raw.get("id")) == button_id:
                return Button(id=button_id, title=str(raw.get("title", button_id))), message.wamid
    return Button(id=button_id, title=button_id), None


def build_inbound(session: Session, request: InboundRequest, wamid: str, when: datetime) -> bytes:
    debtor = find_debtor(session, request.phone)
    sender = debtor.phone.lstrip("+")
    if request.text is not None:
        message = text_message(sender, wamid, when, request.text)
    else:
        button, context = offered_button(session, debtor, request.button_id or "")
        message = button_message(sender, wamid, when, button, context)
    payload = webhook_payload(sender, debtor.name, message)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _signature(raw: bytes, settings: Settings) -> str | None:
    if settings.whatsapp_app_secret is None:
        return None
    from api.whatsapp.signature import sign

    return sign(raw, settings.whatsapp_app_secret.get_secret_value())


@router.post("/inbound", status_code=status.HTTP_202_ACCEPTED, response_model=InboundAccepted)
def post_inbound(body: InboundRequest, settings: SettingsDep, engine: EngineDep) -> InboundAccepted:
    """Write to Pacta as the debtor: a real Meta-format webhook through the real ingestion."""
    from api.routers.webhook import WebhookError, ingest_webhook

    now = datetime.now(UTC)
    wamid = new_wamid()
    with Session(engine) as session:
        raw = build_inbound(session, body, wamid, now)
    try:
        ingest_webhook(raw, _signature(raw, settings), settings, engine, now=now)
    except WebhookError as e:
        reason = getattr(e, "reason", str(e))
        log.error("sandbox inbound rejected by the webhook path: %s", reason)
        raise HTTPException(e.status_code, detail=reason) from e
    kind = "text" if body.text is not None else "button"
    log.info("sandbox inbound %s from %s", kind, log_safe_phone(body.phone))
    return InboundAccepted(wamid=wamid)

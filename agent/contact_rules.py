"""The bridge from stored debtors and messages to the policy packs' contact rules.

`policies.contact.can_contact` is pure; this module builds its inputs from the database:
who the debtor is (jurisdiction, time zone, opt-in and opt-out, open dispute or wrong party)
and which business-initiated messages they already received.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from agent.store.models import Account, ContactStop, Conversation, Debtor, Message, Stage
from agent.store.repository import Context
from policies.contact import STOP_FLAGS, ContactRecord, ContactSubject

# Caps look back at most a week (rolling 7 days, calendar week); a day more for time zones.
HISTORY_WINDOW = timedelta(days=8)
SENT_STATUSES = ("sent", "delivered", "read")


def contact_subject(ctx: Context, stops: Collection[str] = ()) -> ContactSubject:
    """The debtor as the contact rules see them; `stops` are the debtor's recorded stop
    conditions (see `active_stops`)."""
    opted_in = ctx.debtor.whatsapp_opt_in_at is not None
    flags = {STOP_FLAGS[s][0]: True for s in stops if s in STOP_FLAGS}
    flags["dispute_open"] = flags.get("dispute_open", False) or ctx.conversation.stage == (
        Stage.disputed
    )
    return ContactSubject(
        country=ctx.account.jurisdiction,
        timezone=ctx.account.timezone or None,
        whatsapp_opt_in=opted_in,
        authorized_channels=frozenset({"whatsapp"}) if opted_in else None,
        opted_out=ctx.debtor.opted_out_at is not None,
        is_third_party=ctx.conversation.stage == Stage.wrong_party,
        **flags,
    )


def active_stops(session: Session, ctx: Context) -> set[str]:
    """Stop conditions recorded for the debtor, or for this account, and not lifted (a lawyer,
    a lawsuit...): checked again when a message is sent, not only when it was planned."""
    rows = session.exec(
        select(ContactStop.reason)
        .where(ContactStop.debtor_id == ctx.debtor.id)
        .where(col(ContactStop.lifted_at).is_(None))
        .where(
            col(ContactStop.account_id).is_(None) | (col(ContactStop.account_id) == ctx.account.id)
        )
    ).all()
    return set(rows)


def contact_history(session: Session, debtor: Debtor, now: datetime) -> list[ContactRecord]:
    """The templates (business-initiated messages) sent to this debtor in the last days."""
    query = (
        select(Message.created_at, Message.sent_at)
        .join(Conversation, col(Conversation.id) == Message.conversation_id)
        .join(Account, col(Account.id) == Conversation.account_id)
        .where(Account.debtor_id == debtor.id)
        .where(Message.direction == "outbound", Message.kind == "template")
        .where(col(Message.status).in_(SENT_STATUSES))
        .where(col(Message.created_at) >= now - HISTORY_WINDOW)
    )
    return [
        ContactRecord(at=(sent_at or created_at).astimezone(UTC), channel="whatsapp")
        for created_at, sent_at in session.exec(query)
    ]

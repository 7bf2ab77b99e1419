"""The bridge from stored debtors and messages to the policy packs' contact rules.

`policies.contact.can_contact` is pure; this module builds its inputs from the database:
who the debtor is (jurisdiction, time zone, opt-in and opt-out, open dispute or wrong party)
and which business-initiated messages they already received.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from agent.store.models import Account, Conversation, Debtor, Message, Stage
from agent.store.repository import Context
from policies.contact import ContactRecord, ContactSubject

# Caps look back at most a week (rolling 7 days, calendar week); a day more for time zones.
HISTORY_WINDOW = timedelta(days=8)
SENT_STATUSES = ("sent", "delivered", "read")


def contact_subject(ctx: Context) -> ContactSubject:
    """The debtor as the contact rules see them."""
    opted_in = ctx.debtor.whatsapp_opt_in_at is not None
    return ContactSubject(
        country=ctx.account.jurisdiction,
        timezone=ctx.account.timezone or None,
        whatsapp_opt_in=opted_in,
        authorized_channels=frozenset({"whatsapp"}) if opted_in else None,
        opted_out=ctx.debtor.opted_out_at is not None,
        dispute_open=ctx.conversation.stage == Stage.disputed,
        is_third_party=ctx.conversation.stage == Stage.wrong_party,
    )


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

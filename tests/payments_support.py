"""Helpers shared by the payment tests: an active agreement made through the repository."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import select

from agent.payments import PaymentRequest
from agent.store.db import session_scope
from agent.store.models import Account, Debtor, Message, Stage
from agent.store.repository import create_agreement, open_conversation
from policies.plans import Frequency, PaymentPlan, PlanKind, ScheduledPayment

# AUR-MX-0001 owes 4,800 MXN: three monthly installments of 1,600, from Thursday 12 March 2026.
FIRST_DUE = date(2026, 3, 12)
DUES = (date(2026, 3, 12), date(2026, 4, 12), date(2026, 5, 12))
AMOUNTS = ("1600", "1600", "1600")


def make_agreement(
    engine: Engine,
    account_id: int,
    now: datetime,
    *,
    amounts: tuple[str, ...] = AMOUNTS,
    dues: tuple[date, ...] = DUES,
    discount: str = "0",
    opt_in: bool = True,
    last_inbound_at: datetime | None = None,
    stage: Stage = Stage.agreement_active,
) -> tuple[int, int]:
    """An active agreement on the account's conversation: (agreement id, conversation id)."""
    schedule = [
        ScheduledPayment(number=n, due_date=d, amount=Decimal(a))
        for n, (d, a) in enumerate(zip(dues, amounts, strict=True), start=1)
    ]
    total = sum((s.amount for s in schedule), Decimal(0))
    plan = PaymentPlan(
        kind=PlanKind.installments if len(schedule) > 1 else PlanKind.pay_in_full,
        frequency=Frequency.monthly if len(schedule) > 1 else Frequency.once,
        balance=total + Decimal(discount),
        total=total,
        discount_amount=Decimal(discount),
        discount_pct=Decimal("10") if Decimal(discount) else Decimal(0),
        schedule=schedule,
        valid_until=dues[0],
        rule_ids=["mandate.default_count"],
    )
    with session_scope(engine) as session:
        account = session.get(Account, account_id)
        assert account is not None
        debtor = session.get(Debtor, account.debtor_id)
        assert debtor is not None
        debtor.whatsapp_opt_in_at = now if opt_in else None
        session.add(debtor)
        conversation = open_conversation(session, account_id, now)
        conversation.identity_verified = True
        conversation.stage = stage
        conversation.last_inbound_at = last_inbound_at
        session.add(conversation)
        agreement = create_agreement(session, conversation, plan, account.currency, now)
        return agreement.id or 0, conversation.id or 0


def pay(account: str | int, amount: str, paid_at: datetime, reference: str) -> PaymentRequest:
    return PaymentRequest(
        account_id=account, amount=Decimal(amount), paid_at=paid_at, reference=reference
    )


def outbound(engine: Engine, conversation_id: int) -> list[Message]:
    with session_scope(engine) as session:
        return list(
            session.exec(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .where(Message.direction == "outbound")
                .order_by(Message.id)  # type: ignore[arg-type]
            )
        )

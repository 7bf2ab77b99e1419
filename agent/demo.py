"""Three scripted conversations played through the real graph (`pacta demo`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from agent.portfolio import seed_demo
from agent.runtime import Negotiator, TurnResult
from agent.store.db import session_scope
from agent.store.models import Account, Agreement, Conversation, Installment


@dataclass(frozen=True)
class DemoScript:
    title: str
    account_reference: str
    turns: list[str]
    expected_stage: str


SCRIPTS = [
    DemoScript(
        "Dificultad económica: plan en cuotas aceptado",
        "AUR-MX-0001",
        [
            "Hola, buenas tardes",
            "4821",
            "Perdí mi trabajo y este mes no puedo pagar todo, la verdad estoy muy preocupada",
            "puedo pagar 1000 al mes",
            "sí, confirmo",
        ],
        "agreement_active",
    ),
    DemoScript(
        "Disputa del monto: pasa a una persona",
        "AUR-CO-0002",
        [
            "hola, quién habla?",
            "7310",
            "ese monto está mal, yo no debo eso, me cobran intereses que nunca me explicaron",
        ],
        "disputed",
    ),
    DemoScript(
        "Pago único con descuento sobre el límite: pendiente de aprobación",
        "AUR-PE-0003",
        ["Buenos días", "1596", "quiero pagar todo de una vez", "sí, de acuerdo"],
        "agreement_pending_approval",
    ),
]


@dataclass
class DemoOutcome:
    script: DemoScript
    conversation_id: int
    turns: list[tuple[str, TurnResult]] = field(default_factory=list)
    agreement: Agreement | None = None
    installments: list[Installment] = field(default_factory=list)

    @property
    def stage(self) -> str:
        return self.turns[-1][1].stage if self.turns else ""


def play(
    negotiator: Negotiator,
    now: datetime | None = None,
    on_turn: Callable[[DemoScript, str, TurnResult], None] | None = None,
) -> list[DemoOutcome]:
    """Seed the demo portfolio and play every script in a new conversation."""
    start = now or datetime.now(UTC)
    with session_scope(negotiator.engine) as session:
        seed_demo(session, start.date())
    outcomes = []
    for script in SCRIPTS:
        outcome = _play_one(negotiator, script, start, on_turn)
        outcomes.append(outcome)
    return outcomes


def _play_one(
    negotiator: Negotiator,
    script: DemoScript,
    start: datetime,
    on_turn: Callable[[DemoScript, str, TurnResult], None] | None,
) -> DemoOutcome:
    with session_scope(negotiator.engine) as session:
        account = session.exec(
            select(Account).where(Account.reference == script.account_reference)
        ).one()
        conversation = Conversation(account_id=account.id or 0, created_at=start, updated_at=start)
        session.add(conversation)
        session.flush()
        conversation_id = conversation.id or 0
    outcome = DemoOutcome(script, conversation_id)
    for i, text in enumerate(script.turns):
        result = negotiator.receive(conversation_id, text, now=start + timedelta(minutes=2 * i))
        outcome.turns.append((text, result))
        if on_turn:
            on_turn(script, text, result)
    with session_scope(negotiator.engine) as session:
        outcome.agreement = session.exec(
            select(Agreement).where(Agreement.conversation_id == conversation_id)
        ).first()
        if outcome.agreement is not None:
            outcome.installments = list(
                session.exec(
                    select(Installment)
                    .where(Installment.agreement_id == outcome.agreement.id)
                    .order_by(Installment.number)  # type: ignore[arg-type]
                )
            )
    return outcome

"""The cadence scheduler: runs the planner and hands its messages to the outbox.

Each run plans `now` (see `agent.cadence.planner`) and, chunk by chunk, in one transaction per
chunk, for every message to send or hold:

- renders the step's template for the account and guards it (a failing one is never queued);
- opens (or reuses) the account's conversation and marks it the debtor's most recent one, so
  the debtor's answer lands in the conversation the template started and the agent takes over;
- queues an outbound Message for the dispatcher: a template, or free text when WhatsApp's
  24-hour window will be open at send time; due at `send_at`, which spreads the messages at
  `rate_per_second` (a share of the number's 80 messages/s, leaving room for the agent's
  replies), keeps one debtor's messages at least PAIR_SECONDS apart (Meta's pair rate), and
  for a held message is the contact rules' next allowed moment;
- writes a CadenceSend, unique on (account, step, due date): a restart, a crash in the middle
  of a run or a second scheduler never queues a step twice;
- audits it (`cadence.queued` / `cadence.held`, with the rule ids).

Installment steps are the payments sweep's (`agent.payments.sweep`): the scheduler runs it on
the same tick, after checking that the cadence describes what the mandate configures.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, tuple_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from agent.cadence.messages import StepGuardError, render_step
from agent.cadence.planner import PlanItem, Planner, PlanStats
from agent.cadence.templates import WhatsAppTemplate, load_templates
from agent.store.db import session_scope
from agent.store.models import CadenceSend, Direction, Message
from agent.store.repository import audit, open_conversation
from policies.cadence import Cadence, CadenceError
from policies.mandate import Mandate

log = logging.getLogger("pacta.cadence")

PAIR_SECONDS = 6.0  # Meta's pair rate: one message per 6 s to the same user
DEFAULT_RATE = 40.0  # half the number's default 80 messages/s: the agent's replies keep the rest
CHUNK = 500


def check_installment_steps(cadence: Cadence, mandate: Mandate) -> list[str]:
    """Where the cadence's installment steps disagree with what the payments sweep does."""
    problems: list[str] = []
    reminder = cadence.installment_step("installment_due")
    if reminder is not None and reminder.offset_days != -mandate.reminder_days_before:
        problems.append(
            f"step {reminder.id}: offset {reminder.offset_days}d, but the mandate reminds "
            f"{mandate.reminder_days_before} day(s) before each installment"
        )
    missed = cadence.installment_step("installment_missed")
    if missed is not None and missed.offset_days != 1:
        problems.append(f"step {missed.id}: the sweep follows up the day after (+1d)")
    return problems


def check_templates(cadence: Cadence, templates: dict[str, WhatsAppTemplate]) -> list[str]:
    """Every template a step names is declared, with the step's category and parameters."""
    problems: list[str] = []
    for step in cadence.steps:
        for tone, name in step.templates.items():
            template = templates.get(name)
            if template is None:
                problems.append(f"step {step.id} ({tone}): template {name} is not declared")
                continue
            if template.category != step.category:
                problems.append(
                    f"step {step.id}: {name} is {template.category}, the step says {step.category}"
                )
            if template.parameter_names != step.parameters:
                problems.append(
                    f"step {step.id}: {name} takes {list(template.parameter_names)}, "
                    f"the step gives {list(step.parameters)}"
                )
    return problems


@dataclass
class RunReport:
    now: datetime
    queued: int = 0  # handed to the outbox, due now (spread over the next minutes)
    held: int = 0  # handed to the outbox, due at the contact rules' next allowed moment
    skipped: int = 0  # skip rules and permanent refusals (nothing written)
    already: int = 0  # queued by a concurrent or earlier run in the meantime
    guard_blocked: int = 0
    stats: PlanStats | None = None
    sweep: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "queued": self.queued,
            "held": self.held,
            "skipped": self.skipped,
            "already_queued": self.already,
            "guard_blocked": self.guard_blocked,
            "plan": self.stats.as_dict() if self.stats else None,
            "payments_sweep": self.sweep,
        }


class _Pacer:
    """Send times: `rate` per second from each start moment, a debtor's PAIR_SECONDS apart."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.gap = timedelta(seconds=1 / rate)
        self._next: dict[datetime, datetime] = {}
        self._debtor: dict[int, datetime] = {}

    def slot(self, start: datetime, debtor_id: int) -> datetime:
        at = self._next.get(start, start)
        self._next[start] = at + self.gap
        last = self._debtor.get(debtor_id)
        if last is not None and at < last + timedelta(seconds=PAIR_SECONDS):
            at = last + timedelta(seconds=PAIR_SECONDS)
        self._debtor[debtor_id] = at
        return at


class CadenceScheduler:
    def __init__(
        self,
        engine: Engine,
        cadence: Cadence,
        *,
        mandate: Mandate | None = None,
        clock: Callable[[], datetime] | None = None,
        rate_per_second: float = DEFAULT_RATE,
        chunk: int = CHUNK,
        sweep_payments: bool = True,
    ) -> None:
        self.engine = engine
        self.cadence = cadence
        self.templates = dict(load_templates())
        problems = check_templates(cadence, self.templates)
        if mandate is not None:
            problems += check_installment_steps(cadence, mandate)
        if problems:
            raise CadenceError(f"cadence {cadence.id}: " + "; ".join(problems))
        self.mandate = mandate
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rate = rate_per_second
        self.chunk = chunk
        self.sweep_payments = sweep_payments

    # -- loop ---------------------------------------------------------------------------------

    def run_forever(
        self,
        stop: threading.Event,
        interval_seconds: float = 300.0,
        also: Sequence[Callable[[], object]] = (),
    ) -> None:
        """Run every `interval_seconds` until `stop` is set, with the other periodic jobs in
        `also` after each run; a failing job is logged and the others still run."""
        log.info("cadence scheduler started (every %ss)", interval_seconds)
        while not stop.is_set():
            for job in (self.run_once, *also):
                try:
                    job()
                except Exception:
                    log.exception("scheduled job %s failed", getattr(job, "__name__", job))
            stop.wait(interval_seconds)
        log.info("cadence scheduler stopped")

    def run_once(self, now: datetime | None = None) -> RunReport:
        now = (now or self.clock()).astimezone(UTC)
        report = RunReport(now=now)
        pacer = _Pacer(self.rate)
        with self.engine.connect() as conn:
            planner = Planner(conn, self.cadence, now)
            buffer: list[PlanItem] = []
            for item in planner.items():
                if item.action == "skip":
                    report.skipped += 1
                    continue
                buffer.append(item)
                if len(buffer) >= self.chunk:
                    self._flush(buffer, now, pacer, report)
                    buffer = []
            self._flush(buffer, now, pacer, report)
            report.stats = planner.stats
        if self.sweep_payments:
            report.sweep = self._sweep(now)
        with session_scope(self.engine) as session:
            audit(session, "cadence.run", now, **report.as_dict())
        log.info(
            "cadence run: %s queued, %s held, %s skipped, %s already queued",
            report.queued,
            report.held,
            report.skipped,
            report.already,
        )
        return report

    def _sweep(self, now: datetime) -> dict[str, int]:
        from dataclasses import asdict

        from agent.payments import sweep

        with session_scope(self.engine) as session:
            return asdict(sweep(session, now, self.mandate))

    # -- one chunk ----------------------------------------------------------------------------

    def _flush(
        self, items: list[PlanItem], now: datetime, pacer: _Pacer, report: RunReport
    ) -> None:
        if not items:
            return
        for attempt in (1, 2):
            try:
                with session_scope(self.engine) as session:
                    counts = self._queue_chunk(session, items, now, pacer)
                break
            except IntegrityError:  # a concurrent scheduler queued some of them first
                if attempt == 2:
                    raise
        report.queued += counts["queued"]
        report.held += counts["held"]
        report.already += counts["already"]
        report.guard_blocked += counts["guard_blocked"]

    def _queue_chunk(
        self, session: Session, items: list[PlanItem], now: datetime, pacer: _Pacer
    ) -> dict[str, int]:
        counts = {"queued": 0, "held": 0, "already": 0, "guard_blocked": 0}
        done = _already_sent(session, items)
        for item in items:
            if (item.account_id, item.step_id, item.due_date) in done:
                counts["already"] += 1
                continue
            outcome = self._queue(session, item, now, pacer)
            counts[outcome] += 1
        return counts

    def _queue(self, session: Session, item: PlanItem, now: datetime, pacer: _Pacer) -> str:
        assert item.send_at is not None and item.template is not None
        template = self.templates[item.template]
        try:
            rendered = render_step(template, item.facts())
        except StepGuardError as e:
            log.error("account %s step %s not queued: %s", item.account_id, item.step_id, e)
            audit(session, "cadence.guard_blocked", now, rule_ids=e.verdict.rule_ids)
            return "guard_blocked"
        send_at = pacer.slot(item.send_at, item.debtor_id)
        conversation = open_conversation(session, item.account_id, now)
        conversation.updated_at = now  # the debtor's answer lands in this conversation
        session.add(conversation)
        payload: dict[str, Any] = {"cadence": {"step": item.step_id, "id": self.cadence.id}}
        if item.kind == "template":
            payload["template"] = {
                "name": rendered.template,
                "language": rendered.language,
                "parameters": list(rendered.parameters),
                "category": item.category,
            }
        message = Message(
            conversation_id=conversation.id or 0,
            direction=Direction.outbound,
            kind=item.kind,
            body=rendered.text,
            payload=payload,
            action=f"cadence.{item.step_id}",
            status="queued",
            guard_outcome="pass",
            created_at=now,
            next_attempt_at=send_at,
        )
        session.add(message)
        session.flush()
        held = item.action == "hold"
        session.add(_send_row(self.cadence, item, conversation.id, message.id, send_at, now))
        audit(
            session,
            "cadence.held" if held else "cadence.queued",
            now,
            conversation,
            rule_ids=list(item.rule_ids),
            step=item.step_id,
            template=rendered.template,
            message_kind=item.kind,
            message_id=message.id,
            send_at=send_at.isoformat(),
            pack_version=item.pack_version,
        )
        return "held" if held else "queued"


def _send_row(
    cadence: Cadence,
    item: PlanItem,
    conversation_id: int | None,
    message_id: int | None,
    send_at: datetime,
    now: datetime,
) -> CadenceSend:
    return CadenceSend(
        account_id=item.account_id,
        step_id=item.step_id,
        due_date=item.due_date,
        cadence_id=cadence.id,
        conversation_id=conversation_id,
        message_id=message_id,
        template=item.template,
        category=item.category,
        kind=item.kind,
        held=item.action == "hold",
        reason=item.reason,
        rule_ids=list(item.rule_ids),
        pack_version=item.pack_version,
        planned_at=now,
        send_at=send_at,
    )


def _already_sent(session: Session, items: Iterable[PlanItem]) -> set[tuple[int, str, Any]]:
    keys = [(i.account_id, i.step_id, i.due_date) for i in items]
    key_cols = tuple_(col(CadenceSend.account_id), col(CadenceSend.step_id), CadenceSend.due_date)
    query = select(CadenceSend.account_id, CadenceSend.step_id, CadenceSend.due_date).where(
        key_cols.in_(keys)
    )
    return {(a, s, d) for a, s, d in session.exec(query)}

"""The cadence planner: which step each account is due now, and whether it may go.

Set-based, so that a day over a million accounts plans in seconds:

1. One SQL pass finds every account with a due-date step whose day has come in its own local
   date (a CASE over the distinct (jurisdiction, time zone) groups: the latest step reached
   wins) and that was not handed to the outbox yet (no CadenceSend for that account, step and
   due date). The same row carries what the skip rules need: the balance, the debtor's opt-in
   and opt-out, the latest conversation's stage, a live agreement, a recorded stop condition.
2. Each row is classified in Python without building ORM objects. The skip rules come first
   (paid, opted out, disputed, handed off, wrong party, lawyer or other stop condition, a live
   agreement, no opt-in). Then the policy layer decides: `can_contact` is pure and depends only
   on the pack, the zone and the debtor's recent contacts, so its decision is computed once per
   (country, zone, recent contacts) and reused: most accounts share one of a handful.
3. A refused message is held until the decision's next allowed moment, never dropped. Debtors
   with several accounts get their planned messages added to their history as the plan goes,
   so frequency caps hold across steps and accounts.

The plan writes nothing; the scheduler (`agent.cadence.scheduler`) hands it to the outbox.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    BigInteger,
    Connection,
    Table,
    and_,
    case,
    exists,
    func,
    null,
    or_,
    select,
    type_coerce,
)

from agent.cadence.messages import DueFacts
from agent.drafting import address_name
from agent.store.models import (
    Account,
    Agreement,
    AgreementStatus,
    CadenceSend,
    ContactStop,
    Conversation,
    Debtor,
    Message,
    Stage,
)
from policies.cadence import Cadence, CadenceStep
from policies.contact import ContactDecision, ContactRecord, ContactSubject, can_contact
from policies.formatting import locale_for
from policies.packs import UnknownPackError, pack_code_for, pack_for_country

Action = Literal["send", "hold", "skip"]

HISTORY_WINDOW = timedelta(days=8)  # caps look back a week at most (as agent/contact_rules.py)
WINDOW = timedelta(hours=24)  # WhatsApp's customer-service window
SESSION_MARGIN = timedelta(hours=1)  # free text only when the window stays open this long
SENT = ("sent", "delivered", "read")
PENDING = ("queued", "sending")
CHUNK = 5000

LIVE_AGREEMENTS = (
    AgreementStatus.active.value,
    AgreementStatus.pending_confirmation.value,
    AgreementStatus.pending_approval.value,
)


class Skip:
    """Rule ids of accounts the cadence leaves alone (a person, the law or a payment decides)."""

    PAID = "cadence.skip.paid"
    OPTED_OUT = "cadence.skip.opted_out"
    DISPUTED = "cadence.skip.disputed"
    HANDED_OFF = "cadence.skip.handed_off"
    WRONG_PARTY = "cadence.skip.wrong_party"
    LAWYER = "cadence.skip.lawyer"
    STOP = "cadence.skip.stop"  # + "." + the pack's stop condition id
    AGREEMENT = "cadence.skip.active_agreement"
    AGREEMENT_PENDING = "cadence.skip.agreement_pending"
    NO_OPT_IN = "cadence.skip.no_opt_in"
    UNKNOWN_PACK = "cadence.skip.unknown_jurisdiction"
    NO_MOMENT = "cadence.skip.no_allowed_moment"  # refused for longer than the search horizon


STAGE_SKIPS: dict[str, str] = {
    Stage.opted_out.value: Skip.OPTED_OUT,
    Stage.disputed.value: Skip.DISPUTED,
    Stage.handed_off.value: Skip.HANDED_OFF,
    Stage.wrong_party.value: Skip.WRONG_PARTY,
    Stage.settled.value: Skip.PAID,
    Stage.agreement_active.value: Skip.AGREEMENT,
    Stage.agreement_pending_confirmation.value: Skip.AGREEMENT_PENDING,
    Stage.agreement_pending_approval.value: Skip.AGREEMENT_PENDING,
}


@dataclass(slots=True)
class PlanItem:
    """One account's due step and what the plan does with it, with the rule ids why."""

    account_id: int
    debtor_id: int
    reference: str
    step_id: str
    due_date: date
    action: Action
    reason: str  # contact.ok, a contact.* refusal (hold), or a cadence.skip.* / contact.* id
    rule_ids: tuple[str, ...]
    send_at: datetime | None  # UTC: now (send), the next allowed moment (hold), None (skip)
    template: str | None
    category: str
    kind: Literal["template", "text"]  # text: inside the 24-hour window at send_at
    jurisdiction: str
    timezone: str
    segment: str
    pack_version: str | None
    first_name: str
    creditor: str
    currency: str
    balance_cents: int

    @property
    def balance(self) -> Decimal:
        return Decimal(self.balance_cents) / 100

    def facts(self) -> DueFacts:
        zone = _zone(self.timezone, self.jurisdiction)
        when = self.send_at or datetime.now(UTC)
        return DueFacts(
            first_name=address_name(self.first_name, self.segment),
            creditor=self.creditor,
            reference=self.reference,
            currency=self.currency,
            locale=locale_for(self.jurisdiction),
            pack=pack_code_for(self.jurisdiction),
            balance=self.balance,
            due_date=self.due_date,
            today=when.astimezone(zone).date(),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "reference": self.reference,
            "step": self.step_id,
            "due_date": self.due_date.isoformat(),
            "action": self.action,
            "reason": self.reason,
            "rule_ids": list(self.rule_ids),
            "send_at": self.send_at.isoformat() if self.send_at else None,
            "send_at_local": _local_text(self.send_at, self.timezone, self.jurisdiction),
            "template": self.template,
            "category": self.category,
            "kind": self.kind,
            "jurisdiction": self.jurisdiction,
            "timezone": self.timezone,
            "segment": self.segment,
            "pack_version": self.pack_version,
        }


@dataclass
class PlanStats:
    """Counts of one plan: what it would send, hold and skip, per step and per reason."""

    now: datetime
    cadence: str
    candidates: int = 0  # accounts with a due step not yet handed to the outbox
    by_action: Counter[str] = field(default_factory=Counter)
    by_step: Counter[tuple[str, str]] = field(default_factory=Counter)  # (step, action)
    by_reason: Counter[str] = field(default_factory=Counter)
    decisions_computed: int = 0  # can_contact calls (the rest came from the cache)

    def add(self, item: PlanItem) -> None:
        self.candidates += 1
        self.by_action[item.action] += 1
        self.by_step[(item.step_id, item.action)] += 1
        self.by_reason[item.reason] += 1

    def as_dict(self) -> dict[str, Any]:
        steps: dict[str, dict[str, int]] = defaultdict(dict)
        for (step, action), n in sorted(self.by_step.items()):
            steps[step][action] = n
        return {
            "now": self.now.isoformat(),
            "cadence": self.cadence,
            "candidates": self.candidates,
            "send": self.by_action["send"],
            "hold": self.by_action["hold"],
            "skip": self.by_action["skip"],
            "by_step": dict(steps),
            "by_reason": dict(sorted(self.by_reason.items())),
            "decisions_computed": self.decisions_computed,
        }


# -- the SQL pass ----------------------------------------------------------------------------

_A: Table = Account.__table__  # type: ignore[attr-defined]
_D: Table = Debtor.__table__  # type: ignore[attr-defined]
_C: Table = Conversation.__table__  # type: ignore[attr-defined]
_G: Table = Agreement.__table__  # type: ignore[attr-defined]
_S: Table = CadenceSend.__table__  # type: ignore[attr-defined]
_X: Table = ContactStop.__table__  # type: ignore[attr-defined]
_M: Table = Message.__table__  # type: ignore[attr-defined]


def _zone(timezone: str, jurisdiction: str) -> ZoneInfo:
    """The account's zone; its pack's default zone (or UTC) when missing or unknown."""
    try:
        return ZoneInfo(timezone) if timezone else _default_zone(jurisdiction)
    except (ZoneInfoNotFoundError, ValueError):
        return _default_zone(jurisdiction)


def _default_zone(jurisdiction: str) -> ZoneInfo:
    try:
        return ZoneInfo(pack_for_country(jurisdiction).default_timezone)
    except (UnknownPackError, ValueError):
        return ZoneInfo("UTC")


def _local_text(when: datetime | None, timezone: str, jurisdiction: str) -> str | None:
    if when is None:
        return None
    return when.astimezone(_zone(timezone, jurisdiction)).strftime("%a %Y-%m-%d %H:%M")


def _groups(conn: Connection) -> list[tuple[str, str]]:
    rows = conn.execute(select(_A.c.jurisdiction, _A.c.timezone).distinct())
    return [(j or "", tz or "") for j, tz in rows]


def _step_case(cadence: Cadence, groups: list[tuple[str, str]], now: datetime) -> Any:
    """step_id of the latest due-date step each account has reached in its local date."""
    latest_first = sorted(cadence.due_steps, key=lambda s: -s.offset_days)
    whens = []
    for jurisdiction, tz in groups:
        today = now.astimezone(_zone(tz, jurisdiction)).date()
        in_group = and_(_A.c.jurisdiction == jurisdiction, _A.c.timezone == tz)
        for step in latest_first:
            reached = _A.c.due_date <= today - timedelta(days=step.offset_days)
            whens.append((and_(in_group, reached), step.id))
    return case(*whens, else_=null())


def candidates_query(cadence: Cadence, groups: list[tuple[str, str]], now: datetime) -> Any:
    """Accounts with a due step not yet handed to the outbox, with what the skips need."""
    cents = type_coerce(_A.c.principal, BigInteger) + type_coerce(_A.c.interest, BigInteger)
    cents = cents + type_coerce(_A.c.fees, BigInteger) - type_coerce(_A.c.paid, BigInteger)
    inner = select(
        _A.c.id,
        _A.c.debtor_id,
        _A.c.due_date,
        _A.c.reference,
        _A.c.creditor,
        _A.c.currency,
        _A.c.jurisdiction,
        _A.c.timezone,
        _A.c.segment,
        cents.label("balance_cents"),
        _step_case(cadence, groups, now).label("step_id"),
    ).subquery("due")
    other = _C.alias("c2")
    latest_id = (
        select(func.max(other.c.id))
        .where(other.c.account_id == inner.c.id)
        .correlate_except(other)
        .scalar_subquery()
    )
    agreement = (
        select(_G.c.status)
        .where(_G.c.account_id == inner.c.id, _G.c.status.in_(LIVE_AGREEMENTS))
        .limit(1)
    )
    stop = (
        select(_X.c.reason)
        .where(_X.c.debtor_id == inner.c.debtor_id, _X.c.lifted_at.is_(None))
        .where(or_(_X.c.account_id.is_(None), _X.c.account_id == inner.c.id))
        .limit(1)
    )
    sent = exists().where(
        _S.c.account_id == inner.c.id,
        _S.c.step_id == inner.c.step_id,
        _S.c.due_date == inner.c.due_date,
    )
    return (
        select(
            inner,
            _D.c.name,
            _D.c.whatsapp_opt_in_at.is_not(None).label("opted_in"),
            _D.c.opted_out_at.is_not(None).label("opted_out"),
            _C.c.stage,
            _C.c.last_inbound_at.label("inbound"),
            agreement.scalar_subquery().label("agreement"),
            stop.scalar_subquery().label("stop"),
        )
        .join(_D, _D.c.id == inner.c.debtor_id)
        .outerjoin(_C, _C.c.id == latest_id)
        .where(inner.c.step_id.is_not(None))
        .where(~sent)
        .order_by(inner.c.id)
    )


def recent_contacts(conn: Connection, now: datetime) -> dict[int, list[datetime]]:
    """Business-initiated messages per debtor: sent in the last days, or still to be sent."""
    when = _M.c.sent_at, _M.c.created_at, _M.c.next_attempt_at, _M.c.status
    query = (
        select(_A.c.debtor_id, *when)
        .select_from(_M.join(_C, _C.c.id == _M.c.conversation_id))
        .join(_A, _A.c.id == _C.c.account_id)
        .where(_M.c.direction == "outbound")
        .where(or_(_M.c.kind == "template", _M.c.action.like("cadence.%")))
        .where(
            or_(
                and_(_M.c.status.in_(SENT), _M.c.created_at >= now - HISTORY_WINDOW),
                _M.c.status.in_(PENDING),
            )
        )
    )
    out: dict[int, list[datetime]] = defaultdict(list)
    for debtor_id, sent_at, created_at, next_at, status in conn.execute(query):
        at = (sent_at or created_at) if status in SENT else (next_at or created_at)
        out[debtor_id].append(_aware(at))
    return dict(out)


def multi_account_debtors(conn: Connection) -> set[int]:
    query = select(_A.c.debtor_id).group_by(_A.c.debtor_id).having(func.count() > 1)
    return set(conn.execute(query).scalars())


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Row(NamedTuple):
    """A candidates_query row (plain tuple access: a million rows are read per plan)."""

    id: int
    debtor_id: int
    due_date: date
    reference: str
    creditor: str
    currency: str
    jurisdiction: str
    timezone: str
    segment: str
    balance_cents: int
    step_id: str
    name: str
    opted_in: bool
    opted_out: bool
    stage: str | None
    inbound: datetime | None
    agreement: str | None
    stop: str | None


# -- classification --------------------------------------------------------------------------


class Planner:
    """Plans one moment (`now`) over the whole portfolio; `items()` streams the plan."""

    def __init__(self, conn: Connection, cadence: Cadence, now: datetime) -> None:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        self.conn = conn
        self.cadence = cadence
        self.now = now.astimezone(UTC)
        self.stats = PlanStats(now=self.now, cadence=cadence.id)
        self._steps = {s.id: s for s in cadence.due_steps}
        self._decisions: dict[tuple[str, str, tuple[datetime, ...]], ContactDecision] = {}
        self._history: dict[int, list[datetime]] = {}
        self._multi: set[int] = set()

    def items(self) -> Iterator[PlanItem]:
        """Every due step of every account, in account order; counted in `stats`."""
        self._history = recent_contacts(self.conn, self.now)
        self._multi = multi_account_debtors(self.conn)
        query = candidates_query(self.cadence, _groups(self.conn), self.now)
        result = self.conn.execution_options(yield_per=CHUNK).execute(query)
        make = _Row._make
        for rows in result.partitions():
            for raw in rows:
                item = self._classify(make(raw))
                self.stats.add(item)
                yield item

    def _classify(self, row: _Row) -> PlanItem:
        step = self._steps[row.step_id]
        skip = _skip_reason(row)
        if skip is not None:
            return self._item(row, step, "skip", skip, (skip,), None)
        decision = self._decide(row)
        if decision is None:
            return self._item(row, step, "skip", Skip.UNKNOWN_PACK, (Skip.UNKNOWN_PACK,), None)
        if decision.allowed:
            return self._planned(row, step, "send", decision, self.now)
        if decision.next_allowed_at is None:  # refused for good, or beyond the horizon
            rule_ids = (
                (Skip.NO_MOMENT, *decision.rule_ids) if _timed(decision) else decision.rule_ids
            )
            return self._item(row, step, "skip", rule_ids[0], rule_ids, None)
        return self._planned(row, step, "hold", decision, decision.next_allowed_at)

    def _planned(
        self, row: _Row, step: CadenceStep, action: Action, decision: ContactDecision, at: datetime
    ) -> PlanItem:
        if row.debtor_id in self._multi:  # caps across this debtor's other accounts
            self._history.setdefault(row.debtor_id, []).append(at)
        return self._item(
            row, step, action, decision.reason, decision.rule_ids, at, decision.pack_version
        )

    def _decide(self, row: _Row) -> ContactDecision | None:
        history = tuple(sorted(self._history.get(row.debtor_id, ())))
        key = (row.jurisdiction, row.timezone, history)
        cached = self._decisions.get(key)
        if cached is not None:
            return cached
        try:
            subject = ContactSubject(
                country=row.jurisdiction,
                timezone=row.timezone or None,
                whatsapp_opt_in=True,
                authorized_channels=frozenset({"whatsapp"}),
            )
            records = [ContactRecord(at=at, channel="whatsapp") for at in history]
            decision = can_contact(subject, "whatsapp", self.now, records)
        except (UnknownPackError, ValueError):
            return None
        self.stats.decisions_computed += 1
        self._decisions[key] = decision
        return decision

    def _item(
        self,
        row: _Row,
        step: CadenceStep,
        action: Action,
        reason: str,
        rule_ids: tuple[str, ...],
        at: datetime | None,
        pack_version: str | None = None,
    ) -> PlanItem:
        kind: Literal["template", "text"] = "template"
        if at is not None and row.inbound is not None:
            opened = _aware(row.inbound)
            kind = "text" if at - opened < WINDOW - SESSION_MARGIN else "template"
        return PlanItem(
            account_id=row.id,
            debtor_id=row.debtor_id,
            reference=row.reference,
            step_id=step.id,
            due_date=row.due_date,
            action=action,
            reason=reason,
            rule_ids=tuple(rule_ids),
            send_at=at,
            template=step.template_for(row.segment),
            category=step.category,
            kind=kind,
            jurisdiction=row.jurisdiction,
            timezone=row.timezone,
            segment=row.segment,
            pack_version=pack_version,
            first_name=row.name,
            creditor=row.creditor,
            currency=row.currency,
            balance_cents=int(row.balance_cents),
        )


def _timed(decision: ContactDecision) -> bool:
    """A refusal that passes with time (window, holiday, caps, spacing)."""
    return decision.reason.startswith(("contact.window", "contact.holiday", "contact.cap"))


def _skip_reason(row: _Row) -> str | None:
    """The first skip rule an account meets, or None."""
    if row.balance_cents <= 0:
        return Skip.PAID
    if row.opted_out:
        return Skip.OPTED_OUT
    stage_skip = STAGE_SKIPS.get(row.stage) if row.stage else None
    if stage_skip is not None:
        return stage_skip
    if row.stop is not None:
        return Skip.LAWYER if row.stop == "debtor_has_lawyer" else f"{Skip.STOP}.{row.stop}"
    if row.agreement is not None:
        return Skip.AGREEMENT if row.agreement == "active" else Skip.AGREEMENT_PENDING
    if not row.opted_in:
        return Skip.NO_OPT_IN
    return None


def plan(conn: Connection, cadence: Cadence, now: datetime) -> tuple[list[PlanItem], PlanStats]:
    """The whole plan in memory (for small portfolios, the CLI and tests)."""
    planner = Planner(conn, cadence, now)
    items = list(planner.items())
    return items, planner.stats


def local_today(now: datetime, timezone: str, jurisdiction: str) -> date:
    return now.astimezone(_zone(timezone, jurisdiction)).date()

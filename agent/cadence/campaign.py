"""The campaign view's data: what the cadence sent, what waits and why, and how it landed.

`campaign_summary(session, day, tz)` reads CadenceSend rows with their outbound Messages:

- per step: messages sent on `day` (the console's time zone), still queued, held by the
  contact rules, failed; delivery and read rates from the status webhooks (MessageStatusEvent,
  and the message's own status, which only moves forward); replies, i.e. messages where the
  debtor wrote in that conversation after it was sent and before the next cadence message;
- the messages waiting, each with its rule ids and the next allowed moment.

Rates count the messages sent in the `days` days ending on `day` (1: that day only).
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from agent.store.models import Account, CadenceSend, Message, MessageStatusEvent

SENT = ("sent", "delivered", "read", "failed")  # statuses of a message that left the outbox
DELIVERED = ("delivered", "read")
WAITING = ("queued", "sending")


@dataclass
class StepCampaign:
    step_id: str
    sent: int = 0  # sent in the period
    sent_today: int = 0  # sent on `day`
    queued: int = 0  # waiting, due now or soon
    held: int = 0  # waiting for the contact rules' next allowed moment
    failed: int = 0
    delivered: int = 0
    read: int = 0
    replies: int = 0

    @property
    def delivery_rate(self) -> float | None:
        return round(self.delivered / self.sent, 4) if self.sent else None

    @property
    def read_rate(self) -> float | None:
        return round(self.read / self.sent, 4) if self.sent else None

    @property
    def reply_rate(self) -> float | None:
        return round(self.replies / self.sent, 4) if self.sent else None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {
            "delivery_rate": self.delivery_rate,
            "read_rate": self.read_rate,
            "reply_rate": self.reply_rate,
        }


@dataclass(frozen=True)
class WaitingMessage:
    message_id: int
    account_id: int
    reference: str
    step_id: str
    template: str | None
    held: bool
    reason: str  # contact.ok (queued) or the refusal's rule id
    rule_ids: tuple[str, ...]
    next_at: datetime  # UTC: when the outbox may send it
    next_at_local: str  # in the summary's time zone


@dataclass
class CampaignSummary:
    day: date
    timezone: str
    days: int
    steps: list[StepCampaign] = field(default_factory=list)
    waiting: list[WaitingMessage] = field(default_factory=list)

    @property
    def sent_today(self) -> int:
        return sum(s.sent_today for s in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "timezone": self.timezone,
            "days": self.days,
            "sent_today": self.sent_today,
            "steps": [s.as_dict() for s in self.steps],
            "waiting": [
                asdict(w) | {"next_at": w.next_at.isoformat(), "rule_ids": list(w.rule_ids)}
                for w in self.waiting
            ],
        }


@dataclass
class _Row:
    send: CadenceSend
    message: Message
    reference: str


def campaign_summary(
    session: Session,
    day: date,
    tz: str | ZoneInfo,
    *,
    days: int = 1,
    waiting_limit: int = 500,
    step_order: list[str] | None = None,
    now: datetime | None = None,
) -> CampaignSummary:
    """The campaign on `day` in zone `tz` (see the module docstring).

    `step_order` lists the steps to show even when empty (e.g. the cadence's step ids); `now`
    tells a held message (due later) from a queued one.
    """
    now = now or datetime.now(UTC)
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    start, end = _bounds(day, zone)
    period_start = start - timedelta(days=max(1, days) - 1)
    rows = _rows(session, period_start, end)
    steps: dict[str, StepCampaign] = {}
    for step_id in step_order or []:
        steps[step_id] = StepCampaign(step_id)
    in_period = [r for r in rows if _sent_between(r.message, period_start, end)]
    delivered, read = _status_sets(session, [r.message.wamid for r in in_period])
    replied = _replied(session, rows)
    for r in rows:
        stats = steps.setdefault(r.send.step_id, StepCampaign(r.send.step_id))
        _count(stats, r, (start, end, period_start, now), delivered, read, replied)
    waiting = [r for r in rows if r.message.status in WAITING]
    waiting.sort(key=lambda r: (r.message.next_attempt_at or r.send.send_at, r.message.id or 0))
    return CampaignSummary(
        day=day,
        timezone=zone.key,
        days=max(1, days),
        steps=list(steps.values()),
        waiting=[_waiting(r, zone) for r in waiting[:waiting_limit]],
    )


def _bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def _rows(session: Session, period_start: datetime, end: datetime) -> list[_Row]:
    """Cadence messages sent in the period, or still waiting."""
    query = (
        select(CadenceSend, Message, Account.reference)
        .join(Message, col(Message.id) == CadenceSend.message_id)
        .join(Account, col(Account.id) == CadenceSend.account_id)
        .where(
            (col(Message.status).in_(WAITING))
            | ((col(Message.sent_at) >= period_start) & (col(Message.sent_at) < end))
        )
    )
    return [_Row(send, message, ref) for send, message, ref in session.exec(query)]


def _sent_between(message: Message, start: datetime, end: datetime) -> bool:
    return message.sent_at is not None and start <= message.sent_at < end


def _status_sets(session: Session, wamids: list[str | None]) -> tuple[set[str], set[str]]:
    """The wamids with a delivered (or read) status event, and those with a read one."""
    delivered: set[str] = set()
    read: set[str] = set()
    known = [w for w in wamids if w]
    for start in range(0, len(known), 500):
        chunk = known[start : start + 500]
        query = select(MessageStatusEvent.wamid, MessageStatusEvent.status).where(
            col(MessageStatusEvent.wamid).in_(chunk)
        )
        for wamid, status in session.exec(query):
            if status in DELIVERED or status == "played":
                delivered.add(wamid)
            if status in ("read", "played"):
                read.add(wamid)
    return delivered, read


def _replied(session: Session, rows: list[_Row]) -> set[int]:
    """Ids of cadence messages the debtor answered before the next cadence message came."""
    sent = [r.message for r in rows if r.message.sent_at is not None]
    if not sent:
        return set()
    by_conversation: dict[int, list[datetime]] = defaultdict(list)
    conversations = sorted({m.conversation_id for m in sent})
    earliest = min(m.sent_at for m in sent if m.sent_at)
    for start in range(0, len(conversations), 500):
        chunk = conversations[start : start + 500]
        query = (
            select(Message.conversation_id, Message.created_at)
            .where(col(Message.conversation_id).in_(chunk))
            .where(Message.direction == "inbound", col(Message.created_at) >= earliest)
        )
        for conversation_id, at in session.exec(query):
            by_conversation[conversation_id].append(at)
    nexts = _next_cadence_times(sent)
    out: set[int] = set()
    for m in sent:
        times = sorted(by_conversation.get(m.conversation_id, ()))
        assert m.sent_at is not None
        i = bisect.bisect_left(times, m.sent_at)
        limit = nexts.get(m.id or 0)
        if i < len(times) and (limit is None or times[i] < limit):
            out.add(m.id or 0)
    return out


def _next_cadence_times(sent: list[Message]) -> dict[int, datetime]:
    """For each cadence message, when the next one in its conversation was sent."""
    by_conversation: dict[int, list[Message]] = defaultdict(list)
    for m in sent:
        by_conversation[m.conversation_id].append(m)
    out: dict[int, datetime] = {}
    for messages in by_conversation.values():
        messages.sort(key=lambda m: m.sent_at or datetime.min.replace(tzinfo=UTC))
        for a, b in itertools.pairwise(messages):
            if b.sent_at is not None:
                out[a.id or 0] = b.sent_at
    return out


def _count(
    stats: StepCampaign,
    r: _Row,
    moments: tuple[datetime, datetime, datetime, datetime],
    delivered: set[str],
    read: set[str],
    replied: set[int],
) -> None:
    start, end, period_start, now = moments
    m = r.message
    if m.status in WAITING:
        if (m.next_attempt_at or r.send.send_at) > now:
            stats.held += 1
        else:
            stats.queued += 1
        return
    if not _sent_between(m, period_start, end):
        return
    stats.sent += 1
    stats.sent_today += _sent_between(m, start, end)
    stats.failed += m.status in ("failed", "undeliverable", "dead_letter")
    stats.delivered += m.status in DELIVERED or (m.wamid or "") in delivered
    stats.read += m.status == "read" or (m.wamid or "") in read
    stats.replies += (m.id or 0) in replied


def _waiting(r: _Row, zone: ZoneInfo) -> WaitingMessage:
    next_at = r.message.next_attempt_at or r.send.send_at
    return WaitingMessage(
        message_id=r.message.id or 0,
        account_id=r.send.account_id,
        reference=r.reference,
        step_id=r.send.step_id,
        template=r.send.template,
        held=r.send.held,
        reason=r.send.reason,
        rule_ids=tuple(r.send.rule_ids),
        next_at=next_at,
        next_at_local=next_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
    )

"""The outbox dispatcher: sends queued outbound messages through a Channel.

The graph only queues replies (Message rows with status "queued"). The dispatcher claims each
due message with an atomic `UPDATE ... WHERE id = ? AND status = 'queued'` (so several
dispatchers may share a database, SQLite or PostgreSQL), checks WhatsApp's rules, sends, and
settles the row:

    queued -> sending -> sent                       (wamid, sent_at; the answered inbound is
                                                     marked read)
                      -> queued (next_attempt_at)   5xx, transport errors, rate limits
                      -> dead_letter                after max_attempts
                      -> undeliverable              131026
                      -> failed                     outside the 24-hour window (local check or
                                                     131047), template without opt-in, other 4xx
                      -> queued + dispatcher paused 190 and other auth/account errors

Rules (shared/reference/whatsapp_api.md §5.1 and §6):
- 24-hour window: a free-form message (text, buttons, list) goes out only within 24 h of the
  debtor's last message; outside it only a template may, and only to an opted-in debtor.
- Pacing: Meta's pair rate limit is one message per 6 s to the same user, with bursts of up to
  45 in 6 s allowed on borrowed quota (131056 when exceeded). A turn produces one reply, so two
  replies to one person rarely come faster than they type; spacing them at least PAIR_GAP (1 s)
  apart keeps their order on the phone and stays far below the burst allowance (at most 6 per
  6 s), without making a debtor wait 6 s for an answer. After a 131056 or 130429 the recipient
  waits the full 6 s (at least) before anything else goes to them.
- Throughput: at most `rate_per_second` API calls (sends and mark-as-read), 80/s by default,
  Meta's default ceiling per business number.

Payloads understood on an outbound Message: `{"buttons": [{"id", "title"}, ...]}` (reply
buttons), `{"list": {"button": label, "rows": [{"id", "title", "description"?}]}}` (a list)
and, for kind "template", `{"template": {"name", "language", "parameters": [str, ...]}}`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from agent.contact_rules import active_stops, contact_history, contact_subject
from agent.store.db import session_scope
from agent.store.inbox import catch_up
from agent.store.models import Account, Conversation, Debtor, Message
from agent.store.repository import Context, audit, load_context
from api.channels.base import (
    MAX_BUTTON_BODY,
    PAIR_RATE_SECONDS,
    Button,
    Channel,
    ChannelError,
    ListRow,
    OutgoingMessage,
    mask_recipient,
    redact,
)
from policies.contact import can_contact

log = logging.getLogger("pacta.dispatcher")

WINDOW = timedelta(hours=24)
PAIR_GAP = timedelta(seconds=1)
BACKOFF_BASE_SECONDS = 4.0  # 4, 8, 16, 32, 64 s: six attempts span one to two minutes
BACKOFF_CAP_SECONDS = 300.0
STALE_SENDING = timedelta(minutes=2)  # a claim older than this was lost with its process
STALE_CHECK_EVERY = timedelta(minutes=1)
OUTSIDE_WINDOW = "outside_24h_window"


@dataclass
class Job:
    """A claimed message and what is needed to send it."""

    message_id: int
    conversation_id: int
    recipient: str
    attempts: int
    outgoing: OutgoingMessage | None = None
    blocked: str | None = None  # why it must not be sent
    retry_at: datetime | None = None  # blocked for now only: the contact rules' next moment
    reply_wamid: str | None = None  # the inbound it answers, to mark as read


class RateLimiter:
    """At most `rate` calls per second, evenly spaced."""

    def __init__(
        self,
        rate: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = 1.0 / rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._next = 0.0

    def wait(self) -> None:
        now = self._monotonic()
        if now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._interval


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        channel: Channel,
        *,
        clock: Callable[[], datetime] | None = None,
        max_attempts: int = 6,
        rng: random.Random | None = None,
        rate_per_second: float = 80.0,
        pair_gap: timedelta = PAIR_GAP,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.engine = engine
        self.channel = channel
        self.clock = clock or (lambda: datetime.now(UTC))
        self.max_attempts = max_attempts
        self.rng = rng or random.Random()
        self.pair_gap = pair_gap
        self.paused_reason: str | None = None  # set by an auth/account error; cleared by restart
        self._limiter = RateLimiter(rate_per_second)
        self._ready_at: dict[str, datetime] = {}  # recipient -> earliest next send
        self._stale_checked_at: datetime | None = None

    # ---- loop -------------------------------------------------------------------------------

    def run_once(self, limit: int = 100) -> int:
        """One pass over due messages; returns how many were claimed and settled."""
        if self.paused_reason is not None:
            return 0
        now = self._now()
        self._recover_stale(now)
        self._forget_old_recipients(now)
        handled = 0
        for message_id, recipient in self._due(now, limit):
            if self.paused_reason is not None:
                break
            handled += self._dispatch_safely(message_id, recipient)
        return handled

    def run_forever(self, stop: threading.Event, poll_seconds: float = 0.05) -> None:
        """Poll until `stop` is set; a failing pass or message is logged, never fatal."""
        log.info("dispatcher started")
        while not stop.is_set():
            try:
                handled = self.run_once()
            except Exception:
                log.exception("dispatcher pass failed")
                handled = 0
            if not handled:
                stop.wait(poll_seconds)
        log.info("dispatcher stopped")

    # ---- one message ------------------------------------------------------------------------

    def _dispatch_safely(self, message_id: int, recipient: str) -> int:
        try:
            return self._dispatch(message_id, recipient)
        except Exception:  # a stuck "sending" row is recovered by _recover_stale
            log.exception("message %s: dispatch failed", message_id)
            return 0

    def _dispatch(self, message_id: int, recipient: str) -> int:
        now = self._now()
        if self._ready_at.get(recipient, now) > now:
            return 0  # paced: stays queued for a later pass
        if not self._claim(message_id, now):
            return 0
        job = self._load(message_id)
        if job.retry_at is not None:  # a template outside the legal contact window or caps
            self._settle(job, self._now(), status="queued", next_attempt_at=job.retry_at)
            return 1
        if job.blocked is not None or job.outgoing is None:
            self._settle(job, self._now(), status="failed", error=job.blocked)
            return 1
        try:
            wamid = self._send(job.outgoing)
        except ChannelError as e:
            self._on_error(job, e, self._now())
            return 1
        self._on_sent(job, wamid, self._now())
        return 1

    def _send(self, outgoing: OutgoingMessage) -> str:
        self._limiter.wait()
        try:
            return self.channel.send(outgoing).wamid
        except ChannelError:
            raise
        except ValueError as e:
            raise ChannelError(None, f"invalid message: {e}", "fail") from e
        except Exception as e:  # a channel bug or an outage: retried, then dead-lettered
            raise ChannelError(None, f"unexpected {type(e).__name__}", "retry") from e

    # ---- database ---------------------------------------------------------------------------

    def _due(self, now: datetime, limit: int) -> list[tuple[int, str]]:
        """Due queued messages, oldest first, not behind an earlier unsent one of their thread."""
        earlier = aliased(Message)
        blocked_by_earlier = exists().where(
            and_(
                earlier.conversation_id == Message.conversation_id,
                earlier.direction == "outbound",
                col(earlier.status).in_(("queued", "sending")),
                col(earlier.id) < col(Message.id),
            )
        )
        query = (
            select(Message.id, Debtor.phone, Debtor.wa_user_id)
            .join(Conversation, col(Conversation.id) == Message.conversation_id)
            .join(Account, col(Account.id) == Conversation.account_id)
            .join(Debtor, col(Debtor.id) == Account.debtor_id)
            .where(Message.direction == "outbound", Message.status == "queued")
            .where(or_(col(Message.next_attempt_at).is_(None), col(Message.next_attempt_at) <= now))
            .where(~blocked_by_earlier)
            .order_by(col(Message.id))
            .limit(limit)
        )
        with session_scope(self.engine) as session:
            return [(i or 0, phone or user_id or "") for i, phone, user_id in session.exec(query)]

    def _claim(self, message_id: int, now: datetime) -> bool:
        stmt = (
            update(Message)
            .where(col(Message.id) == message_id, col(Message.status) == "queued")
            .values(status="sending", claimed_at=now)
        )
        with session_scope(self.engine) as session:
            return session.exec(stmt).rowcount == 1

    def _load(self, message_id: int) -> Job:
        with session_scope(self.engine) as session:
            message = session.get(Message, message_id)
            assert message is not None
            ctx = load_context(session, message.conversation_id)
            inbound = session.get(Message, message.reply_to_id) if message.reply_to_id else None
            job = Job(
                message_id=message_id,
                conversation_id=message.conversation_id,
                recipient=ctx.debtor.phone or ctx.debtor.wa_user_id or "",
                attempts=message.attempts,
                reply_wamid=inbound.wamid if inbound is not None else None,
            )
            opened = _window_opened_at(ctx.conversation, inbound)
            job.blocked = contact_block(message.kind, opened, ctx.debtor, self._now())
            if job.blocked is None:
                self._check_contact_rules(session, job, ctx, reply=message.kind != "template")
            if job.blocked is None:
                job.outgoing, job.blocked = _build(message, job.recipient)
            return job

    def _check_contact_rules(self, session: Session, job: Job, ctx: Context, reply: bool) -> None:
        """The debtor's policy pack decides when a message may go.

        A template is a contact the creditor starts: every rule applies. Free text only goes
        inside the 24-hour window the debtor opened, so it is a reply: it waits for the contact
        window (and holidays) where the pack says replies respect it, and is not counted in the
        caps. The permanent refusals (opt-out, dispute, lawyer...) do not hold a reply: the
        agent has already chosen what to say to them (e.g. confirming the opt-out).
        """
        now = self._now()
        decision = can_contact(
            contact_subject(ctx, active_stops(session, ctx)),
            "whatsapp",
            now,
            contact_history(session, ctx.debtor, now),
            initiated_by="consumer" if reply else "business",
        )
        if decision.allowed or (reply and decision.next_allowed_at is None):
            return
        job.blocked, job.retry_at = decision.reason, decision.next_allowed_at
        audit(
            session,
            "contact.refused",
            now,
            ctx.conversation,
            rule_ids=list(decision.rule_ids),
            pack_version=decision.pack_version,
            next_allowed_at=decision.next_allowed_at.isoformat()
            if decision.next_allowed_at
            else None,
        )

    def _settle(self, job: Job, now: datetime, **values: Any) -> bool:
        """Update the claimed row (only while it is still ours)."""
        values.setdefault("claimed_at", None)
        stmt = (
            update(Message)
            .where(col(Message.id) == job.message_id, col(Message.status) == "sending")
            .values(**values)
        )
        with session_scope(self.engine) as session:
            done = session.exec(stmt).rowcount == 1
            if done and values.get("wamid"):
                # Status webhooks can beat this commit: apply those already stored.
                message = session.get(Message, job.message_id)
                if message is not None:
                    catch_up(session, message)
        log.info(
            "message %s to %s: %s%s",
            job.message_id,
            mask_recipient(job.recipient),
            values.get("status"),
            f" ({values['error_code']})" if values.get("error_code") else "",
        )
        return done

    def _recover_stale(self, now: datetime) -> None:
        """Claims lost with a crashed process go back to the queue (at-least-once)."""
        if self._stale_checked_at and now - self._stale_checked_at < STALE_CHECK_EVERY:
            return
        self._stale_checked_at = now
        stmt = (
            update(Message)
            .where(col(Message.status) == "sending", col(Message.claimed_at) < now - STALE_SENDING)
            .values(status="queued", claimed_at=None, error="send_interrupted")
        )
        with session_scope(self.engine) as session:
            count = session.exec(stmt).rowcount
        if count:
            log.warning("%s interrupted sends put back in the queue", count)

    # ---- outcomes ---------------------------------------------------------------------------

    def _on_sent(self, job: Job, wamid: str, now: datetime) -> None:
        self._settle(
            job,
            now,
            status="sent",
            wamid=wamid,
            sent_at=now,
            attempts=job.attempts + 1,
            next_attempt_at=None,
            error_code=None,
            error=None,
        )
        self._ready_at[job.recipient] = now + self.pair_gap
        if job.reply_wamid:
            self._mark_read(job.reply_wamid)

    def _mark_read(self, wamid: str) -> None:
        """Blue ticks on the answered message; a failure here never fails the send."""
        try:
            self._limiter.wait()
            self.channel.mark_read(wamid)
        except Exception as e:
            log.warning("mark as read failed: %s", type(e).__name__)

    def _on_error(self, job: Job, e: ChannelError, now: datetime) -> None:
        common: dict[str, Any] = {"error_code": e.code, "error": redact(e.title)}
        if e.retry in ("retry", "backoff"):
            self._reschedule(job, e, now, common)
        elif e.retry == "undeliverable":
            self._settle(job, now, status="undeliverable", **common)
        elif e.retry == "window":
            self._settle(job, now, status="failed", error_code=e.code, error=OUTSIDE_WINDOW)
        elif e.retry == "stop":
            self._settle(job, now, status="queued", **common)
            self._pause(e, now)
        else:
            self._settle(job, now, status="failed", **common)

    def _reschedule(self, job: Job, e: ChannelError, now: datetime, common: dict[str, Any]) -> None:
        attempts = job.attempts + 1
        if attempts >= self.max_attempts:
            self._settle(job, now, status="dead_letter", attempts=attempts, **common)
            log.error("message %s dead-lettered after %s attempts", job.message_id, attempts)
            return
        when = now + timedelta(seconds=self.backoff_seconds(attempts, e))
        if e.retry == "backoff":
            self._ready_at[job.recipient] = when
        self._settle(job, now, status="queued", attempts=attempts, next_attempt_at=when, **common)

    def backoff_seconds(self, attempt: int, e: ChannelError) -> float:
        """Exponential backoff with jitter: 4, 8, 16... s (capped), each between 50% and 100%.

        Rate-limit errors wait at least their retry_after (6 s: the pair rate limit).
        """
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        delay = ceiling * (0.5 + self.rng.random() / 2)
        if e.retry == "backoff":
            delay = max(delay, e.retry_after or PAIR_RATE_SECONDS)
        return delay

    def _pause(self, e: ChannelError, now: datetime) -> None:
        if self.paused_reason is not None:
            return
        self.paused_reason = f"({e.code}) {redact(e.title, 200)}"
        log.error("sending paused until restart: %s", self.paused_reason)
        with session_scope(self.engine) as session:
            audit(session, "channel.paused", now, code=e.code, reason=self.paused_reason)

    # ---- helpers ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the dispatcher clock must return timezone-aware datetimes")
        return now

    def _forget_old_recipients(self, now: datetime) -> None:
        if len(self._ready_at) > 10_000:
            self._ready_at = {r: t for r, t in self._ready_at.items() if t > now}


def contact_block(
    kind: str, window_opened_at: datetime | None, debtor: Debtor, now: datetime
) -> str | None:
    """Why WhatsApp's rules forbid sending this now, or None.

    Free-form messages need the 24-hour customer-service window open; templates (the only
    business-initiated kind) need the debtor's recorded opt-in and no opt-out.
    """
    if kind == "template":
        if debtor.opted_out_at is not None:
            return "opted_out"
        if debtor.whatsapp_opt_in_at is None:
            return "no_opt_in"
        return None
    if window_opened_at is None or now - window_opened_at >= WINDOW:
        return OUTSIDE_WINDOW
    return None


def _window_opened_at(conversation: Conversation, inbound: Message | None) -> datetime | None:
    """The debtor's last message: the conversation's, or the one this reply answers if later."""
    times = [t for t in (conversation.last_inbound_at, inbound and inbound.created_at) if t]
    return max(times) if times else None


def _build(message: Message, recipient: str) -> tuple[OutgoingMessage | None, str | None]:
    try:
        return outgoing_for(message, recipient), None
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        return None, f"invalid_message: {e}"


def outgoing_for(message: Message, recipient: str) -> OutgoingMessage:
    """The channel message for a stored outbound Message (ValueError when it cannot be sent)."""
    payload = message.payload or {}
    if message.kind == "template":
        t = payload.get("template") or {}
        return OutgoingMessage(
            to=recipient,
            kind="template",
            body=message.body,
            template_name=str(t.get("name") or ""),
            template_language=str(t.get("language") or "es_MX"),
            template_parameters=tuple(str(p) for p in t.get("parameters") or ()),
        )
    if payload.get("buttons") and len(message.body) <= MAX_BUTTON_BODY:
        buttons = tuple(Button(str(b["id"]), str(b["title"])) for b in payload["buttons"])
        return OutgoingMessage(to=recipient, kind="buttons", body=message.body, buttons=buttons)
    if payload.get("buttons"):  # too long a body for buttons: the text alone still helps
        log.warning("message %s: body too long for buttons, sent as text", message.id)
    if payload.get("list"):
        return _list_message(message, recipient, payload["list"])
    return OutgoingMessage(to=recipient, kind="text", body=message.body)


def _list_message(message: Message, recipient: str, spec: dict[str, Any]) -> OutgoingMessage:
    rows = tuple(
        ListRow(str(r["id"]), str(r["title"]), str(r.get("description") or ""))
        for r in spec.get("rows") or ()
    )
    button = str(spec.get("button") or "Ver opciones")
    return OutgoingMessage(
        to=recipient, kind="list", body=message.body, rows=rows, list_button=button
    )

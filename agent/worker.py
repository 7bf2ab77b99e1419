"""The inbound worker: claims stored debtor messages and answers them, in order per conversation.

The webhook only stores messages (status "received"). A worker claims one with an atomic
compare-and-swap UPDATE (status and attempts as the version, checked through rowcount), so
any number of worker threads or processes may share the database, SQLite or PostgreSQL. A
message is taken only when no earlier message of its conversation is unfinished, so each
conversation is answered one message at a time, in the order the messages were stored.

A claim is a lease: a worker that dies mid-turn leaves the message "processing", and once
`lease_seconds` have passed another worker takes it again. That is safe because a turn's
effects and its reply are written in one transaction, once per inbound message
(`agent.store.record_turn`: an already processed message is a no-op, and the reply is unique
per inbound message through `reply_to_id`).

Kinds: text goes through the graph; a pressed button is read as what it means ("option:2"
as "2"); a reaction is recorded without a reply; anything else (photo, audio, sticker...) gets
one short note per conversation saying that only text can be read for now.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select, update
from sqlmodel import Session

from agent import store
from agent.actions import Action, ReplyFacts
from agent.buttons import button_text
from agent.drafting import address_name, draft_and_guard
from agent.runtime import InvalidMessageError, Negotiator
from agent.store.db import session_scope
from agent.store.models import Direction, Message, Stage
from agent.store.repository import Context, NotFoundError, audit
from policies.formatting import locale_for

log = logging.getLogger("pacta.worker")

UNFINISHED = ("received", "processing")  # an inbound message still to be answered
MAX_ATTEMPTS = 5  # claims of one message before it is marked failed (a poison message)
BUTTON_KINDS = frozenset({"button", "interactive"})
SILENT_KINDS = frozenset({"reaction", "system"})  # recorded, never answered
# A person holds these conversations, or the debtor asked us to stop: no automatic media note.
QUIET_STAGES = frozenset(
    {Stage.handed_off, Stage.disputed, Stage.opted_out, Stage.wrong_party, Stage.settled}
)
PERMANENT_ERRORS: tuple[type[Exception], ...] = (NotFoundError, InvalidMessageError)

_T = Message.__table__  # type: ignore[attr-defined]
_EARLIER = _T.alias("earlier")


@dataclass(frozen=True)
class Claim:
    """A worker's lease on one inbound message; `attempts` is the version it holds."""

    message_id: int
    conversation_id: int
    attempts: int
    now: datetime


class Worker:
    """Answers stored inbound messages; run it in a thread, a process, or several of each."""

    def __init__(
        self,
        negotiator: Negotiator,
        *,
        lease_seconds: float = 120,
        clock: Callable[[], datetime] | None = None,
        give_way: Callable[[], bool] | None = None,
        max_wait_seconds: float = 0.25,
    ) -> None:
        self.negotiator = negotiator
        # In the serving process the worker shares one interpreter lock with the webhook:
        # while webhooks are being stored it waits (a bounded time per turn), so Meta's
        # requests are answered first and replies catch up after the burst.
        self.give_way = give_way
        self.max_wait = max_wait_seconds
        self.engine = negotiator.engine
        self.lease = timedelta(seconds=lease_seconds)
        self.clock = clock or (lambda: datetime.now(UTC))

    # -- loop ---------------------------------------------------------------------------------
    def run_forever(self, stop: threading.Event, poll_seconds: float = 0.05) -> None:
        """Poll until `stop` is set; an error is logged and the loop goes on."""
        log.info("inbound worker started")
        while not stop.is_set():
            try:
                handled = self.run_once(limit=10)  # small passes: `stop` is seen soon
            except Exception as exc:  # the database went away, a lock timed out...
                log.warning("inbound worker pass failed: %s", type(exc).__name__)
                stop.wait(max(poll_seconds, 1.0))
                continue
            if not handled:
                stop.wait(poll_seconds)
        log.info("inbound worker stopped")

    def _wait_for_ingest(self) -> None:
        if self.give_way is None:
            return
        deadline = time.monotonic() + self.max_wait
        while self.give_way() and time.monotonic() < deadline:
            time.sleep(0.002)

    def run_once(self, limit: int = 100) -> int:
        """Handle what is pending now (at most `limit` messages); returns how many."""
        handled = 0
        while handled < limit:
            progressed = 0
            for row in self._candidates(limit - handled):
                self._wait_for_ingest()
                claim = self._claim(row)
                if claim is not None:
                    self._handle(claim)
                    progressed += 1
            if not progressed:
                break
            handled += progressed
        return handled

    # -- claiming -----------------------------------------------------------------------------
    def _candidates(self, limit: int) -> list[Any]:
        """The first unfinished message of each conversation, when it may be taken now."""
        now = self.clock()
        heads = (
            select(func.min(_T.c.id))
            .where(_T.c.direction == Direction.inbound.value, _T.c.status.in_(UNFINISHED))
            .group_by(_T.c.conversation_id)
        )
        ready = or_(
            and_(
                _T.c.status == "received",
                or_(_T.c.next_attempt_at.is_(None), _T.c.next_attempt_at <= now),
            ),
            and_(_T.c.status == "processing", _T.c.claimed_at <= now - self.lease),
        )
        query = (
            select(_T.c.id, _T.c.conversation_id, _T.c.status, _T.c.attempts)
            .where(_T.c.id.in_(heads), ready)
            .order_by(_T.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def _claim(self, row: Any) -> Claim | None:
        """Take the message if nobody else did meanwhile (compare-and-swap on status+attempts)."""
        now = self.clock()
        earlier_unfinished = exists().where(
            _EARLIER.c.conversation_id == row.conversation_id,
            _EARLIER.c.direction == Direction.inbound.value,
            _EARLIER.c.id < row.id,
            _EARLIER.c.status.in_(UNFINISHED),
        )
        stmt = (
            update(_T)
            .where(
                _T.c.id == row.id,
                _T.c.status == row.status,
                _T.c.attempts == row.attempts,
                ~earlier_unfinished,
            )
            .values(status="processing", claimed_at=now, attempts=row.attempts + 1)
        )
        with self.engine.begin() as conn:
            if conn.execute(stmt).rowcount != 1:
                return None
        return Claim(row.id, row.conversation_id, row.attempts + 1, now)

    # -- handling -----------------------------------------------------------------------------
    def _handle(self, claim: Claim) -> None:
        if claim.attempts > MAX_ATTEMPTS:
            self._fail(claim, RuntimeError("too many attempts"), permanent=True)
            return
        try:
            self._dispatch(claim)
        except PERMANENT_ERRORS as exc:
            self._fail(claim, exc, permanent=True)
        except Exception as exc:
            self._fail(claim, exc, permanent=False)

    def _dispatch(self, claim: Claim) -> None:
        with session_scope(self.engine) as session:
            message = session.get(Message, claim.message_id)
            if message is None:
                raise NotFoundError(f"message {claim.message_id} does not exist")
            kind, body, payload = message.kind or "text", message.body or "", message.payload
        if kind == "text":
            self._converse(claim, body)
        elif kind in BUTTON_KINDS:
            self._converse(claim, pressed_text(payload or {}, body))
        elif kind in SILENT_KINDS:
            self._finish(claim)
        else:
            self._media(claim, kind)

    def _converse(self, claim: Claim, text: str) -> None:
        """One graph turn; the respond node marks the message processed with its reply."""
        if not text.strip():
            self._finish(claim)  # nothing to read, nothing to answer
            return
        self.negotiator.process(claim.conversation_id, claim.message_id, text, claim.now)

    def _media(self, claim: Claim, kind: str) -> None:
        """Mark the message processed; the first one of a conversation also queues a note."""
        with session_scope(self.engine) as session:
            inbound = session.get(Message, claim.message_id)
            if inbound is None or not _still_ours(inbound, claim):
                return  # another worker took it after our lease ran out
            ctx = store.load_context(session, claim.conversation_id)
            conversation = ctx.conversation
            if not conversation.media_notice_sent and conversation.stage not in QUIET_STAGES:
                _queue_media_note(session, ctx, inbound, claim.now, kind)
            inbound.status = "processed"
            session.add(inbound)

    def _finish(self, claim: Claim) -> None:
        self._release(claim, status="processed", error=None, next_attempt_at=None)

    def _fail(self, claim: Claim, exc: Exception, *, permanent: bool) -> None:
        give_up = permanent or claim.attempts >= MAX_ATTEMPTS
        log.warning(
            "inbound message %s (conversation %s) attempt %s failed: %s%s",
            claim.message_id,
            claim.conversation_id,
            claim.attempts,
            type(exc).__name__,
            "; giving up" if give_up else "; will retry",
        )
        retry_at = None if give_up else self.clock() + _backoff(claim.attempts)
        try:
            self._release(
                claim,
                status="failed" if give_up else "received",
                error=f"{type(exc).__name__}: {exc}"[:500],
                next_attempt_at=retry_at,
            )
        except Exception as db_exc:  # the lease runs out and the message is retried anyway
            log.warning("could not record the failure: %s", type(db_exc).__name__)

    def _release(
        self, claim: Claim, *, status: str, error: str | None, next_attempt_at: datetime | None
    ) -> None:
        """End our lease, unless another worker took the message over meanwhile."""
        stmt = (
            update(_T)
            .where(
                _T.c.id == claim.message_id,
                _T.c.status == "processing",
                _T.c.attempts == claim.attempts,
            )
            .values(status=status, error=error, next_attempt_at=next_attempt_at, claimed_at=None)
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)


def pressed_text(payload: dict[str, Any], body: str) -> str:
    """What a button press says, as if typed: "option:2" -> "2", "confirm:yes" -> "sí"."""
    button_id = payload.get("button_id") or payload.get("id") or payload.get("payload")
    if not isinstance(button_id, str) or not button_id:
        return body
    return button_text(button_id, body)


def _queue_media_note(
    session: Session, ctx: Context, inbound: Message, now: datetime, kind: str
) -> None:
    conversation = ctx.conversation
    session.add(_media_note(ctx, inbound, now))
    conversation.media_notice_sent = True
    conversation.updated_at = now
    session.add(conversation)
    audit(session, "inbound.media_not_supported", now, conversation, media_kind=kind)


def _media_note(ctx: Context, inbound: Message, now: datetime) -> Message:
    """The "only text for now" reply, drafted and guarded like every other reply."""
    account = ctx.account
    facts = ReplyFacts(
        debtor_first_name=address_name(ctx.debtor.name, account.segment),
        creditor=account.creditor,
        locale=locale_for(account.jurisdiction),
        currency=account.currency,
        today=now.astimezone(ZoneInfo(account.timezone)).date(),
    )
    seed = f"{ctx.conversation.id}:{inbound.id}"
    text, verdict, fallback = draft_and_guard(Action.media_not_supported, facts, seed)
    return Message(
        conversation_id=ctx.conversation.id or 0,
        direction=Direction.outbound,
        kind="text",
        body=text,
        reply_to_id=inbound.id,
        action=Action.media_not_supported.value,
        status="queued",
        guard_outcome="fallback" if fallback else verdict.outcome,
        created_at=now,
    )


def _still_ours(message: Message, claim: Claim) -> bool:
    return message.status == "processing" and message.attempts == claim.attempts


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300, 2**attempts))

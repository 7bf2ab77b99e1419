"""The WhatsApp webhook: Meta's verification handshake and signed event batches.

A POST is verified on its raw body, parsed leniently, and every message and status in it is
stored in one transaction before the 200 goes back. Nothing else happens inside the request
(no model, no send): the worker and the dispatcher pick the stored rows up.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from agent.config import Settings
from agent.store.db import engine_for, session_scope
from agent.store.inbox import IngestReport, ingest
from api.app import get_app_settings
from api.security import log_safe_phone
from api.whatsapp import signature
from api.whatsapp.payloads import WebhookBatch, WebhookFormatError, parse_webhook

PATH = "/webhooks/whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"

log = logging.getLogger("pacta.webhook")
router = APIRouter(tags=["whatsapp"])


class IngestQueue:
    """One thread stores every webhook of this process; those that queue up share a commit.

    Concurrent posts wait their turn here instead of busy-waiting against each other on
    SQLite's single write lock, and under load several webhooks are stored in one transaction
    (group commit), which keeps the cost per message low exactly when it matters. Ordering and
    uniqueness do not depend on it: `ingest` locks the debtor row and inserts once per wamid,
    so several processes (or PostgreSQL) stay correct.
    """

    MAX_GROUP = 32

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_IngestJob] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    async def store(
        self, raw: bytes, header: str | None, settings: Settings, engine: Engine
    ) -> dict[str, Any]:
        """Queue one webhook and wait, without blocking the event loop, for its report."""
        loop = asyncio.get_running_loop()
        job = _IngestJob(raw, header, settings, engine, Future(), loop.create_future())
        self._jobs.put(job)
        self._start()
        await job.waiter  # type: ignore[misc]
        return job.future.result()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="webhook-ingest", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            group = [self._jobs.get()]
            while len(group) < self.MAX_GROUP:
                try:
                    group.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            try:
                self._store_group(group)
            except BaseException as e:  # never leave a request waiting forever
                for job in group:
                    if not job.future.done():
                        job.future.set_exception(e)
            self._wake(group)

    @staticmethod
    def _wake(group: list[_IngestJob]) -> None:
        """Wake the waiting requests with one call into each event loop, not one per job.

        Every call into a loop from this thread is a GIL hand-over; one per job made the
        thread wait on the loop's thread 32 times per group when the server was busiest.
        """
        by_loop: dict[int, list[_IngestJob]] = {}
        for job in group:
            if job.waiter is not None:
                by_loop.setdefault(id(job.waiter.get_loop()), []).append(job)
        for jobs in by_loop.values():
            jobs[0].waiter.get_loop().call_soon_threadsafe(_release, jobs)  # type: ignore[union-attr]

    def _store_group(self, group: list[_IngestJob]) -> None:
        parsed: list[tuple[_IngestJob, WebhookBatch]] = []
        for job in group:
            try:
                check_signature(job.raw, job.header, job.settings)
                parsed.append((job, _parse(job.raw)))
            except WebhookError as e:
                job.future.set_exception(e)
        by_engine: dict[int, list[tuple[_IngestJob, WebhookBatch]]] = {}
        for item in parsed:
            by_engine.setdefault(id(item[0].engine), []).append(item)
        for items in by_engine.values():
            try:
                reports = store_batches(items[0][0].engine, [b for _, b in items])
            except WebhookError:
                if len(items) == 1:
                    items[0][0].future.set_exception(WebhookError(503, STORE_FAILED))
                    continue
                # One bad batch must not fail the others: store them one by one.
                for item in items:
                    self._store_alone(item)
                continue
            for (job, batch), report in zip(items, reports, strict=True):
                _log_batch(batch, report)
                job.future.set_result(report.as_dict())

    def _store_alone(self, item: tuple[_IngestJob, WebhookBatch]) -> None:
        job, batch = item
        try:
            [report] = store_batches(job.engine, [batch])
        except WebhookError as e:
            job.future.set_exception(e)
            return
        _log_batch(batch, report)
        job.future.set_result(report.as_dict())


@dataclass
class _IngestJob:
    raw: bytes
    header: str | None
    settings: Settings
    engine: Engine
    future: Future[dict[str, Any]]  # the outcome, set by the ingest thread
    waiter: asyncio.Future[None] | None = None  # the request's, settled in its own loop


def _release(jobs: list[_IngestJob]) -> None:
    for job in jobs:
        if job.waiter is not None and not job.waiter.done():  # a cancelled request is gone
            job.waiter.set_result(None)


STORE_FAILED = "the inbox could not store the events; retry later"
ingest_queue = IngestQueue()


class IngestLoad:
    """Whether webhooks are being stored right now (or were a moment ago) in this process."""

    QUIET_SECONDS = 0.02  # a closed-loop sender's next request arrives within this

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._last_done = 0.0

    def __enter__(self) -> None:
        with self._lock:
            self._in_flight += 1

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._in_flight -= 1
            self._last_done = time.monotonic()

    def busy(self) -> bool:
        return self._in_flight > 0 or time.monotonic() - self._last_done < self.QUIET_SECONDS


ingest_load = IngestLoad()


class WebhookError(Exception):
    """A webhook POST refused as a whole, with the HTTP status and a reason to show."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


@router.get(PATH, response_class=PlainTextResponse)
def verify_subscription(
    settings: Annotated[Settings, Depends(get_app_settings)],
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> PlainTextResponse:
    """Meta's handshake: the raw challenge back when the verify token matches, else 403."""
    if mode == "subscribe" and _token_matches(token, settings):
        return PlainTextResponse(challenge or "")
    log.warning("webhook verification refused (mode=%s)", mode if mode == "subscribe" else "?")
    return PlainTextResponse("Forbidden", status_code=403)


@router.post(PATH)
async def receive_events(request: Request) -> Response:
    """Store a batch of WhatsApp events; 200 with counts once everything valid is stored."""
    settings: Settings = get_app_settings(request)
    raw = await request.body()
    header = request.headers.get(SIGNATURE_HEADER)
    engine = engine_for(settings.database_url)
    try:
        with ingest_load:
            counts = await ingest_queue.store(raw, header, settings, engine)
    except WebhookError as e:
        return JSONResponse({"detail": e.reason}, status_code=e.status_code)
    return JSONResponse(counts)


def ingest_webhook(
    raw: bytes,
    signature_header: str | None,
    settings: Settings,
    engine: Engine,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The request-independent webhook path, shared with the sandbox: verify, parse, store."""
    check_signature(raw, signature_header, settings)
    batch = _parse(raw)
    [report] = store_batches(engine, [batch], now)
    _log_batch(batch, report)
    return report.as_dict()


def store_batches(
    engine: Engine, batches: list[WebhookBatch], now: datetime | None = None
) -> list[IngestReport]:
    """Store parsed batches in one transaction; WebhookError(503) when it cannot commit."""
    now = now or datetime.now(UTC)
    try:
        with session_scope(engine) as session:
            return [ingest(session, batch, now) for batch in batches]
    except SQLAlchemyError as e:
        log.error("webhook not stored (%s): WhatsApp will retry", type(e).__name__)
        raise WebhookError(503, STORE_FAILED) from e


def check_signature(raw: bytes, header: str | None, settings: Settings) -> None:
    """Raise WebhookError(401) unless the body is signed with the app secret.

    Without an app secret nothing can be verified: that is accepted in sandbox mode only, so a
    Cloud API deployment missing its secret refuses every post instead of trusting anyone.
    """
    secret = settings.whatsapp_app_secret
    if secret is None or not secret.get_secret_value():
        if settings.channel == "sandbox":
            return
        raise WebhookError(
            401, "webhook signatures cannot be checked: PACTA_WHATSAPP_APP_SECRET is not set"
        )
    if not header:
        raise WebhookError(401, f"missing {SIGNATURE_HEADER} header")
    if not signature.verify(raw, header, secret.get_secret_value()):
        raise WebhookError(401, f"{SIGNATURE_HEADER} does not match the body")


def _parse(raw: bytes) -> WebhookBatch:
    if not raw.strip():
        raise WebhookError(400, "empty body: expected a JSON webhook payload")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise WebhookError(400, "malformed JSON: the body is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        reason = f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}"
        raise WebhookError(400, reason) from None
    try:
        return parse_webhook(data)
    except WebhookFormatError as e:
        raise WebhookError(400, f"not a WhatsApp webhook: {e}") from None


def _token_matches(token: str | None, settings: Settings) -> bool:
    expected = settings.whatsapp_verify_token
    if token is None or expected is None or not expected.get_secret_value():
        return False
    return hmac.compare_digest(token.encode("utf-8"), expected.get_secret_value().encode("utf-8"))


def _log_batch(batch: WebhookBatch, report: IngestReport) -> None:
    senders = sorted({log_safe_phone(m.phone or m.user_id) for m in batch.messages})
    log.info(
        "webhook: stored=%d duplicates=%d statuses=%d unmatched=%d errors=%d senders=%s",
        report.stored,
        report.duplicates,
        report.statuses,
        report.unmatched,
        len(report.errors),
        ",".join(senders) or "-",
    )
    for reason in report.errors:
        log.warning("webhook element skipped: %s", reason)
    for error in batch.meta_errors:
        log.warning("WhatsApp reported error %s: %s", error.code, error.title)

"""The WhatsApp webhook through the real app: handshake, signatures, batches, inbox, statuses."""

import copy
import json
import logging
import statistics
import time
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, select

from agent.config import Settings
from agent.portfolio import seed_demo
from agent.store.db import engine_for, session_scope, upgrade
from agent.store.models import (
    Account,
    AuditEvent,
    Conversation,
    Debtor,
    Direction,
    Message,
    MessageStatusEvent,
    UnmatchedInbound,
)
from agent.store.repository import open_conversation
from api.routers.webhook import WebhookError
from api.whatsapp.signature import sign

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures" / "whatsapp"
SECRET = "s3cret"
URL = "/webhooks/whatsapp"
LUCIA_WA_ID = "5215512345678"  # WhatsApp keeps Mexico's mobile "1"; stored as +525512345678
OUTBOUND_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA"
FAILED_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA"
TODAY = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)


def make_app(settings: Settings) -> FastAPI:
    from api.app import create_app

    return create_app(settings)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "llm": "offline",
        "background": False,
        "whatsapp_app_secret": SECRET,
        "whatsapp_verify_token": "tok",
    }
    values.update(overrides)
    settings = Settings(**values)
    upgrade(settings.database_url)
    return settings


@pytest.fixture
def wa_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def db(wa_settings: Settings) -> Engine:
    engine = engine_for(wa_settings.database_url)
    with session_scope(engine) as session:
        seed_demo(session, TODAY.date())
    return engine


@pytest.fixture
def client(wa_settings: Settings, db: Engine) -> TestClient:
    return TestClient(make_app(wa_settings))


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def from_sender(data: dict[str, Any], wa_id: str, user_id: str | None = None) -> dict[str, Any]:
    """A copy of a one-message fixture sent by another WhatsApp user."""
    data = copy.deepcopy(data)
    value = data["entry"][0]["changes"][0]["value"]
    value["contacts"] = [{"profile": {"name": "Lucía"}, "wa_id": wa_id}]
    if user_id:
        value["contacts"][0]["user_id"] = user_id
    for message in value["messages"]:
        message["from"] = wa_id
    return data


def text_from(wa_id: str, body: str, wamid: str, timestamp: int = 1773161000) -> dict[str, Any]:
    data = from_sender(fixture("text_2026"), wa_id)
    message = data["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(id=wamid, timestamp=str(timestamp), text={"body": body})
    return data


def post(client: TestClient, data: Any, secret: str | None = SECRET, **headers: str):  # type: ignore[no-untyped-def]
    raw = json.dumps(data).encode() if not isinstance(data, bytes) else data
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(raw, secret)
    headers.setdefault("Content-Type", "application/json")
    return client.post(URL, content=raw, headers=headers)


def inbound(engine: Engine) -> list[Message]:
    with Session(engine) as session:
        query = select(Message).where(Message.direction == Direction.inbound)
        return list(session.exec(query.order_by(Message.id)).all())


def lucia(session: Session) -> Debtor:
    return session.exec(select(Debtor).where(Debtor.phone == "+525512345678")).one()


# --- handshake ---------------------------------------------------------------------------------


def test_handshake_returns_the_raw_challenge(client):
    response = client.get(
        URL,
        params={"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444"},
    )
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "tok", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {},
    ],
)
def test_handshake_with_a_wrong_token_or_mode_is_forbidden(client, params):
    response = client.get(URL, params=params)
    assert response.status_code == 403
    assert "1" not in response.text


def test_handshake_without_a_configured_verify_token_is_forbidden(tmp_path):
    settings = make_settings(tmp_path, whatsapp_verify_token=None)
    response = TestClient(make_app(settings)).get(
        URL, params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    )
    assert response.status_code == 403


# --- signatures --------------------------------------------------------------------------------


def test_a_signed_post_is_accepted(client):
    response = post(client, fixture("status_read"))
    assert response.status_code == 200
    assert response.json() == {
        "stored": 0,
        "duplicates": 0,
        "statuses": 1,
        "unmatched": 0,
        "errors": [],
    }


def test_a_wrong_signature_is_refused_and_nothing_is_stored(client, db):
    response = post(client, text_from(LUCIA_WA_ID, "hola", "wamid.FORGED"), secret="not-it")
    assert response.status_code == 401
    assert "does not match" in response.json()["detail"]
    assert inbound(db) == []


def test_a_missing_signature_is_refused(client, db):
    response = post(client, text_from(LUCIA_WA_ID, "hola", "wamid.UNSIGNED"), secret=None)
    assert response.status_code == 401
    assert response.json()["detail"] == "missing X-Hub-Signature-256 header"
    assert inbound(db) == []


def test_a_body_changed_after_signing_is_refused(client):
    raw = json.dumps(text_from(LUCIA_WA_ID, "pago 100", "wamid.TAMPER")).encode()
    header = sign(raw, SECRET)
    tampered = raw.replace(b"pago 100", b"pago 900")
    response = client.post(URL, content=tampered, headers={"X-Hub-Signature-256": header})
    assert response.status_code == 401


def test_unsigned_posts_are_accepted_in_sandbox_mode_without_a_secret(tmp_path):
    settings = make_settings(tmp_path, whatsapp_app_secret=None)
    assert settings.channel == "sandbox"
    response = post(TestClient(make_app(settings)), fixture("status_read"), secret=None)
    assert response.status_code == 200
    assert response.json()["statuses"] == 1


def test_a_cloud_deployment_without_a_secret_refuses_every_post(tmp_path):
    settings = make_settings(
        tmp_path,
        whatsapp_app_secret=None,
        whatsapp_token=SecretStr("EAAG-token"),
        whatsapp_phone_number_id="106540352242922",
    )
    assert settings.channel == "cloud"
    response = post(TestClient(make_app(settings)), fixture("status_read"), secret=None)
    assert response.status_code == 401
    assert "PACTA_WHATSAPP_APP_SECRET" in response.json()["detail"]


# --- malformed bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"object": "whatsapp_business_account", "entry": [', "malformed JSON: Expecting value"),
        (b"", "empty body"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "not a WhatsApp webhook: expected a JSON object, got a list"),
        (b'{"object": "page", "entry": []}', "not a WhatsApp webhook"),
    ],
)
def test_a_body_that_is_not_a_webhook_gets_400_with_a_reason(client, raw, reason):
    response = post(client, raw)
    assert response.status_code == 400
    assert reason in response.json()["detail"]


# --- inbound messages --------------------------------------------------------------------------


def test_a_text_from_a_demo_debtor_lands_in_her_conversation(client, db):
    response = post(client, text_from(LUCIA_WA_ID, "Hola, ¿cuánto debo?", "wamid.LUCIA.1"))
    assert response.json()["stored"] == 1

    (message,) = inbound(db)
    assert message.status == "received"
    assert message.kind == "text"
    assert message.body == "Hola, ¿cuánto debo?"
    assert message.wamid == "wamid.LUCIA.1"
    with Session(db) as session:
        conversation = session.get(Conversation, message.conversation_id)
        account = session.get(Account, conversation.account_id)
        debtor = lucia(session)
        assert account.reference == "AUR-MX-0001" and account.debtor_id == debtor.id
        assert conversation.last_inbound_at == datetime.fromtimestamp(1773161000, UTC)
        assert debtor.whatsapp_opt_in_at == datetime.fromtimestamp(1773161000, UTC)
        kinds = session.exec(select(AuditEvent.kind)).all()
        assert "contact.whatsapp_opt_in" in kinds


def test_a_replayed_wamid_is_stored_once(client, db):
    data = text_from(LUCIA_WA_ID, "Hola", "wamid.REPLAY.1")
    first = post(client, data).json()
    second = post(client, data).json()
    assert (first["stored"], first["duplicates"]) == (1, 0)
    assert (second["stored"], second["duplicates"]) == (0, 1)
    assert [m.wamid for m in inbound(db)] == ["wamid.REPLAY.1"]


def test_a_malformed_element_does_not_sink_the_valid_ones(client, db):
    response = post(client, fixture("batch_with_malformed"))
    assert response.status_code == 200
    body = response.json()
    assert (body["stored"], body["unmatched"], body["statuses"]) == (2, 1, 1)
    assert body["errors"] == [
        "entry[0].changes[0].value.messages[1]: id: Field required",
        "entry[0].changes[0].value.messages[3]: expected an object, got a string",
    ]
    assert sorted(m.wamid for m in inbound(db)) == ["wamid.BATCH.0002", "wamid.BATCH.0003"]
    with Session(db) as session:
        carlos = session.exec(select(Debtor).where(Debtor.phone == "+573001234567")).one()
        assert carlos.wa_user_id == "CO.55501234567890"  # learnt from the contact


def test_an_unknown_sender_is_kept_as_unmatched(client, db):
    response = post(client, fixture("text_2026"))
    assert response.json()["unmatched"] == 1
    assert inbound(db) == []
    with Session(db) as session:
        (row,) = session.exec(select(UnmatchedInbound)).all()
    assert row.sender == "+16505551234"
    assert row.wamid == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    assert row.payload["user_id"] == "US.13491208655302741918"
    assert post(client, fixture("text_2026")).json()["duplicates"] == 1


def test_a_username_user_is_found_by_the_user_id_learnt_earlier(client, db):
    user_id = "MX.99887766554433221100"
    post(client, from_sender(fixture("text_2026"), LUCIA_WA_ID, user_id))
    data = fixture("text_user_id_only")
    value = data["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["user_id"] = user_id
    value["messages"][0]["from_user_id"] = user_id
    assert post(client, data).json()["stored"] == 1
    messages = inbound(db)
    assert len(messages) == 2
    assert messages[0].conversation_id == messages[1].conversation_id


def test_a_button_reply_keeps_the_button_id(client, db):
    post(client, from_sender(fixture("interactive_button_reply"), LUCIA_WA_ID))
    (message,) = inbound(db)
    assert message.kind == "interactive"
    assert message.body == "3 installments"
    assert message.payload["button_id"] == "plan_3x"
    assert message.payload["context_wamid"].startswith("wamid.")


def test_an_image_is_stored_with_a_placeholder_body_and_its_media(client, db):
    post(client, from_sender(fixture("image"), LUCIA_WA_ID))
    (message,) = inbound(db)
    assert (message.kind, message.body, message.status) == ("image", "[image]", "received")
    assert message.payload["media"]["caption"] == "comprobante de pago"
    assert message.payload["media"]["id"] == "1479537139650973"


def test_a_debtor_with_two_accounts_writes_into_the_latest_active_conversation(client, db):
    with session_scope(db) as session:
        debtor = lucia(session)
        second = Account(
            debtor_id=debtor.id,
            reference="AUR-MX-0009",
            creditor="Aurora",
            currency="MXN",
            principal=1000,
            due_date=TODAY.date(),
        )
        session.add(second)
        session.flush()
        first_account = session.exec(
            select(Account).where(Account.reference == "AUR-MX-0001")
        ).one()
        older = open_conversation(session, first_account.id, TODAY)
        newer = open_conversation(session, second.id, TODAY)
        older.updated_at = datetime(2026, 3, 9, tzinfo=UTC)
        newer.updated_at = datetime(2026, 3, 8, tzinfo=UTC)
        older_id = older.id
    post(client, text_from(LUCIA_WA_ID, "hola", "wamid.TWO.1"))
    (message,) = inbound(db)
    assert message.conversation_id == older_id


# --- statuses ----------------------------------------------------------------------------------


def outbound(engine: Engine, wamid: str, status: str = "sent") -> int:
    with session_scope(engine) as session:
        account = session.exec(select(Account).where(Account.reference == "AUR-MX-0001")).one()
        conversation = open_conversation(session, account.id, TODAY)
        message = Message(
            conversation_id=conversation.id,
            direction=Direction.outbound,
            body="Hola Lucía",
            wamid=wamid,
            status=status,
            created_at=TODAY,
        )
        session.add(message)
        session.flush()
        return message.id


def test_statuses_out_of_order_never_move_a_message_back(client, db):
    message_id = outbound(db, OUTBOUND_WAMID)
    assert post(client, fixture("status_delivered")).json()["statuses"] == 1
    assert post(client, fixture("status_sent")).json()["statuses"] == 1
    with Session(db) as session:
        assert session.get(Message, message_id).status == "delivered"
        events = session.exec(select(MessageStatusEvent.status)).all()
    assert sorted(events) == ["delivered", "sent"]
    post(client, fixture("status_read"))
    with Session(db) as session:
        assert session.get(Message, message_id).status == "read"


def test_a_replayed_status_changes_nothing(client, db):
    outbound(db, OUTBOUND_WAMID)
    post(client, fixture("status_delivered"))
    replay = post(client, fixture("status_delivered")).json()
    assert (replay["statuses"], replay["duplicates"]) == (0, 1)
    with Session(db) as session:
        assert len(session.exec(select(MessageStatusEvent)).all()) == 1


def test_a_failed_status_stores_the_error(client, db):
    message_id = outbound(db, FAILED_WAMID)
    post(client, fixture("status_failed"))
    with Session(db) as session:
        message = session.get(Message, message_id)
        (event,) = session.exec(select(MessageStatusEvent)).all()
    assert message.status == "failed"
    assert message.error_code == 131049
    assert "healthy ecosystem engagement" in message.error
    assert (event.status, event.error_code) == ("failed", 131049)


def test_a_status_for_an_unknown_message_is_kept(client, db):
    assert post(client, fixture("status_read")).json()["statuses"] == 1
    with Session(db) as session:
        (event,) = session.exec(select(MessageStatusEvent)).all()
    assert event.wamid == OUTBOUND_WAMID


def test_value_level_errors_are_acknowledged(client):
    response = post(client, fixture("value_errors"))
    assert response.status_code == 200
    assert response.json()["errors"] == []


# --- the shared path and speed -----------------------------------------------------------------


def test_ingest_webhook_is_the_same_path_without_a_request(wa_settings, db):
    from api.routers.webhook import WebhookError, ingest_webhook

    raw = json.dumps(text_from(LUCIA_WA_ID, "hola", "wamid.CORE.1")).encode()
    counts = ingest_webhook(raw, sign(raw, SECRET), wa_settings, db, now=TODAY)
    assert counts["stored"] == 1
    with pytest.raises(WebhookError) as refused:
        ingest_webhook(raw, "sha256=00", wa_settings, db)
    assert refused.value.status_code == 401
    with pytest.raises(WebhookError) as malformed:
        ingest_webhook(b"{", sign(b"{", SECRET), wa_settings, db)
    assert malformed.value.status_code == 400


def test_median_latency_of_a_single_message_post(client, db):
    bodies = [
        json.dumps(text_from(LUCIA_WA_ID, "hola", f"wamid.BENCH.{i}")).encode() for i in range(200)
    ]
    timings = []
    for raw in bodies:
        headers = {"X-Hub-Signature-256": sign(raw, SECRET), "Content-Type": "application/json"}
        start = time.perf_counter()
        response = client.post(URL, content=raw, headers=headers)
        timings.append(time.perf_counter() - start)
        assert response.json()["stored"] == 1
    median_ms = statistics.median(timings) * 1000
    print(f"webhook POST median over 200: {median_ms:.1f} ms")
    assert median_ms < 250
    assert len(inbound(db)) == 200


def post_concurrently(settings: Settings, engine: Engine, bodies: list[bytes]) -> list[dict]:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from api.routers.webhook import ingest_webhook

    barrier = Barrier(len(bodies))

    def deliver(raw: bytes) -> dict:
        barrier.wait()
        return ingest_webhook(raw, sign(raw, SECRET), settings, engine)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(deliver, bodies))


def test_the_same_message_delivered_concurrently_is_stored_once(wa_settings, db):
    raw = json.dumps(text_from(LUCIA_WA_ID, "hola", "wamid.RACE.1")).encode()
    results = post_concurrently(wa_settings, db, [raw] * 6)
    assert sorted(r["stored"] for r in results) == [0, 0, 0, 0, 0, 1]
    assert sum(r["duplicates"] for r in results) == 5
    with Session(db) as session:
        assert len(session.exec(select(Conversation)).all()) == 1
    assert len(inbound(db)) == 1


def test_first_messages_delivered_concurrently_share_one_conversation(wa_settings, db):
    bodies = [
        json.dumps(text_from(LUCIA_WA_ID, f"mensaje {i}", f"wamid.FIRST.{i}")).encode()
        for i in range(6)
    ]
    results = post_concurrently(wa_settings, db, bodies)
    assert sum(r["stored"] for r in results) == 6
    with Session(db) as session:
        assert len(session.exec(select(Conversation)).all()) == 1


def test_logs_carry_counts_and_masked_phones_never_bodies(client, caplog):
    caplog.set_level(logging.INFO, logger="pacta.webhook")
    post(client, text_from(LUCIA_WA_ID, "mi clave es 4821", "wamid.LOG.1"))
    logged = caplog.text
    assert "stored=1" in logged
    assert "*********5678" in logged
    assert "mi clave" not in logged
    assert LUCIA_WA_ID not in logged


# --- group commit --------------------------------------------------------------------------------


def test_queued_webhooks_share_one_commit_and_keep_their_own_answers(wa_settings, db):
    from api.routers.webhook import IngestQueue, _IngestJob

    def job(data: Any, secret: str = SECRET) -> _IngestJob:
        raw = json.dumps(data).encode()
        return _IngestJob(raw, sign(raw, secret), wa_settings, db, Future())

    jobs = [
        job(text_from("5215512345678", "hola", "wamid.G1")),
        job(text_from("5215512345678", "hola", "wamid.G2"), secret="wrong"),
        job(text_from("5215512345678", "otra vez", "wamid.G3")),
        job(text_from("5215512345678", "hola", "wamid.G1")),  # a replay inside the group
    ]
    IngestQueue()._store_group(jobs)

    assert jobs[0].future.result()["stored"] == 1
    with pytest.raises(WebhookError) as refused:
        jobs[1].future.result()
    assert refused.value.status_code == 401
    assert jobs[2].future.result()["stored"] == 1
    assert jobs[3].future.result() == jobs[3].future.result() | {"stored": 0, "duplicates": 1}
    assert [m.wamid for m in inbound(db)] == ["wamid.G1", "wamid.G3"]


def test_a_group_that_cannot_commit_is_retried_one_by_one(wa_settings, db, monkeypatch):
    from api.routers import webhook

    calls: list[int] = []
    real = webhook.store_batches

    def flaky(engine, batches, now=None):  # type: ignore[no-untyped-def]
        calls.append(len(batches))
        if len(batches) > 1:
            raise WebhookError(503, webhook.STORE_FAILED)
        return real(engine, batches, now)

    monkeypatch.setattr(webhook, "store_batches", flaky)
    raws = [json.dumps(text_from("5215512345678", "hola", f"wamid.R{i}")).encode() for i in (1, 2)]
    jobs = [webhook._IngestJob(r, sign(r, SECRET), wa_settings, db, Future()) for r in raws]
    webhook.IngestQueue()._store_group(jobs)
    assert calls == [2, 1, 1]
    assert [j.future.result()["stored"] for j in jobs] == [1, 1]

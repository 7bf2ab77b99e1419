"""Human takeover over HTTP: a person takes a conversation, writes to the debtor, hands back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlmodel import select

from agent.runtime import open_negotiator
from agent.store.db import session_scope
from agent.store.models import AuditEvent, Conversation, Message

pytestmark = pytest.mark.integration

SUPERVISOR = {"Authorization": "Bearer sup-key-123456"}
QA = {"Authorization": "Bearer qa-key-1234567"}
THREAT = "Si no paga hoy lo vamos a demandar y embargar su casa."


def rows(engine, model, **where):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return list(session.exec(query))


@pytest.fixture
def app_settings(settings):  # type: ignore[no-untyped-def]
    keys = "sup-key-123456:supervisor,qa-key-1234567:qa"
    return settings.model_copy(update={"api_keys": SecretStr(keys), "background": False})


@pytest.fixture
def client(app_settings, engine):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(app_settings)) as c:
        yield c


@pytest.fixture
def verified(app_settings, engine, demo_accounts, now) -> int:  # type: ignore[no-untyped-def]
    """Lucía's conversation, identity verified and the debt told: stage `informed`."""
    with open_negotiator(app_settings) as n:
        conv = n.open_conversation(demo_accounts["AUR-MX-0001"], now)
        n.receive(conv, "Hola buenas tardes", now=now)
        result = n.receive(conv, "4821", now=now + timedelta(minutes=1))
    assert result.action == "inform" and result.stage == "informed"
    return conv


def stage_of(engine, conv: int) -> tuple[str, str | None]:  # type: ignore[no-untyped-def]
    [c] = rows(engine, Conversation, id=conv)
    return str(c.stage), c.handoff_reason


def test_takeover_silences_the_agent_until_hand_back(client, app_settings, engine, verified, now):  # type: ignore[no-untyped-def]
    conv = verified
    taken = client.post(
        f"/v1/conversations/{conv}/takeover", json={"note": "caso delicado"}, headers=SUPERVISOR
    )
    assert taken.status_code == 200, taken.text
    assert taken.json() == {
        "conversation_id": conv,
        "stage": "handed_off",
        "handoff_reason": "supervisor",
    }
    assert stage_of(engine, conv) == ("handed_off", "supervisor")
    [event] = rows(engine, AuditEvent, conversation_id=conv, kind="conversation.taken_over")
    assert event.data["previous_stage"] == "informed" and event.data["note"] == "caso delicado"
    assert event.data["by"].startswith("supervisor:") and "sup-key" not in event.data["by"]

    # The debtor writes while a person holds the conversation: stored, understood, no reply.
    with open_negotiator(app_settings) as n:
        quiet = n.receive(conv, "¿me pueden dar un descuento?", now=now + timedelta(minutes=5))
        human = n.receive(conv, "quiero hablar con un asesor", now=now + timedelta(minutes=6))
    assert quiet.reply == "" and quiet.action == ""
    assert human.reply == "" and human.action == ""  # a person already holds it: no bot reply
    [inbound] = [m for m in rows(engine, Message, id=quiet.inbound_id)]
    assert inbound.status == "processed" and inbound.intent
    assert rows(engine, Message, reply_to_id=quiet.inbound_id) == []
    assert stage_of(engine, conv) == ("handed_off", "supervisor")

    # The person answers.
    sent = client.post(
        f"/v1/conversations/{conv}/reply",
        json={"text": "Hola Lucía, soy Ana del equipo de cobranza. Con gusto le ayudo."},
        headers=SUPERVISOR,
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["warnings"] == [] and sent.json()["guard_outcome"] == "pass"
    [queued] = rows(engine, Message, id=sent.json()["message_id"])
    assert queued.direction == "outbound" and queued.status == "queued"
    assert queued.action == "supervisor_reply" and queued.reply_to_id is None

    # The transcript shows it all, oldest first.
    for headers in (SUPERVISOR, QA):
        transcript = client.get(f"/v1/conversations/{conv}", headers=headers)
        assert transcript.status_code == 200, transcript.text
    body = transcript.json()
    assert body["stage"] == "handed_off" and body["handoff_reason"] == "supervisor"
    assert body["held_by_person"] is True and body["account"] == "AUR-MX-0001"
    messages = body["messages"]
    assert [m["direction"] for m in messages] == ["inbound", "outbound"] * 2 + [
        "inbound",
        "inbound",
        "outbound",
    ]
    assert messages[0]["body"] == "Hola buenas tardes"
    assert messages[-3]["body"] == "¿me pueden dar un descuento?"
    assert messages[-1]["action"] == "supervisor_reply" and messages[-1]["status"] == "queued"
    assert {"intent", "guard_outcome", "created_at"} <= set(messages[0])
    assert [t["message_id"] for t in body["turns"]] == [
        m["id"] for m in messages if m["direction"] == "inbound"
    ]
    assert all(t["intent"] for t in body["turns"])

    listed = client.get("/v1/conversations", params={"stage": "handed_off"}, headers=QA)
    assert listed.status_code == 200
    [row] = listed.json()
    assert row["conversation_id"] == conv and row["account"] == "AUR-MX-0001"
    assert row["debtor_first_name"] == "Lucía" and row["stage"] == "handed_off"

    # Hand back: the stage from before, and the agent answers again.
    back = client.post(f"/v1/conversations/{conv}/handback", headers=SUPERVISOR)
    assert back.status_code == 200, back.text
    assert back.json()["stage"] == "informed" and back.json()["handoff_reason"] is None
    assert stage_of(engine, conv) == ("informed", None)
    assert rows(engine, AuditEvent, conversation_id=conv, kind="conversation.handed_back")
    assert client.get("/v1/conversations", params={"stage": "handed_off"}, headers=QA).json() == []
    with open_negotiator(app_settings) as n:
        answered = n.receive(conv, "quiero pagar todo", now=now + timedelta(minutes=10))
    assert answered.action and answered.reply
    assert rows(engine, Message, reply_to_id=answered.inbound_id)


def test_a_threatening_supervisor_text_is_queued_with_a_warning(client, engine, verified):  # type: ignore[no-untyped-def]
    conv = verified
    assert client.post(f"/v1/conversations/{conv}/takeover", headers=SUPERVISOR).status_code == 200
    sent = client.post(f"/v1/conversations/{conv}/reply", json={"text": THREAT}, headers=SUPERVISOR)
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["status"] == "queued" and body["guard_outcome"] == "block"
    rules = {w["rule"] for w in body["warnings"]}
    assert "forbidden.threat.legal" in rules
    assert all(w["message"] and w["text"] for w in body["warnings"])
    [queued] = rows(engine, Message, id=body["message_id"])
    assert queued.status == "queued" and queued.body == THREAT and queued.guard_outcome == "block"
    [warning] = rows(engine, AuditEvent, conversation_id=conv, kind="supervisor.guard_warning")
    assert "forbidden.threat.legal" in warning.rule_ids
    assert warning.data["message_id"] == queued.id


def test_the_balance_is_no_warning_but_an_invented_figure_is(client, verified):  # type: ignore[no-untyped-def]
    conv = verified
    client.post(f"/v1/conversations/{conv}/takeover", headers=SUPERVISOR)
    ok = client.post(
        f"/v1/conversations/{conv}/reply",
        json={"text": "Lucía, su saldo es de $4,800.00 MXN."},
        headers=SUPERVISOR,
    )
    assert ok.json()["warnings"] == [], ok.json()
    invented = client.post(
        f"/v1/conversations/{conv}/reply",
        json={"text": "Lucía, su saldo es de $9,999.00 MXN."},
        headers=SUPERVISOR,
    )
    assert invented.status_code == 200 and invented.json()["warnings"]


def test_hand_back_without_a_recorded_stage_uses_a_safe_one(client, engine, verified):  # type: ignore[no-untyped-def]
    conv = verified
    client.post(f"/v1/conversations/{conv}/takeover", headers=SUPERVISOR)
    with session_scope(engine) as session:
        for event in session.exec(
            select(AuditEvent).where(AuditEvent.kind == "conversation.taken_over")
        ):
            session.delete(event)
    back = client.post(f"/v1/conversations/{conv}/handback", headers=SUPERVISOR)
    assert back.json()["stage"] == "negotiating"


def test_roles_unknown_conversations_conflicts_and_bad_texts(client, verified):  # type: ignore[no-untyped-def]
    conv = verified
    base = f"/v1/conversations/{conv}"
    assert client.post(f"{base}/takeover").status_code == 401
    assert client.get(base).status_code == 401
    assert client.get("/v1/conversations").status_code == 401
    wrong = {"Authorization": "Bearer not-a-key-at-all"}
    assert client.post(f"{base}/takeover", headers=wrong).status_code == 401
    assert client.post(f"{base}/takeover", headers=QA).status_code == 403
    assert client.post(f"{base}/reply", json={"text": "hola"}, headers=QA).status_code == 403
    assert client.post(f"{base}/handback", headers=QA).status_code == 403

    assert client.post("/v1/conversations/999/takeover", headers=SUPERVISOR).status_code == 404
    assert client.get("/v1/conversations/999", headers=QA).status_code == 404
    missing = client.post("/v1/conversations/999/reply", json={"text": "hola"}, headers=SUPERVISOR)
    assert missing.status_code == 404
    assert client.post("/v1/conversations/999/handback", headers=SUPERVISOR).status_code == 404
    assert client.get("/v1/conversations?stage=nonsense", headers=QA).status_code == 422

    # Not held yet: no reply, no hand back.
    assert (
        client.post(f"{base}/reply", json={"text": "hola"}, headers=SUPERVISOR).status_code == 409
    )
    assert client.post(f"{base}/handback", headers=SUPERVISOR).status_code == 409
    assert client.post(f"{base}/takeover", headers=SUPERVISOR).status_code == 200
    assert client.post(f"{base}/takeover", headers=SUPERVISOR).status_code == 409

    for text in ("", "   ", "x" * 4097):
        bad = client.post(f"{base}/reply", json={"text": text}, headers=SUPERVISOR)
        assert bad.status_code == 422, text[:10]
    assert client.post(f"{base}/reply", json={}, headers=SUPERVISOR).status_code == 422
    longest = client.post(f"{base}/reply", json={"text": "a" * 4096}, headers=SUPERVISOR)
    assert longest.status_code == 200

    assert client.post(f"{base}/handback", headers=SUPERVISOR).status_code == 200
    assert client.post(f"{base}/handback", headers=SUPERVISOR).status_code == 409


def test_an_opted_out_conversation_cannot_be_taken_over(client, app_settings, verified, now):  # type: ignore[no-untyped-def]
    conv = verified
    with open_negotiator(app_settings) as n:
        n.receive(conv, "ya no me escriban", now=now + timedelta(minutes=3))
    assert client.post(f"/v1/conversations/{conv}/takeover", headers=SUPERVISOR).status_code == 409

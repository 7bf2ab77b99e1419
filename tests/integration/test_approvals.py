"""Approval as a LangGraph interrupt: the run pauses for a supervisor, across restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlmodel import select

from agent.approvals import ApprovalError, SupervisorDecision
from agent.runtime import open_negotiator
from agent.store.db import session_scope
from agent.store.models import Agreement, Approval, AuditEvent, Conversation, Message

pytestmark = pytest.mark.integration


def rows(engine, model, **where):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        query = select(model)
        for field, value in where.items():
            query = query.where(getattr(model, field) == value)
        return list(session.exec(query))


def pending_pay_in_full(negotiator, demo_accounts, now) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Peru's demo debtor asks for a 35% pay-in-full: above auto-approval, so it waits."""
    conv = negotiator.open_conversation(demo_accounts["AUR-PE-0003"], now)
    for i, text in enumerate(["Buenos días", "1596", "quiero pagar todo de una vez", "sí"]):
        result = negotiator.receive(conv, text, now=now + timedelta(minutes=i))
    assert result.action == "agreement_pending_approval"
    return conv, result.agreement_id


def announcements(engine, conv: int) -> list[Message]:  # type: ignore[no-untyped-def]
    return [
        m
        for m in rows(engine, Message, conversation_id=conv)
        if m.direction == "outbound" and m.reply_to_id is None
    ]


def test_the_run_pauses_and_a_debtor_message_in_between_keeps_it_paused(
    negotiator, engine, demo_accounts, now
):
    conv, agreement_id = pending_pay_in_full(negotiator, demo_accounts, now)
    assert negotiator.awaiting_supervisor(conv)

    holding = negotiator.receive(conv, "¿ya lo aprobaron?", now=now + timedelta(minutes=30))
    assert holding.action == "await_approval"
    assert negotiator.awaiting_supervisor(conv)  # the interrupt was not dropped
    [approval] = rows(engine, Approval, agreement_id=agreement_id)
    assert approval.status == "pending"
    [inbound] = [
        m for m in rows(engine, Message, conversation_id=conv) if m.body == "¿ya lo aprobaron?"
    ]
    assert inbound.status == "processed"


def test_approval_survives_a_restart_and_the_debtor_is_told(settings, engine, demo_accounts, now):
    with open_negotiator(settings) as first:
        conv, agreement_id = pending_pay_in_full(first, demo_accounts, now)

    with open_negotiator(settings) as second:  # a new process: same checkpointer file
        assert second.awaiting_supervisor(conv)
        decision = SupervisorDecision(decision="approve", note="ok", decided_by="sup-7")
        result = second.decide_approval(agreement_id, decision, now=now + timedelta(hours=2))
        assert not second.awaiting_supervisor(conv)

    assert result.action == "agreement_active"
    [agreement] = rows(engine, Agreement, id=agreement_id)
    assert agreement.status == "active"
    [approval] = rows(engine, Approval, agreement_id=agreement_id)
    assert approval.status == "approved" and approval.decided_by == "sup-7"
    [conversation] = rows(engine, Conversation, id=conv)
    assert conversation.stage == "agreement_active"
    [told] = announcements(engine, conv)
    assert told.status == "queued" and told.action == "agreement_active"
    assert told.body == result.reply
    assert "S/" in told.body  # the approved plan restated in soles
    [event] = rows(engine, AuditEvent, kind="approval.approved")
    assert event.data["waited_seconds"] == 2 * 3600 - 3 * 60
    assert event.agreement_id == agreement_id


def test_a_rejection_shows_the_options_again_and_the_debtor_can_pick_one(
    negotiator, engine, demo_accounts, now
):
    conv, agreement_id = pending_pay_in_full(negotiator, demo_accounts, now)
    decision = SupervisorDecision(decision="reject", note="too much discount")
    result = negotiator.decide_approval(agreement_id, decision, now=now + timedelta(hours=1))
    assert result.action == "approval_declined"
    assert "no fue posible aprobarla" in result.reply or "no pudo aprobarse" in result.reply
    [agreement] = rows(engine, Agreement, id=agreement_id)
    assert agreement.status == "rejected"
    [told] = announcements(engine, conv)
    assert [b["id"] for b in told.payload["buttons"]][:1] == ["option:1"]

    pick = negotiator.receive(conv, "la 2", now=now + timedelta(hours=1, minutes=5))
    assert pick.action == "confirm_plan"


def test_a_counter_becomes_a_plan_the_debtor_confirms_without_another_approval(
    negotiator, engine, demo_accounts, now
):
    conv, agreement_id = pending_pay_in_full(negotiator, demo_accounts, now)
    first_due = (now + timedelta(days=10)).date()
    decision = SupervisorDecision.model_validate(
        {
            "decision": "counter",
            "note": "mejor en cuotas",
            "terms": {"kind": "installments", "installments": 4, "first_due": first_due},
        }
    )
    result = negotiator.decide_approval(agreement_id, decision, now=now + timedelta(hours=1))
    assert result.action == "confirm_plan"
    assert result.reply.count("• ") >= 4  # the four installments restated

    final = negotiator.receive(conv, "sí", now=now + timedelta(hours=2))
    assert final.action == "agreement_active"
    agreements = rows(engine, Agreement, conversation_id=conv)
    assert [a.status for a in agreements] == ["rejected", "active"]
    assert agreements[1].installments_count == 4 and not agreements[1].needs_approval
    assert len(rows(engine, Approval)) == 1


def test_an_opt_out_while_waiting_is_honoured_and_the_decision_is_not_announced(
    negotiator, engine, demo_accounts, now
):
    conv, agreement_id = pending_pay_in_full(negotiator, demo_accounts, now)
    stop = negotiator.receive(conv, "no me escriban más", now=now + timedelta(minutes=30))
    assert stop.action == "confirm_opt_out"
    decision = SupervisorDecision(decision="approve")
    result = negotiator.decide_approval(agreement_id, decision, now=now + timedelta(hours=1))
    assert result.action == ""
    assert announcements(engine, conv) == []
    [agreement] = rows(engine, Agreement, id=agreement_id)
    assert agreement.status == "active"  # the decision stands; the agent stays quiet
    [conversation] = rows(engine, Conversation, id=conv)
    assert conversation.stage == "opted_out"


def test_a_decision_is_taken_once(negotiator, demo_accounts, now):
    _, agreement_id = pending_pay_in_full(negotiator, demo_accounts, now)
    negotiator.decide_approval(agreement_id, SupervisorDecision(decision="reject"))
    with pytest.raises(ApprovalError, match="already"):
        negotiator.decide_approval(agreement_id, SupervisorDecision(decision="approve"))


def test_a_counter_that_makes_no_plan_leaves_the_approval_waiting_for_a_good_one(
    negotiator, engine, demo_accounts, now
):
    _, agreement_id = pending_pay_in_full(negotiator, demo_accounts, now)
    later = now + timedelta(hours=1)

    def counter(first_due):  # type: ignore[no-untyped-def]
        terms = {"kind": "installments", "installments": 4, "first_due": first_due}
        return SupervisorDecision.model_validate({"decision": "counter", "terms": terms})

    with pytest.raises(ApprovalError, match="in the past"):
        negotiator.decide_approval(agreement_id, counter(now.date() - timedelta(days=1)), later)
    [agreement] = rows(engine, Agreement, id=agreement_id)
    assert agreement.status == "pending_approval"
    result = negotiator.decide_approval(
        agreement_id, counter(now.date() + timedelta(days=5)), later
    )
    assert result.action == "confirm_plan"  # the bad counter did not stick to the paused run


def test_an_approval_nobody_decided_expires_with_its_offer_and_the_debtor_is_told(
    negotiator, engine, demo_accounts, now
):
    conv, agreement_id = pending_pay_in_full(negotiator, demo_accounts, now)
    [agreement] = rows(engine, Agreement, id=agreement_id)
    on_the_last_day = datetime.combine(agreement.valid_until, now.timetz())
    assert negotiator.expire_overdue_approvals(on_the_last_day) == []  # still valid that day

    after = on_the_last_day + timedelta(days=1)
    late = SupervisorDecision(decision="approve")
    with pytest.raises(ApprovalError, match="expired"):
        negotiator.decide_approval(agreement_id, late, after)
    [result] = negotiator.expire_overdue_approvals(after)
    assert result.action == "approval_expired" and "venció" in result.reply
    assert not negotiator.awaiting_supervisor(conv)
    [agreement] = rows(engine, Agreement, id=agreement_id)
    [approval] = rows(engine, Approval, agreement_id=agreement_id)
    assert agreement.status == "expired" and approval.status == "expired"
    assert approval.decided_by == "system:offer_validity"
    [told] = announcements(engine, conv)
    assert told.action == "approval_expired" and told.payload["buttons"]
    assert [
        e.data["status"] for e in rows(engine, AuditEvent, kind="agreement.status_changed")
    ] == ["expired"]
    assert rows(engine, AuditEvent, kind="approval.expired")
    assert negotiator.expire_overdue_approvals(after + timedelta(days=1)) == []  # once only

    pick = negotiator.receive(conv, "la 2", now=after + timedelta(minutes=5))
    assert pick.action == "confirm_plan"  # today's options stand


def test_counter_terms_are_validated():
    with pytest.raises(ValueError, match="needs terms"):
        SupervisorDecision(decision="counter")
    with pytest.raises(ValueError, match="number of installments"):
        SupervisorDecision.model_validate(
            {"decision": "counter", "terms": {"kind": "installments", "first_due": "2026-04-01"}}
        )


# --- HTTP --------------------------------------------------------------------------------------


def test_the_approval_queue_and_a_decision_over_http(settings, engine, demo_accounts):
    from fastapi.testclient import TestClient

    from api.app import create_app

    keys = "sup-key-123456:supervisor,qa-key-1234567:qa"
    app_settings = settings.model_copy(update={"api_keys": SecretStr(keys), "background": False})
    with open_negotiator(app_settings) as n:  # asked an hour ago: the API decides "now"
        asked = datetime.now(UTC) - timedelta(hours=1)
        _, agreement_id = pending_pay_in_full(n, demo_accounts, asked)
    supervisor = {"Authorization": "Bearer sup-key-123456"}
    with TestClient(create_app(app_settings)) as client:
        assert client.get("/v1/approvals").status_code == 401
        qa = {"Authorization": "Bearer qa-key-1234567"}
        assert client.get("/v1/approvals", headers=qa).status_code == 403
        [queued] = client.get("/v1/approvals", headers=supervisor).json()
        assert queued["agreement_id"] == agreement_id and queued["account"] == "AUR-PE-0003"
        assert queued["reasons"] and queued["waiting_seconds"] > 0

        url = f"/v1/agreements/{agreement_id}/decision"
        bad = client.post(url, json={"decision": "counter"}, headers=supervisor)
        assert bad.status_code == 422
        missing = client.post(
            "/v1/agreements/999/decision", json={"decision": "approve"}, headers=supervisor
        )
        assert missing.status_code == 404
        done = client.post(url, json={"decision": "approve", "note": "ok"}, headers=supervisor)
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["agreement_status"] == "active" and body["stage"] == "agreement_active"
        assert body["told_debtor"]
        again = client.post(url, json={"decision": "reject"}, headers=supervisor)
        assert again.status_code == 409
        assert client.get("/v1/approvals", headers=supervisor).json() == []
    [approval] = rows(engine, Approval, agreement_id=agreement_id)
    assert approval.decided_by.startswith("supervisor:") and "sup-key" not in approval.decided_by

"""Whole conversations through the real graph, checked on the stored rows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from agent import graph as graph_module
from agent.runtime import InvalidMessageError
from agent.store import NotFoundError
from agent.store.db import session_scope
from agent.store.models import Agreement, AuditEvent, Conversation, Installment, Message

pytestmark = pytest.mark.integration


def play(negotiator, conversation_id, now, *texts):
    results = []
    for i, text in enumerate(texts):
        results.append(negotiator.receive(conversation_id, text, now=now + timedelta(minutes=i)))
    return results


def rows(engine, model, **where):
    with session_scope(engine) as session:
        query = select(model)
        for field, value in where.items():
            query = query.where(getattr(model, field) == value)
        return list(session.exec(query))


def test_hardship_conversation_ends_in_a_stored_installment_agreement(
    negotiator, engine, demo_accounts, now
):
    conv = negotiator.open_conversation(demo_accounts["AUR-MX-0001"], now)
    results = play(
        negotiator,
        conv,
        now,
        "Hola buenas tardes",
        "4821",
        "perdí mi trabajo y este mes no puedo pagar todo",
        "puedo pagar 1000 al mes",
        "sí, confirmo",
    )
    actions = [r.action for r in results]
    assert actions == ["verify_identity", "inform", "offer", "confirm_plan", "agreement_active"]
    assert "4,800" not in results[0].reply and "4800" not in results[0].reply  # no disclosure
    assert results[-1].stage == "agreement_active"

    [agreement] = rows(engine, Agreement, conversation_id=conv)
    assert agreement.status == "active"
    assert agreement.kind == "installments" and agreement.frequency == "monthly"
    assert agreement.balance == Decimal("4800.00")
    installments = rows(engine, Installment, agreement_id=agreement.id)
    assert [i.number for i in installments] == list(range(1, len(installments) + 1))
    assert sum(i.amount for i in installments) == agreement.total == Decimal("4800.00")
    assert all(i.amount <= Decimal("1000") for i in installments)
    assert [i.due_date for i in installments] == sorted(i.due_date for i in installments)
    assert results[-1].agreement_id == agreement.id

    messages = rows(engine, Message, conversation_id=conv)
    inbound = [m for m in messages if m.direction == "inbound"]
    outbound = [m for m in messages if m.direction == "outbound"]
    assert len(inbound) == len(outbound) == 5
    assert all(m.status == "processed" for m in inbound)
    assert {m.reply_to_id for m in outbound} == {m.id for m in inbound}
    assert all(m.guard_outcome == "pass" for m in outbound)
    by_action = {m.action: m for m in outbound}
    option_ids = [b["id"] for b in by_action["inform"].payload["buttons"]]
    assert option_ids == ["option:1", "option:2", "option:3"]
    assert all(len(b["title"]) <= 20 for b in by_action["inform"].payload["buttons"])
    assert [b["id"] for b in by_action["confirm_plan"].payload["buttons"]] == [
        "confirm:yes",
        "confirm:no",
    ]
    assert (
        by_action["verify_identity"].payload == {} and by_action["verify_identity"].kind == "text"
    )

    kinds = [e.kind for e in rows(engine, AuditEvent, conversation_id=conv)]
    for kind in ("identity.verified", "offer.presented", "counteroffer.evaluated"):
        assert kind in kinds
    assert kinds.count("agreement.created") == 1

    [conversation] = rows(engine, Conversation, id=conv)
    assert conversation.stage == "agreement_active" and conversation.identity_verified


def test_processing_the_same_message_twice_has_one_effect(negotiator, engine, demo_accounts, now):
    conv = negotiator.open_conversation(demo_accounts["AUR-PE-0003"], now)
    play(negotiator, conv, now, "hola", "1596", "quiero pagar todo ya")
    last = negotiator.receive(conv, "sí, de acuerdo", now=now + timedelta(minutes=5))
    assert last.stage == "agreement_pending_approval"
    again = negotiator.process(conv, last.inbound_id, "sí, de acuerdo", now + timedelta(minutes=5))
    assert again.stage == "agreement_pending_approval"
    assert len(rows(engine, Agreement, conversation_id=conv)) == 1
    assert len(rows(engine, Message, reply_to_id=last.inbound_id)) == 1


def test_same_wamid_is_stored_once(negotiator, engine, demo_accounts, now):
    conv = negotiator.open_conversation(demo_accounts["AUR-MX-0001"], now)
    negotiator.receive(conv, "hola", now=now, wamid="wamid.A1")
    negotiator.receive(conv, "hola", now=now, wamid="wamid.A1")
    assert len(rows(engine, Message, conversation_id=conv, direction="inbound")) == 1
    assert len(rows(engine, Message, conversation_id=conv, direction="outbound")) == 1


def test_pay_in_full_above_auto_approval_waits_for_a_supervisor(
    negotiator, engine, demo_accounts, now
):
    from agent.store.models import Approval

    conv = negotiator.open_conversation(demo_accounts["AUR-PE-0003"], now)
    results = play(negotiator, conv, now, "Buenos días", "1596", "quiero pagar todo de una vez")
    assert results[-1].action == "confirm_plan"
    final = negotiator.receive(conv, "sí", now=now + timedelta(minutes=9))
    assert final.action == "agreement_pending_approval"
    [agreement] = rows(engine, Agreement, conversation_id=conv)
    assert agreement.status == "pending_approval" and agreement.needs_approval
    assert agreement.kind == "pay_in_full" and agreement.discount_pct > 0
    assert agreement.total == agreement.balance - agreement.discount_amount
    [approval] = rows(engine, Approval, agreement_id=agreement.id)
    assert approval.status == "pending" and approval.reasons
    holding = negotiator.receive(conv, "¿ya lo aprobaron?", now=now + timedelta(minutes=20))
    assert holding.action == "await_approval"
    assert len(rows(engine, Agreement, conversation_id=conv)) == 1


def test_dispute_hands_off_and_the_agent_goes_quiet(negotiator, engine, demo_accounts, now):
    conv = negotiator.open_conversation(demo_accounts["AUR-CO-0002"], now)
    results = play(
        negotiator, conv, now, "hola", "7310", "yo no reconozco esa deuda, ese cobro está mal"
    )
    assert results[-1].action == "handoff"
    assert results[-1].stage == "disputed"
    quiet = negotiator.receive(conv, "hola?", now=now + timedelta(minutes=30))
    assert quiet.reply == "" and quiet.action == ""
    outbound = rows(engine, Message, conversation_id=conv, direction="outbound")
    assert len(outbound) == 3
    assert rows(engine, Agreement, conversation_id=conv) == []


def test_opt_out_is_recorded(negotiator, engine, demo_accounts, now):
    from agent.store.models import Debtor

    conv = negotiator.open_conversation(demo_accounts["AUR-MX-0001"], now)
    result = negotiator.receive(conv, "no me escriban más por favor", now=now)
    assert result.action == "confirm_opt_out" and result.stage == "opted_out"
    [debtor] = rows(engine, Debtor, phone="+525512345678")
    assert debtor.opted_out_at is not None


def test_a_failing_draft_is_never_sent(negotiator, engine, demo_accounts, now, monkeypatch):
    def threatening(action, facts, seed):
        return "Si no pagas hoy procederemos con el embargo de tus bienes."

    monkeypatch.setattr(graph_module, "render_reply", threatening)
    conv = negotiator.open_conversation(demo_accounts["AUR-MX-0001"], now)
    result = negotiator.receive(conv, "hola", now=now)
    assert "embargo" not in result.reply.lower()
    assert result.guard["fallback"] is True and result.guard["outcome"] == "block"
    [sent] = rows(engine, Message, conversation_id=conv, direction="outbound")
    assert sent.guard_outcome == "fallback" and "embargo" not in sent.body.lower()
    events = rows(engine, AuditEvent, conversation_id=conv, kind="guard.fallback")
    assert len(events) == 1 and "forbidden.threat.seizure" in events[0].rule_ids
    assert events[0].data["pack_version"].startswith("MX-")


def test_bad_input_gets_clear_errors(negotiator, demo_accounts, now):
    conv = negotiator.open_conversation(demo_accounts["AUR-MX-0001"], now)
    with pytest.raises(InvalidMessageError):
        negotiator.receive(conv, "   ", now=now)
    with pytest.raises(NotFoundError):
        negotiator.receive(999_999, "hola", now=now)
    with pytest.raises(NotFoundError):
        negotiator.open_conversation(999_999, now)
    with pytest.raises(ValueError, match="timezone-aware"):
        negotiator.receive(conv, "hola", now=now.replace(tzinfo=None))


def test_oversize_text_is_stored_whole_and_still_answered(negotiator, engine, demo_accounts, now):
    conv = negotiator.open_conversation(demo_accounts["AUR-MX-0001"], now)
    text = "hola " * 2000
    result = negotiator.receive(conv, text, now=now)
    assert result.reply
    [stored] = rows(engine, Message, conversation_id=conv, direction="inbound")
    assert stored.body == text

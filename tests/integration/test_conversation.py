"""Whole conversations through the real graph, checked on the stored rows."""

import re
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
    def threatening(action, facts, seed, **_):
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


# --- confirmations, picks and wording (findings of the conversation eval suites) --------------


def open_account(engine, negotiator, now, *, verified=False, **row):
    """A fresh account (45 days past due, standard segment) and its conversation."""
    from agent.portfolio import AccountRow, upsert_account

    fields = {
        "reference": "T-0001",
        "debtor_name": "Andrea Gómez",
        "phone": "+5215500000001",
        "document_last4": "4821",
        "principal": Decimal("5000"),
        "days_past_due": 45,
        "jurisdiction": "MX",
    } | row
    with session_scope(engine) as session:
        account, _ = upsert_account(session, AccountRow(**fields), now.date(), now=now)
        account_id = account.id or 0
    conv = negotiator.open_conversation(account_id, now)
    if verified:
        with session_scope(engine) as session:
            conversation = session.get(Conversation, conv)
            conversation.identity_verified = True
            session.add(conversation)
    return conv


def test_hardship_news_while_confirming_is_not_a_yes(negotiator, engine, now):
    conv = open_account(engine, negotiator, now, verified=True)
    confirm, news = play(
        negotiator, conv, now, "puedo 900 al mes", "ya no tengo trabajo, me corrieron"
    )
    assert confirm.action == "confirm_plan" and confirm.stage == "agreement_pending_confirmation"
    assert news.action == "offer" and news.stage == "negotiating"
    assert rows(engine, Agreement, conversation_id=conv) == []
    assert "activo" not in news.reply and "1️⃣" in news.reply  # acknowledged, options again


def test_a_bare_yes_to_several_options_asks_which(negotiator, engine, now):
    conv = open_account(engine, negotiator, now, verified=True)
    inform, yes, pick = play(negotiator, conv, now, "hola", "sí", "1")
    assert inform.action == "inform"
    assert yes.action == "clarify"
    assert "opción" in yes.reply and "no logré entender" not in yes.reply
    assert "1️⃣" in yes.reply and "3️⃣" in yes.reply  # the options, listed again
    assert pick.action == "confirm_plan" and pick.stage == "agreement_pending_confirmation"
    assert rows(engine, Agreement, conversation_id=conv) == []


def test_a_yes_to_the_option_the_agent_singled_out_takes_it(negotiator, engine, now):
    conv = open_account(engine, negotiator, now, verified=True)
    offer, yes, confirmed = play(
        negotiator, conv, now, "hazme un descuento del 50% y pago hoy", "sí", "sí"
    )
    assert offer.action == "offer" and "opción 1" in offer.reply  # pay in full, highlighted
    assert yes.action == "confirm_plan" and "4,500" in yes.reply
    assert confirmed.action in ("agreement_active", "agreement_pending_approval")
    [agreement] = rows(engine, Agreement, conversation_id=conv)
    assert agreement.kind == "pay_in_full" and agreement.total == Decimal("4500.00")


def test_paying_in_full_stated_up_front_restates_that_plan(negotiator, engine, now):
    conv = open_account(engine, negotiator, now, verified=True)
    first, yes = play(negotiator, conv, now, "quiero pagar todo de una vez", "sí, de acuerdo")
    assert first.action == "confirm_plan" and "2️⃣" not in first.reply
    assert "de la opción" not in first.reply  # no list was shown: its number means nothing
    assert yes.action == "agreement_active"
    [agreement] = rows(engine, Agreement, conversation_id=conv)
    assert agreement.kind == "pay_in_full"


def test_option_button_after_a_clarify_and_all_at_once_objection(negotiator, engine, now):
    conv = open_account(engine, negotiator, now)
    results = play(
        negotiator, conv, now, "hola", "4821", "no tengo para pagarlo todo junto", "xyz", "2"
    )
    assert [r.action for r in results] == [
        "verify_identity",
        "inform",
        "offer",
        "clarify",
        "confirm_plan",
    ]


def test_only_a_verification_turn_says_the_data_was_confirmed(negotiator, engine, now):
    said = re.compile(r"(?i)confirm(é tus datos|ar)")
    for i in range(4):  # several conversations: several template variants
        conv = open_account(engine, negotiator, now, verified=True, reference=f"V-{i}")
        [inform] = play(negotiator, conv, now, "hola")
        assert inform.action == "inform" and not said.search(inform.reply), inform.reply
        conv = open_account(engine, negotiator, now, reference=f"U-{i}")
        _, inform = play(negotiator, conv, now, "hola", "4821")
        assert inform.action == "inform" and said.search(inform.reply), inform.reply


def test_a_company_is_greeted_by_its_name(negotiator, engine, now):
    conv = open_account(
        engine,
        negotiator,
        now,
        verified=True,
        debtor_name="Comercializadora del Norte S.A. de C.V.",
        segment="corporate",
    )
    [inform] = play(negotiator, conv, now, "hola")
    assert "Comercializadora del Norte" in inform.reply
    assert not re.search(r"Comercializadora[.,!]", inform.reply)


@pytest.mark.parametrize(
    ("name", "segment", "addressed"),
    [
        ("Andrea Gómez", "standard", "Andrea"),
        ("Comercializadora del Norte S.A. de C.V.", "standard", "Comercializadora del Norte"),
        ("Inversiones Andinas S.A.S.", "standard", "Inversiones Andinas"),
        ("Minera Sur SpA", "standard", "Minera Sur"),
        ("Textiles del Valle Ltda.", "standard", "Textiles del Valle"),
        ("Distribuidora Ibérica S.L.", "standard", "Distribuidora Ibérica"),
        ("Servicios Lima S.R.L.", "standard", "Servicios Lima"),
        ("Acme Tools, Inc.", "standard", "Acme Tools"),
        ("Blue Harbor LLC", "standard", "Blue Harbor"),
        ("Comercializadora del Norte", "corporate", "Comercializadora del Norte"),
        ("Juan Sa", "standard", "Juan"),
    ],
)
def test_how_replies_address_the_debtor(name, segment, addressed):
    from agent.drafting import address_name

    assert address_name(name, segment) == addressed


def test_a_message_received_directly_opens_the_whatsapp_window(
    negotiator, engine, demo_accounts, now
):  # type: ignore[no-untyped-def]
    from agent.store.db import session_scope
    from agent.store.models import Conversation

    conv = negotiator.open_conversation(demo_accounts["AUR-MX-0001"], now)
    negotiator.receive(conv, "Hola", now=now)
    negotiator.receive(conv, "4821", now=now + timedelta(minutes=3))
    with session_scope(engine) as session:
        conversation = session.get(Conversation, conv)
        assert conversation is not None
        assert conversation.last_inbound_at == now + timedelta(minutes=3)

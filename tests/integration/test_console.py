"""The supervisor console through the real app (TestClient): sign-in, the approval queue and its
decisions, a conversation's labelled transcript, takeover, portfolio, payments, dashboard and the
audit log. The browser walk-through is tests/e2e/test_console.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlmodel import select

from agent.runtime import open_negotiator
from agent.store.db import session_scope
from agent.store.models import Agreement, Approval, AuditEvent, Conversation, Message
from api.console import queries

pytestmark = pytest.mark.integration

SUPERVISOR_KEY = "sup-key-123456"
QA_KEY = "qa-key-1234567"
THREAT = "Si no paga hoy lo vamos a demandar y embargar su casa."


def rows(engine, model, **where):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return list(session.exec(query))


@pytest.fixture
def app_settings(settings):  # type: ignore[no-untyped-def]
    keys = f"{SUPERVISOR_KEY}:supervisor,{QA_KEY}:qa"
    return settings.model_copy(update={"api_keys": SecretStr(keys), "background": False})


@pytest.fixture
def client(app_settings, engine):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(app_settings)) as c:
        yield c


@pytest.fixture
def signed_in(client):  # type: ignore[no-untyped-def]
    response = client.post("/console/login", data={"key": SUPERVISOR_KEY, "next": "/console"})
    assert response.status_code == 200 and "Acuerdos por aprobar" in response.text
    return client


@pytest.fixture
def pending(app_settings, engine, demo_accounts) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Ana (Peru) asked an hour ago for a 35% pay-in-full: it waits for a supervisor (the
    console decides at the real time, so the offer must still be valid)."""
    asked = datetime.now(UTC) - timedelta(hours=1)
    with open_negotiator(app_settings) as n:
        conv = n.open_conversation(demo_accounts["AUR-PE-0003"], asked)
        for i, text in enumerate(["Buenos días", "1596", "quiero pagar todo de una vez", "sí"]):
            result = n.receive(conv, text, now=asked + timedelta(minutes=i))
    assert result.action == "agreement_pending_approval"
    return conv, result.agreement_id or 0


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def notice_of(page: str) -> str:
    found = re.search(r'<div class="notice[^"]*" role="status">(.*?)</div>', page, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""


# --- sign-in -----------------------------------------------------------------------------------


def test_every_page_asks_for_a_session_first(client):  # type: ignore[no-untyped-def]
    for path in ("/console", "/console/conversations/1", "/console/dashboard?days=7"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/login?next=/console")
    login = client.get("/console/login")
    assert login.status_code == 200 and 'type="password"' in login.text
    assert "script" not in login.headers["content-security-policy"]


def test_sign_in_refuses_unknown_and_qa_keys_and_never_sets_a_cookie(client):  # type: ignore[no-untyped-def]
    unknown = client.post("/console/login", data={"key": "nope"})
    assert unknown.status_code == 401 and "La clave no es válida" in unknown.text
    qa = client.post("/console/login", data={"key": QA_KEY})
    assert qa.status_code == 401 and "rol supervisor o admin" in qa.text
    assert "pacta_console" not in client.cookies


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(client):  # type: ignore[no-untyped-def]
    ok = client.post(
        "/console/login",
        data={"key": SUPERVISOR_KEY, "next": "/console/portfolio"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/console/portfolio"
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and SUPERVISOR_KEY not in cookie
    off_site = client.post(
        "/console/login",
        data={"key": SUPERVISOR_KEY, "next": "//evil.example/console"},
        follow_redirects=False,
    )
    assert off_site.headers["location"] == "/console"


def test_sign_out_ends_the_session(signed_in):  # type: ignore[no-untyped-def]
    page = signed_in.get("/console").text
    out = signed_in.post("/console/logout", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert out.status_code == 303
    assert signed_in.get("/console", follow_redirects=False).status_code == 303


# --- approvals ---------------------------------------------------------------------------------


def test_the_queue_shows_terms_against_the_mandate_and_why(signed_in, pending):  # type: ignore[no-untyped-def]
    _, agreement_id = pending
    page = signed_in.get("/console/approvals").text
    card = page[page.index(f'id="agreement-{agreement_id}"') :]
    assert "Ana Torres" in card and "AUR-PE-0003" in card
    assert "S/\xa02,700 PEN" in card and "S/\xa01,755 PEN" in card  # balance, proposed total
    assert re.search(r'<tr class="over"><td>Descuento</td><td>35 %</td><td>15 %', card)
    assert "El descuento supera lo que el agente puede aprobar" in card
    assert "mandate.auto_approval.discount" in card


def test_approving_from_the_queue_tells_the_debtor_and_audits_who(  # type: ignore[no-untyped-def]
    signed_in, pending, engine
):
    conv, agreement_id = pending
    page = signed_in.get("/console").text
    done = signed_in.post(
        f"/console/approvals/{agreement_id}/decision",
        data={"csrf": csrf_of(page), "decision": "approve", "note": "cliente antiguo"},
    )
    assert done.status_code == 200
    notice = notice_of(done.text)
    assert f"Acuerdo {agreement_id}: aprobado." in notice
    assert "Mensaje para el deudor:" in notice and "Ana" in notice
    assert f'id="agreement-{agreement_id}"' not in done.text  # left the queue
    [agreement] = rows(engine, Agreement, id=agreement_id)
    assert agreement.status == "active"
    [approval] = rows(engine, Approval, agreement_id=agreement_id)
    assert approval.decided_by.startswith("supervisor:") and approval.note == "cliente antiguo"
    [told] = [
        m
        for m in rows(engine, Message, conversation_id=conv)
        if m.action == "agreement_active" and m.reply_to_id is None
    ]
    assert told.status == "queued" and " ".join(told.body.split()) in notice
    assert rows(engine, AuditEvent, kind="approval.approved")


def test_a_form_without_the_csrf_token_changes_nothing(signed_in, pending, engine):  # type: ignore[no-untyped-def]
    _, agreement_id = pending
    forged = signed_in.post(
        f"/console/approvals/{agreement_id}/decision", data={"decision": "approve"}
    )
    assert forged.status_code == 403
    [agreement] = rows(engine, Agreement, id=agreement_id)
    assert agreement.status == "pending_approval"


def test_counter_and_reject_from_the_queue(signed_in, pending, engine):  # type: ignore[no-untyped-def]
    conv, agreement_id = pending
    csrf = csrf_of(signed_in.get("/console").text)
    url = f"/console/approvals/{agreement_id}/decision"
    past = signed_in.post(
        url,
        data={
            "csrf": csrf,
            "decision": "counter",
            "kind": "installments",
            "installments": "4",
            "first_due": "2020-01-01",
        },
    )
    assert "ya pasó" in notice_of(past.text)
    missing = signed_in.post(
        url,
        data={
            "csrf": csrf,
            "decision": "counter",
            "kind": "pay_in_full",
            "first_due": (datetime.now(UTC) + timedelta(days=3)).date().isoformat(),
        },
    )
    assert "necesita el total" in notice_of(missing.text)
    [agreement] = rows(engine, Agreement, id=agreement_id)
    assert agreement.status == "pending_approval"  # neither mistake decided anything

    first_due = (datetime.now(UTC) + timedelta(days=5)).date().isoformat()
    countered = signed_in.post(
        url,
        data={
            "csrf": csrf,
            "decision": "counter",
            "kind": "installments",
            "installments": "4",
            "frequency": "monthly",
            "first_due": first_due,
        },
    )
    assert "contraoferta enviada" in notice_of(countered.text)
    [conversation] = rows(engine, Conversation, id=conv)
    assert conversation.stage == "agreement_pending_confirmation"
    again = signed_in.post(url, data={"csrf": csrf, "decision": "reject"})
    assert "ya no espera una decisión" in notice_of(again.text)


# --- conversations and takeover ----------------------------------------------------------------


def test_the_transcript_carries_each_turns_labels(signed_in, app_settings, demo_accounts, now):  # type: ignore[no-untyped-def]
    with open_negotiator(app_settings) as n:
        conv = n.open_conversation(demo_accounts["AUR-MX-0001"], now)
        n.receive(conv, "Hola", now=now)
        n.receive(conv, "4821", now=now + timedelta(minutes=1))
        n.receive(
            conv,
            "perdí mi trabajo y este mes no puedo pagar, estoy muy preocupada",
            now=now + timedelta(minutes=2),
        )
    listing = signed_in.get("/console/conversations?q=Lucía").text
    assert f'href="/console/conversations/{conv}"' in listing
    page = signed_in.get(f"/console/conversations/{conv}").text
    assert "intención: objeción" in page
    assert "objeción: emocional" in page and "objeción: plazo" in page
    assert "acción: offer" in page and "revisión: aprobada" in page
    assert "Tomar la conversación" in page
    assert signed_in.get("/console/conversations/9999").status_code == 404


def test_take_over_reply_with_a_warning_and_hand_back(  # type: ignore[no-untyped-def]
    signed_in, app_settings, demo_accounts, now, engine
):
    with open_negotiator(app_settings) as n:
        conv = n.open_conversation(demo_accounts["AUR-MX-0001"], now)
        n.receive(conv, "Hola", now=now)
    here = f"/console/conversations/{conv}"
    csrf = csrf_of(signed_in.get(here).text)

    early = signed_in.post(f"{here}/reply", data={"csrf": csrf, "text": "hola"})
    assert "Primero toma la conversación" in notice_of(early.text)
    taken = signed_in.post(f"{here}/takeover", data={"csrf": csrf, "note": "caso delicado"})
    assert "Tomaste la conversación" in notice_of(taken.text)
    assert "Devolver al agente" in taken.text

    warned = signed_in.post(f"{here}/reply", data={"csrf": csrf, "text": THREAT})
    notice = notice_of(warned.text)
    assert "Mensaje en cola" in notice and "threat" in notice
    [sent] = [m for m in rows(engine, Message, conversation_id=conv) if m.body == THREAT]
    assert sent.action == "supervisor_reply" and sent.status == "queued"
    assert "forbidden.threat.legal" in sent.payload["guard"]["rule_ids"]
    assert re.search(r'<code class="rule">forbidden.threat.legal</code>', warned.text)

    back = signed_in.post(f"{here}/handback", data={"csrf": csrf})
    assert "devuelta al agente" in notice_of(back.text)
    kinds = {e.kind for e in rows(engine, AuditEvent, conversation_id=conv)}
    assert {
        "conversation.taken_over",
        "supervisor.guard_warning",
        "supervisor.replied",
        "conversation.handed_back",
    } <= kinds
    page = signed_in.get(f"/console/audit?conversation={conv}&kind=conversation.").text
    audit = page[page.index('<table class="list audit">') :]
    assert "conversation.taken_over" in audit and "conversation.handed_back" in audit
    assert "supervisor.replied" not in audit  # filtered by kind prefix


# --- portfolio, payments, dashboard ------------------------------------------------------------


def test_portfolio_counts_and_filters(signed_in, pending):  # type: ignore[no-untyped-def]
    page = signed_in.get("/console/portfolio").text
    assert "AUR-MX-0001" in page and "AUR-CO-0002" in page and "AUR-PE-0003" in page
    assert "Acuerdo por aprobar" in page and "Sin conversación" in page
    peru = signed_in.get("/console/portfolio?jurisdiction=PE").text
    assert "AUR-PE-0003" in peru and "AUR-MX-0001" not in peru
    waiting = signed_in.get("/console/portfolio?status=pending_approval").text
    assert "AUR-PE-0003" in waiting and "AUR-CO-0002" not in waiting


def test_payments_appear_as_they_arrive(signed_in, demo_accounts):  # type: ignore[no-untyped-def]
    assert "Todavía no se ha registrado ningún pago" in signed_in.get("/console/payments").text
    paid = signed_in.post(
        "/v1/payments",
        json={
            "account_id": "AUR-MX-0001",
            "amount": "1600.00",
            "paid_at": "2026-03-10T11:20:00-06:00",
            "reference": "SPEI-0001",
        },
        headers={"Authorization": f"Bearer {SUPERVISOR_KEY}"},
    )
    assert paid.status_code in (200, 201)
    page = signed_in.get("/console/payments").text
    assert "SPEI-0001" in page and "$1,600 MXN" in page and "Lucía Pérez" in page


def test_dashboard_figures_day_by_day(app_settings, engine, pending):  # type: ignore[no-untyped-def]
    conv, _ = pending
    [conversation] = rows(engine, Conversation, id=conv)
    with session_scope(engine) as session:
        board = queries.dashboard(session, conversation.created_at.date(), days=7)
    assert board.engaged == 1 and board.promised == 1 and board.handed_off == 0
    assert board.promise_rate.values[-1] == 100 and board.promise_rate.values[0] is None
    assert board.handoff_rate.values[-1] == 0


def test_dashboard_page_draws_its_charts(signed_in):  # type: ignore[no-untyped-def]
    page = signed_in.get("/console/dashboard?days=7").text
    assert page.count("<svg") >= 4 and "Promesa de pago" in page
    assert signed_in.get("/console/dashboard?days=3").status_code == 422


def test_the_campaign_page_shows_each_step_and_what_waits(signed_in, engine, demo_accounts):  # type: ignore[no-untyped-def]
    from agent.cadence.scheduler import CadenceScheduler
    from agent.store.models import Debtor
    from policies.cadence import load_cadence

    assert "La cadencia no ha enviado nada" not in signed_in.get("/console/campaign").text
    with session_scope(engine) as session:
        for debtor in session.exec(select(Debtor)).all():
            debtor.whatsapp_opt_in_at = datetime.now(UTC) - timedelta(days=60)
            debtor.whatsapp_opt_in_source = "import"
            session.add(debtor)
    report = CadenceScheduler(engine, load_cadence(), sweep_payments=False).run_once(
        datetime.now(UTC)
    )
    assert report.queued + report.held == 3
    page = signed_in.get("/console/campaign").text
    for step in load_cadence().steps:
        assert f"<code>{step.id}</code>" in page
    waiting = page[page.index("Mensajes en espera") :]
    for reference in ("AUR-MX-0001", "AUR-CO-0002", "AUR-PE-0003"):
        assert reference in waiting
    assert ("Retenido" in waiting) == (report.held > 0)

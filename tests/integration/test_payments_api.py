"""`POST /v1/payments` through the real app (TestClient): roles, replays, conflicts, errors, and
the thank-you the debtor gets, queued for the dispatcher and clean for the guard."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from agent.config import Settings
from agent.payment_notices import Notice, installment_facts, notice_guard_context
from agent.payments import _notice_facts, installments_of
from agent.portfolio import seed_demo
from agent.store.db import engine_for, session_scope, upgrade
from agent.store.models import Account, Agreement, AuditEvent, Conversation, Payment
from agent.store.repository import load_context
from api.app import create_app
from api.channels.sandbox import SandboxChannel
from api.dispatcher import Dispatcher
from api.routers.payments import get_now
from policies.guard import check
from tests.conftest import NOW
from tests.payments_support import make_agreement, outbound

pytestmark = pytest.mark.integration

ADMIN, QA, SUPERVISOR = "k-admin-pay-1", "k-qa-pay-2", "k-sup-pay-3"
KEYS = f"{ADMIN}:admin,{QA}:qa,{SUPERVISOR}:supervisor"
CLOCK = NOW + timedelta(minutes=30)  # when the API records payments


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = Settings(data_dir=tmp_path / "data", llm="offline", background=False, api_keys=KEYS)
    upgrade(s.database_url)
    with session_scope(engine_for(s.database_url)) as session:
        seed_demo(session, NOW.date())
    return s


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    app.dependency_overrides[get_now] = lambda: CLOCK
    with TestClient(app) as c:
        yield c


@pytest.fixture
def engine(settings: Settings):
    return engine_for(settings.database_url)


def body(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "account_id": "AUR-MX-0001",
        "amount": "1600.00",
        "paid_at": "2026-03-10T11:20:00-06:00",
        "reference": "SPEI-0001",
    }
    values.update(overrides)
    return values


def post(client: TestClient, key: str | None = SUPERVISOR, **overrides: Any):
    headers = auth(key) if key else {}
    return client.post("/v1/payments", json=body(**overrides), headers=headers)


# --- roles ---------------------------------------------------------------------------------------


def test_only_supervisors_and_admins_may_record_payments(client, engine):
    assert post(client, None).status_code == 401
    assert post(client, "not-a-key").status_code == 401
    assert post(client, QA).status_code == 403
    assert post(client, SUPERVISOR).status_code == 201
    assert post(client, ADMIN, reference="SPEI-0002").status_code == 201
    with session_scope(engine) as session:
        assert len(session.exec(select(Payment)).all()) == 2


# --- idempotency ---------------------------------------------------------------------------------


def test_a_replay_returns_the_original_with_200_and_changes_nothing(client, engine):
    first = post(client)
    assert first.status_code == 201, first.text
    with session_scope(engine) as session:
        audit_count = len(session.exec(select(AuditEvent)).all())
    # The same payment, the account named by its numeric id and the time in UTC.
    again = post(client, account_id=first.json()["account_id"], paid_at="2026-03-10T17:20:00Z")
    assert again.status_code == 200 and again.json() == first.json()
    with session_scope(engine) as session:
        assert len(session.exec(select(AuditEvent)).all()) == audit_count
        [payment] = session.exec(select(Payment)).all()
        account = session.exec(select(Account).where(Account.reference == "AUR-MX-0001")).one()
    assert str(account.paid) == "1600.00" and payment.reference == "SPEI-0001"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "1500"}, "amount"),
        ({"account_id": "AUR-CO-0002"}, "account"),
        ({"paid_at": "2026-03-10T11:21:00-06:00"}, "paid_at"),
    ],
)
def test_the_same_reference_with_another_body_is_a_conflict(client, engine, change, field):
    assert post(client).status_code == 201
    response = post(client, **change)
    assert response.status_code == 409
    assert field in response.json()["detail"] and "SPEI-0001" in response.json()["detail"]
    with session_scope(engine) as session:
        assert len(session.exec(select(Payment)).all()) == 1


# --- errors --------------------------------------------------------------------------------------


def test_an_unknown_account_is_404(client):
    for account in ("AUR-XX-9999", 424242, "424242"):
        response = post(client, account_id=account)
        assert response.status_code == 404, response.text
        assert "no account" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": -10}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "mil"}, "amount"),
        ({"paid_at": "2026-03-10T11:20:00"}, "paid_at"),
        ({"paid_at": "ayer"}, "paid_at"),
        ({"reference": ""}, "reference"),
        ({"account_id": None}, "account_id"),
    ],
)
def test_bad_fields_are_422_naming_the_field(client, change, where):
    response = post(client, **change)
    assert response.status_code == 422, response.text
    assert any(where in [str(p) for p in e["loc"]] for e in response.json()["detail"])


def test_a_payment_in_the_future_is_422(client):
    response = post(client, paid_at=(CLOCK + timedelta(days=1)).isoformat())
    assert response.status_code == 422 and "future" in response.json()["detail"]


def test_bad_json_is_422(client):
    response = client.post(
        "/v1/payments",
        content=b'{"account_id": "AUR-MX-0001", "amount": ',
        headers={**auth(SUPERVISOR), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_numbers_are_exact(client):
    response = post(client, amount=1600.1, account_id="AUR-PE-0003")
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == "1600.10"
    assert response.json()["account_balance"] == "1099.90"  # 2,700 - 1,600.10


# --- the thank-you -------------------------------------------------------------------------------


def test_the_thank_you_is_queued_and_guard_clean(client, engine, settings, demo_ids):
    agreement_id, conversation_id = make_agreement(
        engine, demo_ids["AUR-MX-0001"], NOW, last_inbound_at=NOW
    )
    response = post(client, amount="2000")
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["agreement_id"] == agreement_id and result["installments_paid"] == [1]
    assert result["remaining"] == "2800.00" and result["agreement_status"] == "active"

    [thanks] = outbound(engine, conversation_id)
    assert thanks.id == result["thank_you_message_id"]
    assert (thanks.status, thanks.kind, thanks.guard_outcome) == ("queued", "text", "pass")
    assert "$2,000" in thanks.body and "$1,200" in thanks.body and "$2,800" in thanks.body
    with session_scope(engine) as session:
        ctx = load_context(session, conversation_id)
        rows = installments_of(session, agreement_id)
        facts = _notice_facts(
            ctx,
            CLOCK.date(),
            installment_facts(rows, CLOCK.date()),
            amount=Decimal(result["amount"]),
            remaining=Decimal(result["remaining"]),
        )
    verdict = check(thanks.body, notice_guard_context(facts, Notice.thank_you_progress))
    assert verdict.passed, verdict.violations

    # The outbox dispatcher sends it like any reply.
    Dispatcher(engine, SandboxChannel(), clock=lambda: CLOCK + timedelta(minutes=1)).run_once()
    assert outbound(engine, conversation_id)[0].status == "sent"


@pytest.fixture
def demo_ids(engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return {a.reference: a.id or 0 for a in session.exec(select(Account))}


def test_a_negotiated_agreement_is_paid_off_through_the_api(client, settings, engine, demo_ids):
    """The hardship conversation of test_conversation.py, then its installments paid."""
    from agent.runtime import open_negotiator

    with open_negotiator(settings) as negotiator:
        conv = negotiator.open_conversation(demo_ids["AUR-MX-0001"], NOW)
        texts = (
            "Hola buenas tardes",
            "4821",
            "perdí mi trabajo y este mes no puedo pagar todo",
            "puedo pagar 1000 al mes",
            "sí, confirmo",
        )
        for i, text in enumerate(texts):
            result = negotiator.receive(conv, text, now=NOW + timedelta(minutes=i))
    assert result.stage == "agreement_active"
    with session_scope(engine) as session:
        agreement = session.exec(select(Agreement).where(Agreement.conversation_id == conv)).one()
        total = agreement.total
        # What the webhook path records (receive() alone does not): she wrote minutes ago.
        conversation = session.get(Conversation, conv)
        conversation.last_inbound_at = NOW + timedelta(minutes=len(texts) - 1)
        session.add(conversation)
    replies = len(outbound(engine, conv))

    first = post(client, amount="1000", reference="A-1").json()
    assert first["agreement_status"] == "active" and first["installments_paid"] == [1]
    rest = post(client, amount=str(total - 1000), reference="A-2").json()
    assert rest["agreement_status"] == "completed" and rest["remaining"] == "0.00"
    assert rest["account_balance"] == "0.00" and rest["unallocated"] == "0.00"

    thanks = outbound(engine, conv)[replies:]
    assert [m.action for m in thanks] == [
        "payment.thank_you_progress",
        "payment.thank_you_completed",
    ]
    assert all(m.kind == "text" and m.guard_outcome == "pass" for m in thanks)
    assert "¡Quedaste al día!" in thanks[-1].body
    with session_scope(engine) as session:
        assert session.get(Conversation, conv).stage == "settled"
        assert session.get(Agreement, agreement.id).status == "completed"

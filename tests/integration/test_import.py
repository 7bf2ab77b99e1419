"""Importing the portfolio: `pacta import accounts` and `POST /v1/accounts/import`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import func, select

import agent.portfolio as portfolio
from agent.config import Settings
from agent.portfolio import import_text
from agent.store.db import engine_for, session_scope, upgrade
from agent.store.models import (
    Account,
    Agreement,
    AgreementStatus,
    AuditEvent,
    Conversation,
    Debtor,
    Stage,
)
from api.app import create_app
from tests.integration.test_cli import pacta

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[2] / "examples" / "accounts.csv"
TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)
HEADER = (
    "account_id,debtor_name,phone,national_id,email,currency,principal,interest,fees,"
    "due_date,segment,whatsapp_opt_in"
)
ROW = (
    "R-1,Marta Gil,55 1234 0000,GIMA800101HDFRRL02,marta@example.com,MXN,3000.00,120.00,0,"
    "2026-01-10,standard,"
)


def csv(*rows: str) -> str:
    return HEADER + "\n" + "\n".join(rows) + "\n"


def counts(report: Any) -> tuple[int, int, int, list[int]]:
    return report.created, report.updated, report.unchanged, [r.line for r in report.rejected]


def run(engine: Engine, text: str, now: datetime = NOW) -> portfolio.ImportReport:
    with session_scope(engine) as session:
        return import_text(session, text, now.date(), now=now)


def account(engine: Engine, reference: str = "R-1") -> tuple[Account, Debtor]:
    with session_scope(engine) as session:
        a = session.exec(select(Account).where(Account.reference == reference)).one()
        d = session.get(Debtor, a.debtor_id)
        assert d is not None
        return a, d


# --- the command line --------------------------------------------------------------------------


def db_count(tmp_path: Path, model: type) -> int:
    engine = engine_for(Settings(data_dir=tmp_path / "data").database_url)
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_cli_imports_the_example_then_reimport_changes_nothing(tmp_path):
    env = {"COLUMNS": "200"}
    done = pacta("import", "accounts", str(EXAMPLE), tmp_path=tmp_path, env_extra=env)
    assert done.returncode == 1, done.stderr  # the two deliberately bad rows
    assert "created 10, updated 0, unchanged 0, rejected 2" in done.stdout
    assert "Rejected rows" in done.stdout
    assert "thousands separator" in done.stdout and "not a valid phone number" in done.stdout
    assert "line 4" in done.stderr and "line 7" in done.stderr
    assert "deprecated" not in done.stderr

    again = pacta("import", "accounts", "--json", str(EXAMPLE), tmp_path=tmp_path)
    assert again.returncode == 1
    report = json.loads(again.stdout)
    assert report["created"] == 0 and report["updated"] == 0 and report["unchanged"] == 10
    assert [r["line"] for r in report["rejected"]] == [4, 7]
    assert set(report["rejected"][0]) == {"line", "reason"}
    assert db_count(tmp_path, Account) == 10
    assert db_count(tmp_path, Debtor) == 10


def test_cli_reimport_updates_and_the_old_form_still_works(tmp_path):
    first = tmp_path / "first.csv"
    first.write_text(csv(ROW, ROW.replace("R-1", "R-2").replace("0000", "0001")), "utf-8")
    done = pacta("import", "accounts", str(first), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "created 2, updated 0, unchanged 0, rejected 0" in done.stdout

    second = tmp_path / "second.csv"
    changed = ROW.replace("3000.00", "2500.00").replace("standard", "hardship")
    second.write_text(csv(changed, ROW.replace("R-1", "R-2").replace("0000", "0001")), "utf-8")
    old_form = pacta("import", str(second), tmp_path=tmp_path)  # deprecated alias
    assert old_form.returncode == 0, old_form.stderr
    assert "deprecated" in old_form.stderr and "pacta import accounts" in old_form.stderr
    assert "created 0, updated 1, unchanged 1, rejected 0" in old_form.stdout
    assert db_count(tmp_path, Account) == 2
    engine = engine_for(Settings(data_dir=tmp_path / "data").database_url)
    a, _ = account(engine)
    assert (a.principal, a.segment) == (Decimal("2500.00"), "hardship")


def test_cli_names_missing_columns_with_exit_code_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("account_id,name,amount\nx,y,1\n", "utf-8")
    done = pacta("import", "accounts", "--json", str(bad), tmp_path=tmp_path)
    assert done.returncode == 2
    out = json.loads(done.stdout)
    assert out["missing"] == ["debtor_name", "phone", "principal", "due_date or days_past_due"]
    assert "missing required columns" in done.stderr


# --- re-import semantics -----------------------------------------------------------------------


def test_reimport_updates_in_place_never_duplicates(engine):
    assert counts(run(engine, csv(ROW))) == (1, 0, 0, [])
    assert counts(run(engine, csv(ROW))) == (0, 0, 1, [])
    changed = (
        "R-1,Marta Gil Ruiz,55 1234 0000,,MARTA.GIL@example.com,MXN,2800.00,150.00,25.00,"
        "2026-01-20,hardship,"
    )
    assert counts(run(engine, csv(changed))) == (0, 1, 0, [])
    a, d = account(engine)
    assert (a.principal, a.interest, a.fees) == (
        Decimal("2800.00"),
        Decimal("150.00"),
        Decimal("25.00"),
    )
    assert (a.due_date, a.segment) == (date(2026, 1, 20), "hardship")
    assert (d.name, d.email) == ("Marta Gil Ruiz", "marta.gil@example.com")
    assert d.document_last4 == "0102"  # an empty national_id keeps what was stored
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(Account)).one() == 1
        kinds = [e.kind for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]
    assert kinds == ["account.imported", "account.updated"]


def test_a_rejected_row_writes_nothing_of_itself(engine):
    run(engine, csv(ROW))
    # New name AND a currency change: the currency is refused, so the name is not written either.
    bad = ROW.replace("Marta Gil", "Otra Persona").replace("MXN", "USD")
    report = run(engine, csv(bad, ROW.replace("R-1", "R-2").replace("0000", "0001")))
    assert counts(report) == (1, 0, 0, [2])
    assert "currency" in report.rejected[0].reason
    _, d = account(engine)
    assert d.name == "Marta Gil"


def test_an_error_mid_import_leaves_nothing_half_written(engine, monkeypatch):
    calls = {"n": 0}
    real = portfolio._apply

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(portfolio, "_apply", failing)
    rows = [ROW.replace("R-1", f"R-{i}").replace("0000", f"000{i}") for i in range(1, 5)]
    with pytest.raises(RuntimeError):
        run(engine, csv(*rows))
    with session_scope(engine) as session:
        assert session.exec(select(Account)).all() == []
        assert session.exec(select(Debtor)).all() == []


def engage(engine: Engine, reference: str = "R-1", *, paid: Decimal | None = None) -> None:
    with session_scope(engine) as session:
        a = session.exec(select(Account).where(Account.reference == reference)).one()
        conversation = Conversation(account_id=a.id or 0, stage=Stage.agreement_active)
        session.add(conversation)
        session.flush()
        session.add(
            Agreement(
                account_id=a.id or 0,
                conversation_id=conversation.id or 0,
                kind="installments",
                frequency="monthly",
                status=AgreementStatus.active,
                currency="MXN",
                balance=a.balance,
                total=a.balance,
                installments_count=3,
                valid_until=TODAY,
            )
        )
        if paid is not None:
            a.paid = paid
            session.add(a)


def test_an_account_under_agreement_keeps_its_balance(engine):
    run(engine, csv(ROW))
    engage(engine, paid=Decimal("1000.00"))
    changed = ROW.replace("3000.00", "2000.00").replace("2026-01-10", "2026-02-10")
    changed = changed.replace("standard", "hardship")
    report = run(engine, csv(changed))
    assert counts(report) == (0, 1, 0, [])
    assert len(report.warnings) == 1 and "live agreement" in report.warnings[0].reason
    a, _ = account(engine)
    assert (a.principal, a.due_date, a.paid) == (
        Decimal("3000.00"),
        date(2026, 1, 10),
        Decimal("1000.00"),
    )
    assert a.segment == "hardship"  # what the agreement does not rest on still updates
    with session_scope(engine) as session:
        conversation = session.exec(select(Conversation)).one()
        agreement = session.exec(select(Agreement)).one()
    assert conversation.stage == Stage.agreement_active
    assert agreement.status == AgreementStatus.active
    # Only the frozen fields differ: unchanged, with the warning.
    report = run(engine, csv(changed))
    assert counts(report) == (0, 0, 1, []) and len(report.warnings) == 1


def test_opt_in_is_recorded_withdrawn_only_when_the_import_gave_it(engine):
    yes, no = ROW + "sí", ROW + "no"
    run(engine, csv(ROW))
    assert account(engine)[1].whatsapp_opt_in_at is None
    run(engine, csv(yes))
    d = account(engine)[1]
    assert (d.whatsapp_opt_in_at, d.whatsapp_opt_in_source) == (NOW, "import")
    assert counts(run(engine, csv(yes), LATER)) == (0, 0, 1, [])  # kept, not moved
    assert account(engine)[1].whatsapp_opt_in_at == NOW
    assert counts(run(engine, csv(ROW))) == (0, 0, 1, [])  # empty: not stated, nothing changes
    assert counts(run(engine, csv(no))) == (0, 1, 0, [])
    assert account(engine)[1].whatsapp_opt_in_at is None
    # The debtor's own opt-in (written on WhatsApp) and their opt-out stand against any file.
    with session_scope(engine) as session:
        d = session.exec(select(Debtor)).one()
        d.whatsapp_opt_in_at, d.opted_out_at = NOW, LATER
        session.add(d)
    assert counts(run(engine, csv(no))) == (0, 0, 1, [])
    assert counts(run(engine, csv(yes))) == (0, 0, 1, [])
    d = account(engine)[1]
    assert (d.whatsapp_opt_in_at, d.whatsapp_opt_in_source, d.opted_out_at) == (NOW, None, LATER)
    with session_scope(engine) as session:
        kinds = [e.kind for e in session.exec(select(AuditEvent)) if "opt_in" in e.kind]
    assert kinds == ["contact.whatsapp_opt_in", "contact.whatsapp_opt_in_withdrawn"]


def test_a_phone_change_is_applied_only_while_it_is_safe(engine):
    run(engine, csv(ROW + "sí", ROW.replace("R-1", "R-2").replace("0000", "0001")))
    moved = ROW.replace("55 1234 0000", "55 1234 0009")
    assert counts(run(engine, csv(moved))) == (0, 1, 0, [])
    _, d = account(engine)
    assert d.phone == "+525512340009"
    assert d.whatsapp_opt_in_at is None  # consent was given from the old number
    taken = ROW.replace("55 1234 0000", "55 1234 0001")  # R-2's debtor
    report = run(engine, csv(taken))
    assert counts(report) == (0, 0, 0, [2]) and "another debtor" in report.rejected[0].reason
    engage(engine)
    report = run(engine, csv(ROW))
    assert counts(report) == (0, 0, 0, [2]) and "conversation" in report.rejected[0].reason
    assert account(engine)[1].phone == "+525512340009"


# --- HTTP --------------------------------------------------------------------------------------

ADMIN, QA, SUPERVISOR = "k-admin-1d2e3f", "k-qa-4a5b6c", "k-sup-7a8b9c"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def http(tmp_path: Path) -> TestClient:
    settings = Settings(
        data_dir=tmp_path / "data",
        llm="offline",
        background=False,
        api_keys=f"{ADMIN}:admin,{QA}:qa,{SUPERVISOR}:supervisor",
        max_body_bytes=4096,
    )
    upgrade(settings.database_url)
    return TestClient(create_app(settings))


def post_csv(client: TestClient, body: str | bytes, key: str = ADMIN, **headers: str) -> Any:
    headers = {"Content-Type": "text/csv", **auth(key), **headers}
    return client.post("/v1/accounts/import", content=body, headers=headers)


def test_http_imports_raw_csv_and_multipart(http):
    response = post_csv(http, csv(ROW, ROW.replace("R-1", "R-2").replace("MXN", "PESOS")))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] == 1 and body["updated"] == 0 and body["unchanged"] == 0
    assert body["rejected"] == [{"line": 3, "reason": body["rejected"][0]["reason"]}]
    assert "currency" in body["rejected"][0]["reason"]
    assert body["warnings"] == []

    changed = ROW.replace("3000.00", "2900.00")
    response = http.post(
        "/v1/accounts/import",
        files={"file": ("cartera.csv", csv(changed).encode(), "text/csv")},
        headers=auth(ADMIN),
    )
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["updated"]) == (0, 1)
    response = post_csv(http, csv(changed).encode(), **{"Content-Type": "text/csv; charset=utf-8"})
    assert response.json()["unchanged"] == 1


def test_http_import_is_for_admins_only(http):
    assert post_csv(http, csv(ROW), key=QA).status_code == 403
    assert post_csv(http, csv(ROW), key=SUPERVISOR).status_code == 403
    assert post_csv(http, csv(ROW), key="nope").status_code == 401
    anonymous = http.post(
        "/v1/accounts/import", content=csv(ROW), headers={"Content-Type": "text/csv"}
    )
    assert anonymous.status_code == 401


def test_http_import_refuses_what_it_cannot_read(http):
    too_big = csv(*[ROW.replace("R-1", f"R-{i}") for i in range(40)])
    assert len(too_big.encode()) > 4096
    assert post_csv(http, too_big).status_code == 413
    upload = {"file": ("big.csv", too_big.encode(), "text/csv")}
    assert http.post("/v1/accounts/import", files=upload, headers=auth(ADMIN)).status_code == 413

    as_json = http.post("/v1/accounts/import", json={"rows": []}, headers=auth(ADMIN))
    assert as_json.status_code == 415
    latin1 = post_csv(
        http, csv(ROW).encode("latin-1"), **{"Content-Type": "text/csv; charset=latin-1"}
    )
    assert latin1.status_code == 415

    missing = post_csv(http, "account_id,debtor_name,amount\nx,y,1\n")
    assert missing.status_code == 422
    assert missing.json()["missing"] == ["phone", "principal", "due_date or days_past_due"]
    assert "missing required columns" in missing.json()["detail"]
    no_file = http.post(
        "/v1/accounts/import", data={"other": "x"}, files={"x": ("a", b"b")}, headers=auth(ADMIN)
    )
    assert no_file.status_code == 422
    with session_scope(engine_for(http.app.state.settings.database_url)) as session:  # type: ignore[attr-defined]
        assert session.exec(select(Account)).all() == []

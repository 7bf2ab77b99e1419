"""`pacta payments import` and `pacta payments sweep`, run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from agent.config import Settings
from agent.portfolio import seed_demo
from agent.store.db import engine_for, session_scope, upgrade
from agent.store.models import Account, AuditEvent, Message, Payment
from tests.conftest import NOW
from tests.payments_support import make_agreement

pytestmark = pytest.mark.integration

CSV = """account_id,amount,paid_at,reference
AUR-MX-0001,1000.00,2026-03-10T10:00:00-06:00,CSV-1
AUR-XX-0009,50,2026-03-10T10:00:00-06:00,CSV-2
AUR-MX-0001,0,2026-03-10T10:00:00-06:00,CSV-3
AUR-MX-0001,10,2026-03-10T10:00:00,CSV-4
{pe_id},100.50,2026-03-10T09:00:00-05:00,CSV-5
AUR-CO-0002,abc,2026-03-10T10:00:00-05:00,CSV-6
AUR-MX-0001,999,2026-03-10T10:00:00-06:00,CSV-1
AUR-MX-0001,10,2026-03-10T10:00:00-06:00,

AUR-CO-0002,250000,2026-03-09T18:30:00-05:00,CSV-7
AUR-MX-0001,10,2099-01-01T10:00:00-06:00,CSV-8
AUR-MX-0001,12.345,2026-03-10T10:00:00-06:00,CSV-9
"""
# line: reason
BAD = {
    3: "no account with reference 'AUR-XX-0009'",
    4: "amount must be positive",
    5: "timezone",
    7: "amount",
    8: "already recorded with a different amount",
    9: "reference",
    12: "future",
    13: "at most two decimals",
}


def pacta(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PACTA_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


@pytest.fixture
def db(tmp_path: Path):
    """The database the CLI will use, seeded with the demo portfolio."""
    settings = Settings(data_dir=tmp_path / "data", llm="offline")
    upgrade(settings.database_url)
    engine = engine_for(settings.database_url)
    with session_scope(engine) as session:
        ids = {a.reference: a.id or 0 for a in seed_demo(session, NOW.date())}
    return engine, ids


def state(engine):
    with session_scope(engine) as session:
        payments = sorted((p.reference, p.amount) for p in session.exec(select(Payment)))
        paid = {a.reference: a.paid for a in session.exec(select(Account))}
        audit = len(session.exec(select(AuditEvent)).all())
    return payments, paid, audit


def test_import_applies_good_rows_and_reports_each_bad_one(tmp_path, db):
    engine, ids = db
    path = tmp_path / "payments.csv"
    path.write_text(CSV.format(pe_id=ids["AUR-PE-0003"]), encoding="utf-8")

    done = pacta(tmp_path, "payments", "import", str(path))
    assert done.returncode == 1, done.stderr
    assert "applied 3, already recorded 0" in done.stdout
    reported = {
        int(line.split(":")[0].removeprefix("line ")): line
        for line in done.stderr.splitlines()
        if line.startswith("line ")
    }
    assert sorted(reported) == sorted(BAD), done.stderr
    for line, reason in BAD.items():
        assert reason in reported[line], (line, reported[line])

    payments, paid, _ = state(engine)
    assert payments == [
        ("CSV-1", Decimal("1000.00")),
        ("CSV-5", Decimal("100.50")),
        ("CSV-7", Decimal("250000.00")),
    ]
    assert paid == {
        "AUR-MX-0001": Decimal("1000.00"),
        "AUR-CO-0002": Decimal("250000.00"),
        "AUR-PE-0003": Decimal("100.50"),
    }

    # The same file again: nothing changes, the same rows are refused.
    before = state(engine)
    again = pacta(tmp_path, "payments", "import", str(path))
    assert again.returncode == 1
    assert "applied 0, already recorded 3" in again.stdout
    assert again.stderr == done.stderr
    assert state(engine) == before


def test_import_names_missing_columns(tmp_path, db):
    path = tmp_path / "bad.csv"
    path.write_text("account,amount\nAUR-MX-0001,10\n", encoding="utf-8")
    done = pacta(tmp_path, "payments", "import", str(path))
    assert done.returncode == 1
    assert "line 1:" in done.stderr and "paid_at" in done.stderr and "reference" in done.stderr


def test_a_clean_file_exits_zero_and_thanks_the_debtor(tmp_path, db):
    engine, ids = db
    _, conversation_id = make_agreement(engine, ids["AUR-MX-0001"], NOW)
    path = tmp_path / "ok.csv"
    path.write_text(
        "account_id,amount,paid_at,reference\nAUR-MX-0001,1600,2026-03-10T10:00:00-06:00,OK-1\n",
        encoding="utf-8",
    )
    done = pacta(tmp_path, "payments", "import", str(path))
    assert done.returncode == 0, done.stderr
    assert "applied 1" in done.stdout
    with session_scope(engine) as session:
        [thanks] = session.exec(
            select(Message).where(Message.conversation_id == conversation_id)
        ).all()
    assert thanks.status == "queued" and thanks.action == "payment.thank_you_progress"


def test_sweep_command_reminds_once(tmp_path, db):
    engine, ids = db
    make_agreement(engine, ids["AUR-MX-0001"], NOW)  # first installment due 12 March
    first = pacta(tmp_path, "payments", "sweep", "--now", "2026-03-11T11:00:00-06:00")
    assert first.returncode == 0, first.stderr
    assert "agreements 1" in first.stdout and "reminders 1" in first.stdout
    second = pacta(tmp_path, "payments", "sweep", "--now", "2026-03-11T12:00:00-06:00")
    assert second.returncode == 0 and "reminders 0" in second.stdout


def test_sweep_refuses_a_naive_time(tmp_path, db):
    done = pacta(tmp_path, "payments", "sweep", "--now", "2026-03-11T11:00:00")
    assert done.returncode == 2 and "offset" in done.stderr

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlmodel import select

from agent.portfolio import AccountRow, CsvFormatError, import_csv
from agent.store.db import alembic_config, session_scope
from agent.store.models import Account, Debtor, Payment


def test_migration_matches_models(settings, engine):
    # `alembic check` raises when the models have drifted from the migrations.
    command.check(alembic_config(settings.database_url))


def test_money_is_exact_and_timestamps_stay_aware(engine):
    paid_at = datetime(2026, 3, 10, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    with session_scope(engine) as session:
        debtor = Debtor(name="Ana", phone="+51987654321")
        session.add(debtor)
        session.flush()
        account = Account(
            debtor_id=debtor.id,
            reference="R-1",
            creditor="X",
            currency="PEN",
            principal=Decimal("12345678.91"),
            due_date=date(2026, 1, 1),
        )
        session.add(account)
        session.flush()
        session.add(
            Payment(account_id=account.id, amount=Decimal("0.07"), paid_at=paid_at, reference="p1")
        )
    with session_scope(engine) as session:
        stored = session.exec(select(Account)).one()
        payment = session.exec(select(Payment)).one()
    assert stored.principal == Decimal("12345678.91")
    assert isinstance(stored.principal, Decimal)
    assert payment.amount == Decimal("0.07")
    assert payment.paid_at == paid_at
    assert payment.paid_at.tzinfo is not None
    assert payment.paid_at.utcoffset() == UTC.utcoffset(None)


def test_money_rejects_sub_cent_amounts(engine):
    with pytest.raises(Exception, match="two decimal places"), session_scope(engine) as session:
        session.add(Debtor(name="B", phone="+5215500000000"))
        session.flush()
        session.add(
            Account(
                debtor_id=1,
                reference="R-2",
                creditor="X",
                currency="MXN",
                principal=Decimal("10.005"),
                due_date=date(2026, 1, 1),
            )
        )
        session.flush()


def test_naive_datetimes_are_refused(engine):
    with pytest.raises(Exception, match="naive"), session_scope(engine) as session:
        session.add(Debtor(name="C", phone="+5215500000001", created_at=datetime(2026, 1, 1)))
        session.flush()


def test_account_row_normalises_phone_and_timezone():
    row = AccountRow(
        reference="A",
        debtor_name="Luis",
        phone="300 123 4567",
        principal="1500000",
        jurisdiction="co",
        currency="cop",
        days_past_due=10,
    )
    assert row.phone == "+573001234567"
    assert row.timezone == "America/Bogota"
    assert row.currency == "COP"
    assert row.resolved_due_date(date(2026, 3, 10)) == date(2026, 2, 28)


def test_csv_import_reports_bad_rows_and_keeps_good_ones(engine, tmp_path: Path):
    csv_file = tmp_path / "accounts.csv"
    csv_file.write_text(
        "reference,debtor_name,phone,document_last4,currency,principal,days_past_due,jurisdiction\n"
        "A-1,Lucía Pérez,5512345678,4821,MXN,4500,35,MX\n"
        "A-2,Sin Teléfono,12,,MXN,100,3,MX\n"
        "A-3,Monto Malo,5587654321,,MXN,mil,3,MX\n"
        "A-4,Sin Fecha,5511112222,,MXN,100,,MX\n"
        "A-5,Carlos Ruiz,3001234567,12345,COP,1500000,80,CO\n"
        "A-6,Ana Torres,987654321,1596,PEN,2400.50,200,PE\n",
        encoding="utf-8",
    )
    with session_scope(engine) as session:
        report = import_csv(session, csv_file, date(2026, 3, 10))
    assert report.created == 2
    bad_lines = {line for line, _ in report.errors}
    assert bad_lines == {3, 4, 5, 6}
    reasons = dict(report.errors)
    assert "phone" in reasons[3]
    assert "principal" in reasons[4]
    assert "due_date or days_past_due" in reasons[5]
    assert "four digits" in reasons[6]
    with session_scope(engine) as session:
        refs = sorted(a.reference for a in session.exec(select(Account)))
        assert refs == ["A-1", "A-6"]
        again = import_csv(session, csv_file, date(2026, 3, 10))
    assert (again.created, again.unchanged) == (0, 2)


def test_csv_import_names_missing_columns(engine, tmp_path: Path):
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("name,amount\nx,1\n", encoding="utf-8")
    with (
        pytest.raises(CsvFormatError, match="missing required columns") as raised,
        session_scope(engine) as session,
    ):
        import_csv(session, csv_file, date(2026, 3, 10))
    assert raised.value.missing == [
        "account_id",
        "debtor_name",
        "phone",
        "principal",
        "due_date or days_past_due",
    ]

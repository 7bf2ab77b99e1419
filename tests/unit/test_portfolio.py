"""Portfolio rows and CSV reading: phones, opt-in, national ids, emails, line-numbered reasons."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlmodel import select

from agent.portfolio import (
    AccountRow,
    CsvFormatError,
    e164,
    import_bytes,
    import_text,
    national_id_last4,
    parse_opt_in,
)
from agent.store.db import session_scope
from agent.store.models import Account, Debtor

TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
HEADER = "account_id,debtor_name,phone,principal,days_past_due,jurisdiction"


def row(**overrides: object) -> AccountRow:
    values: dict[str, object] = {
        "account_id": "A-1",
        "debtor_name": "Lucía Pérez",
        "phone": "55 1234 5678",
        "principal": "4500",
        "days_past_due": "35",
        "jurisdiction": "MX",
    }
    values.update(overrides)
    return AccountRow.model_validate({k: v for k, v in values.items() if v is not None})


@pytest.mark.parametrize(
    ("phone", "jurisdiction", "expected"),
    [
        ("55 1234 5678", "MX", "+525512345678"),
        ("+52 1 55 1234 5678", "MX", "+525512345678"),  # the old mobile "1" dropped
        ("5215512345678", "MX", "+525512345678"),
        ("0052 55 1234 5678", "MX", "+525512345678"),
        ("300 123 4567", "CO", "+573001234567"),
        ("987 654 321", "PE", "+51987654321"),
        ("9 6123 4567", "CL", "+56961234567"),
        ("9 11 2345 6789", "AR", "+5491123456789"),
        ("612 34 56 78", "ES", "+34612345678"),
        ("(212) 555-0123", "US", "+12125550123"),
        ("+34 612 34 56 78", "MX", "+34612345678"),  # a "+" number keeps its own country
    ],
)
def test_phones_become_e164_read_in_the_jurisdiction(phone, jurisdiction, expected):
    assert e164(phone, jurisdiction) == expected
    assert row(phone=phone, jurisdiction=jurisdiction).phone == expected


@pytest.mark.parametrize("phone", ["12", "55 1234", "not a phone", "+52 55 1234 5678 9999"])
def test_bad_phones_are_refused_without_echoing_the_number(phone):
    with pytest.raises(ValidationError) as raised:
        row(phone=phone)
    message = str(raised.value.errors()[0]["msg"])
    assert "phone" in message
    if phone[:1].isdigit() or phone.startswith("+"):
        assert phone not in message


@pytest.mark.parametrize("text", ["true", "TRUE", "yes", "Sí", "si", "SI", "1", " y "])
def test_opt_in_true(text):
    assert parse_opt_in(text) is True
    assert row(whatsapp_opt_in=text).whatsapp_opt_in is True


@pytest.mark.parametrize("text", ["false", "No", "NO", "0", "n"])
def test_opt_in_false(text):
    assert parse_opt_in(text) is False


@pytest.mark.parametrize("text", ["", "  ", None])
def test_opt_in_empty_is_not_stated(text):
    assert parse_opt_in(text) is None


@pytest.mark.parametrize("text", ["maybe", "2", "quizás", "verdad"])
def test_opt_in_other_words_are_refused(text):
    with pytest.raises(ValueError, match="whatsapp_opt_in"):
        parse_opt_in(text)
    with pytest.raises(ValidationError):
        row(whatsapp_opt_in=text)


@pytest.mark.parametrize(
    ("national_id", "last4"),
    [
        ("15.678.432-K", "8432"),  # Chilean RUT: the check letter is not a digit
        ("45678123Z", "8123"),  # Spanish DNI
        ("1.023.456.789", "6789"),  # Colombian cédula
        ("123-45-6789", "6789"),  # US SSN
        ("HEGL850312MDFRNC07", "1207"),  # Mexican CURP: letters ignored
        ("4821", "4821"),
    ],
)
def test_national_id_keeps_only_its_last_four_digits(national_id, last4):
    assert national_id_last4(national_id) == last4
    r = row(national_id=national_id)
    assert r.document_last4 == last4
    assert r.national_id is None
    if national_id != last4:
        assert national_id not in repr(r)
        assert national_id not in r.model_dump_json()


def test_national_id_with_too_few_digits_is_refused_without_echo():
    with pytest.raises(ValidationError) as raised:
        row(national_id="AB-123")
    assert "at least four digits" in str(raised.value)
    assert "AB-123" not in str(raised.value.errors()[0]["msg"])


def test_old_document_last4_column_still_works_and_must_agree():
    assert row(document_last4="4821").document_last4 == "4821"
    assert row(document_last4="4821", national_id="99994821").document_last4 == "4821"
    with pytest.raises(ValidationError, match="disagree"):
        row(document_last4="4821", national_id="99991234")
    with pytest.raises(ValidationError, match="four digits"):
        row(document_last4="482")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Lucia.Perez@Example.COM", "lucia.perez@example.com"),
        (" ana+deudas@correo.com.mx ", "ana+deudas@correo.com.mx"),
        ("", None),
    ],
)
def test_email_is_validated_and_lower_cased(given, stored):
    assert row(email=given).email == stored


@pytest.mark.parametrize(
    "email",
    ["lucia", "lucia@", "@example.com", "lu cia@example.com", "a@@b.com", "a@b", "a..b@c.com"],
)
def test_bad_emails_are_refused(email):
    with pytest.raises(ValidationError, match="email"):
        row(email=email)


def test_currency_and_time_zone_default_to_the_jurisdiction():
    r = row(jurisdiction="cl", phone="9 6123 4567")
    assert (r.currency, r.timezone) == ("CLP", "America/Santiago")
    r = row(jurisdiction="ES", phone="612 34 56 78", currency="eur", timezone="Atlantic/Canary")
    assert (r.currency, r.timezone) == ("EUR", "Atlantic/Canary")
    with pytest.raises(ValidationError, match="ISO 4217"):
        row(currency="PESOS")


def test_amounts_are_decimal_never_float():
    r = row(principal="4500.50", interest="0.05", fees="")
    assert r.principal == Decimal("4500.50") and isinstance(r.principal, Decimal)
    assert r.fees == Decimal("0")
    with pytest.raises(ValidationError, match="never float"):
        AccountRow(
            reference="A", debtor_name="X", phone="+525512345678", principal=1.5, days_past_due=1
        )


def test_bad_values_are_rejected_with_their_line_and_reason(engine):
    text = (
        "account_id,debtor_name,phone,principal,interest,due_date,days_past_due,segment\n"
        "A-1,Bien,5512345678,100.00,0,2026-01-01,,standard\n"  # line 2: good
        "A-2,Tres Decimales,5512345679,100.005,0,,10,standard\n"  # 3
        "A-3,Negativo,5512345680,100,-5,,10,standard\n"  # 4
        "A-4,Letras,5512345681,cien,0,,10,standard\n"  # 5
        'A-5,Miles,5512345682,"1,000",0,,10,standard\n'  # 6
        "A-6,Fecha,5512345683,100,0,15/01/2026,,standard\n"  # 7
        "A-7,Segmento,5512345684,100,0,,10,vip\n"  # 8
        "A-8,Días,5512345685,100,0,,-3,standard\n"  # 9
        "A-9,Cero,5512345686,0,0,,10,standard\n"  # 10
        "\n"  # 11: blank, skipped
        'A-10,"Nombre\nen dos líneas",5512345687,100,0,,10,standard\n'  # 12-13: good
        "A-11,Sin Fecha,5512345688,100,0,,,Hardship\n"  # 14
        ",Sin Cuenta,5512345689,100,0,,10,standard\n"  # 15
        "A-1,Repetida,5512345690,100,0,,10,standard\n"  # 16
        "A-12,Celdas,5512345691,100,0,,10,standard,extra\n"  # 17
    )
    with session_scope(engine) as session:
        report = import_text(session, text, TODAY, now=NOW)
    reasons = dict(report.errors)
    assert report.created == 2
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17]
    assert reasons[3].startswith("principal:") and "two decimals" in reasons[3]
    assert reasons[4].startswith("interest:")
    assert reasons[5].startswith("principal:") and "not an amount" in reasons[5]
    assert "thousands" in reasons[6]
    assert reasons[7].startswith("due_date:") and "YYYY-MM-DD" in reasons[7]
    assert reasons[8].startswith("segment:")
    assert reasons[9].startswith("days_past_due:")
    assert reasons[10] == "principal: must be positive"
    assert "due_date or days_past_due" in reasons[14]
    assert reasons[15].startswith("account_id:")
    assert reasons[16] == "account_id repeats line 2"
    assert reasons[17] == "9 cells for 8 columns"
    with session_scope(engine) as session:
        refs = sorted(a.reference for a in session.exec(select(Account)))
    assert refs == ["A-1", "A-10"]


def test_semicolons_legacy_names_and_unknown_columns(engine):
    text = (
        "reference;debtor_name;phone;document_last4;principal;days_past_due;segmento\n"
        "L-1;Marta Gil;5512340000;2468;3000;40;vip\n"
    )
    with session_scope(engine) as session:
        report = import_text(session, text, TODAY, now=NOW)
        debtor = session.exec(select(Debtor)).one()
    assert (report.created, report.errors) == (1, [])
    assert [(w.line, w.reason) for w in report.warnings] == [(1, "columns ignored: segmento")]
    assert debtor.document_last4 == "2468"


def test_same_phone_rows_must_agree_on_the_debtor(engine):
    text = (
        f"{HEADER},national_id\n"
        "P-1,Marta Gil,5512340000,100,10,MX,11112468\n"
        "P-2,Marta Gil,5512340000,200,10,MX,\n"  # same person, second account: fine
        "P-3,Otra Persona,5512340000,300,10,MX,\n"
    )
    with session_scope(engine) as session:
        report = import_text(session, text, TODAY, now=NOW)
        debtors = session.exec(select(Debtor)).all()
    assert report.created == 2
    assert report.errors == [(4, "same phone as line 2 with other debtor data")]
    assert len(debtors) == 1


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("name,amount\nx,1\n", ["account_id", "debtor_name", "phone", "principal"]),
        ("account_id,debtor_name,phone,principal\n", ["due_date or days_past_due"]),
        ("account_id,debtor_name,principal,due_date\n", ["phone"]),
    ],
)
def test_missing_required_columns_are_listed(engine, text, missing):
    with pytest.raises(CsvFormatError) as raised, session_scope(engine) as session:
        import_text(session, text, TODAY, now=NOW)
    assert [m for m in raised.value.missing if m in missing] == missing
    assert set(raised.value.missing) == set(missing) | (
        {"due_date or days_past_due"} if "due_date" not in text else set()
    )


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        ("account_id;debtor_name\n".encode("utf-16"), "not UTF-8"),
        (b"account_id,reference,debtor_name,phone,principal,due_date\n", "twice"),
    ],
)
def test_unreadable_files(engine, data, match):
    with pytest.raises(CsvFormatError, match=match), session_scope(engine) as session:
        import_bytes(session, data, TODAY, now=NOW)


def test_a_bom_and_crlf_line_ends_are_fine(engine):
    data = f"\ufeff{HEADER}\r\nB-1,Marta Gil,5512340000,100,10,MX\r\n".encode()
    with session_scope(engine) as session:
        report = import_bytes(session, data, TODAY, now=NOW)
    assert (report.created, report.errors) == (1, [])


def test_the_default_creditor_fills_an_empty_cell(engine):
    text = (
        f"{HEADER},creditor\n"
        "C-1,Marta Gil,5512340000,100,10,MX,\n"
        "C-2,Luis Paz,5512340001,1,1,MX,Tienda Sol\n"
    )
    with session_scope(engine) as session:
        import_text(session, text, TODAY, now=NOW, default_creditor="Acme Créditos")
        creditors = {a.reference: a.creditor for a in session.exec(select(Account))}
    assert creditors == {"C-1": "Acme Créditos", "C-2": "Tienda Sol"}

"""Stop conditions: recorded and lifted with `pacta stops`, audited, and honoured by the
cadence planner and the dispatcher while in force."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from agent.cadence.scheduler import CadenceScheduler
from agent.stops import StopError, lift_stop, record_stop, stops_for
from agent.store.db import session_scope
from agent.store.models import Account, AuditEvent, ContactStop, Debtor
from policies.cadence import load_cadence
from tests.conftest import NOW
from tests.integration.test_payments_cli import pacta

pytestmark = pytest.mark.integration


def opt_in_everyone(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        for debtor in session.exec(select(Debtor)).all():
            debtor.whatsapp_opt_in_at = NOW - timedelta(days=60)
            session.add(debtor)


def test_a_stop_silences_the_cadence_until_it_is_lifted(engine, demo_accounts):  # type: ignore[no-untyped-def]
    opt_in_everyone(engine)
    with session_scope(engine) as session:
        record_stop(session, "AUR-MX-0001", "debtor_has_lawyer", NOW, note="Lic. Ruiz")
        again = record_stop(session, "AUR-MX-0001", "debtor_has_lawyer", NOW)
        assert len(session.exec(select(ContactStop)).all()) == 1 and again.note == "Lic. Ruiz"
    planned = CadenceScheduler(engine, load_cadence(), sweep_payments=False).run_once(NOW)
    assert planned.queued + planned.held == 2  # Lucía is skipped, the other two are not

    with session_scope(engine) as session:
        [lifted] = lift_stop(session, "AUR-MX-0001", "debtor_has_lawyer", NOW + timedelta(days=1))
        assert lifted.lifted_at is not None
        account = session.exec(select(Account).where(Account.reference == "AUR-MX-0001")).one()
        assert stops_for(session, account) == []
        kinds = [e.kind for e in session.exec(select(AuditEvent)).all()]
    assert kinds.count("contact.stop_recorded") == 1 and kinds.count("contact.stop_lifted") == 1
    later = CadenceScheduler(engine, load_cadence(), sweep_payments=False)
    assert later.run_once(NOW + timedelta(days=1, hours=1)).queued == 1  # Lucía's turn now


def test_bad_requests_are_refused(engine, demo_accounts):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        with pytest.raises(StopError, match="unknown reason"):
            record_stop(session, "AUR-MX-0001", "bored", NOW)
        with pytest.raises(StopError, match="no 'deceased' stop"):
            lift_stop(session, "AUR-MX-0001", "deceased", NOW)


def test_pacta_stops_from_the_command_line(tmp_path, engine, demo_accounts):  # type: ignore[no-untyped-def]
    added = pacta(
        tmp_path, "stops", "add", "AUR-CO-0002", "--reason", "lawsuit_served", "--every-account"
    )
    assert added.returncode == 0, added.stderr
    assert "every account of the debtor" in added.stdout
    listed = pacta(tmp_path, "stops", "list", "AUR-CO-0002")
    assert "lawsuit_served" in listed.stdout and "every account" in listed.stdout
    unknown = pacta(tmp_path, "stops", "add", "AUR-XX-9", "--reason", "deceased")
    assert unknown.returncode == 1 and "no account" in unknown.stderr
    lifted = pacta(tmp_path, "stops", "lift", "AUR-CO-0002", "--reason", "lawsuit_served")
    assert lifted.returncode == 0 and "lifted 1" in lifted.stdout
    assert "no stop in force" in pacta(tmp_path, "stops", "list", "AUR-CO-0002").stdout

"""Stop conditions recorded for a debtor: a lawyer, a lawsuit, insolvency, a death, a
vulnerable recipient, a dispute. While one is in force, nothing business-initiated goes out:
the cadence skips the account and the dispatcher refuses its templates and notices (see
`agent.contact_rules.active_stops`). Recording and lifting one are audited."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from agent.payments import find_account
from agent.store.models import Account, AuditEvent, ContactStop
from policies.contact import STOP_FLAGS

REASONS = tuple(STOP_FLAGS)  # the policy packs' stop condition ids


class StopError(ValueError):
    """An unknown reason, or lifting a stop that is not in force."""


def record_stop(
    session: Session,
    account_ref: str,
    reason: str,
    now: datetime,
    *,
    every_account: bool = False,
    note: str | None = None,
    by: str = "cli",
) -> ContactStop:
    """Record a stop for the account's debtor (this account, or all of the debtor's accounts);
    recording the same stop again returns the one in force."""
    if reason not in REASONS:
        raise StopError(f"unknown reason {reason!r} (known: {', '.join(REASONS)})")
    account = find_account(session, account_ref)
    scope = None if every_account else account.id
    existing = _in_force(session, account, reason, scope)
    if existing is not None:
        return existing
    stop = ContactStop(
        debtor_id=account.debtor_id, account_id=scope, reason=reason, note=note, since=now
    )
    session.add(stop)
    session.flush()
    _audit(session, "contact.stop_recorded", now, account, stop, by)
    return stop


def lift_stop(
    session: Session, account_ref: str, reason: str, now: datetime, *, by: str = "cli"
) -> list[ContactStop]:
    """Lift the stops with this reason that apply to the account (its own and its debtor's)."""
    account = find_account(session, account_ref)
    lifted = [s for s in stops_for(session, account) if s.reason == reason]
    if not lifted:
        raise StopError(f"no {reason!r} stop is in force for {account.reference}")
    for stop in lifted:
        stop.lifted_at = now
        session.add(stop)
        _audit(session, "contact.stop_lifted", now, account, stop, by)
    return lifted


def stops_for(session: Session, account: Account) -> list[ContactStop]:
    """The stops in force for an account: its own and those for all its debtor's accounts."""
    return list(
        session.exec(
            select(ContactStop)
            .where(ContactStop.debtor_id == account.debtor_id)
            .where(col(ContactStop.lifted_at).is_(None))
            .where(
                col(ContactStop.account_id).is_(None) | (col(ContactStop.account_id) == account.id)
            )
            .order_by(col(ContactStop.since))
        ).all()
    )


def _in_force(
    session: Session, account: Account, reason: str, scope: int | None
) -> ContactStop | None:
    query = (
        select(ContactStop)
        .where(ContactStop.debtor_id == account.debtor_id, ContactStop.reason == reason)
        .where(col(ContactStop.lifted_at).is_(None))
    )
    query = query.where(
        col(ContactStop.account_id).is_(None)
        if scope is None
        else col(ContactStop.account_id) == scope
    )
    return session.exec(query).first()


def _audit(
    session: Session, kind: str, now: datetime, account: Account, stop: ContactStop, by: str
) -> None:
    session.add(
        AuditEvent(
            at=now,
            kind=kind,
            account_id=account.id,
            rule_ids=[f"stop.{stop.reason}"],
            data={"reason": stop.reason, "every_account": stop.account_id is None, "by": by},
        )
    )

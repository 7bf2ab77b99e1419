"""Supervisors' side of agreements: the approval queue and decisions on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlmodel import Session

from agent.approvals import (
    ApprovalConflict,
    ApprovalError,
    CounterTerms,
    SupervisorDecision,
    waiting_approvals,
)
from agent.config import Settings
from agent.drafting import address_name
from agent.runtime import Negotiator, open_negotiator
from agent.store import NotFoundError
from agent.store.models import Agreement
from api.app import get_app_settings, get_engine
from api.security import Principal, require_role

router = APIRouter(prefix="/v1", tags=["agreements"])
Supervisor = Annotated[Principal, Depends(require_role("supervisor"))]


class PendingApproval(BaseModel):
    agreement_id: int
    account: str  # the creditor's reference
    debtor_first_name: str
    currency: str
    balance: Decimal
    total: Decimal
    discount_pct: Decimal
    installments: int
    valid_until: date
    reasons: list[str]  # the mandate rules that asked for a person
    requested_at: datetime
    waiting_seconds: int


class DecisionRequest(BaseModel):
    decision: Literal["approve", "reject", "counter"]
    note: str | None = Field(default=None, max_length=1000)
    terms: CounterTerms | None = None


class DecisionResult(BaseModel):
    agreement_id: int
    decision: str
    agreement_status: str
    stage: str
    told_debtor: str  # the message queued for the debtor ("" when the agent must stay quiet)


@router.get("/approvals", response_model=list[PendingApproval])
def approval_queue(
    _: Supervisor, engine: Annotated[Engine, Depends(get_engine)]
) -> list[PendingApproval]:
    """Agreements waiting for a supervisor, oldest first, with how long they have waited."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        return [
            PendingApproval(
                agreement_id=agreement.id or 0,
                account=account.reference,
                debtor_first_name=address_name(debtor.name, account.segment),
                currency=agreement.currency,
                balance=agreement.balance,
                total=agreement.total,
                discount_pct=agreement.discount_pct,
                installments=agreement.installments_count,
                valid_until=agreement.valid_until,
                reasons=list(approval.reasons),
                requested_at=approval.requested_at,
                waiting_seconds=round((now - approval.requested_at).total_seconds()),
            )
            for approval, agreement, account, debtor in waiting_approvals(session)
        ]


@router.post("/agreements/{agreement_id}/decision", response_model=DecisionResult)
def decide(
    agreement_id: int,
    body: DecisionRequest,
    principal: Supervisor,
    request: Request,
    settings: Annotated[Settings, Depends(get_app_settings)],
    engine: Annotated[Engine, Depends(get_engine)],
) -> DecisionResult:
    """Approve, reject or counter; the paused conversation resumes and the debtor is told."""
    try:
        decision = SupervisorDecision(
            decision=body.decision,
            note=body.note,
            terms=body.terms,
            decided_by=f"{principal.role}:{principal.key_id}",
        )
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(e)) from None
    with request_negotiator(request, settings) as negotiator:
        try:
            result = negotiator.decide_approval(agreement_id, decision)
        except NotFoundError as e:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(e)) from None
        except ApprovalConflict as e:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(e)) from None
        except ApprovalError as e:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(e)) from None
    with Session(engine) as session:
        agreement = session.get(Agreement, agreement_id)
        assert agreement is not None
        return DecisionResult(
            agreement_id=agreement_id,
            decision=body.decision,
            agreement_status=str(agreement.status),
            stage=result.stage,
            told_debtor=result.reply,
        )


@contextmanager
def request_negotiator(request: Request, settings: Settings) -> Iterator[Negotiator]:
    """The serving process's negotiator when its background services run, else a new one."""
    services = getattr(request.app.state, "services", None)
    if services is not None and services.negotiator is not None:
        yield services.negotiator
        return
    with open_negotiator(settings) as negotiator:
        yield negotiator

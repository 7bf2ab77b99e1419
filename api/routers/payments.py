"""Payments reported by the creditor: `POST /v1/payments` (roles admin and supervisor).

The body names the account by its reference ("AUR-MX-0001") or its numeric id (a reference
that matches wins). A payment is stored once per `reference`: the first call answers 201, the
same body again 200 with the original result and no change; the reference with a different
account, amount or paid_at is a 409. Unknown account: 404. Bad JSON, a non-positive amount, more
than two decimals, a `paid_at` without a time-zone offset or in the future: 422.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, status
from sqlalchemy import Engine

from agent.payments import (
    InvalidPaymentError,
    PaymentRequest,
    PaymentResult,
    ReferenceConflictError,
    UnknownAccountError,
    submit_payment,
)
from api.app import get_engine
from api.security import Principal, require_role

log = logging.getLogger("pacta.payments.api")

router = APIRouter(prefix="/v1/payments", tags=["payments"])


def get_now() -> datetime:
    """The moment a payment is recorded at (tests override this dependency)."""
    return datetime.now(UTC)


EngineDep = Annotated[Engine, Depends(get_engine)]
NowDep = Annotated[datetime, Depends(get_now)]
PrincipalDep = Annotated[Principal, Depends(require_role("admin", "supervisor"))]


@router.post(
    "",
    response_model=PaymentResult,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": PaymentResult, "description": "A replay: the original result, no change"},
        404: {"description": "No account with this reference or id"},
        409: {"description": "The reference was recorded with another account, amount or time"},
        422: {"description": "Bad JSON, amount or paid_at"},
    },
)
def post_payment(
    body: PaymentRequest,
    response: Response,
    engine: EngineDep,
    principal: PrincipalDep,
    now: NowDep,
) -> PaymentResult:
    """Record a payment, apply it to the account's active agreement and thank the debtor."""
    try:
        outcome = submit_payment(engine, body, now)
    except UnknownAccountError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(e)) from e
    except ReferenceConflictError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(e)) from e
    except InvalidPaymentError as e:
        raise HTTPException(422, detail=str(e)) from e
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    log.info(
        "payment %s %s by key %s",
        outcome.result.payment_id,
        "recorded" if outcome.created else "replayed",
        principal.key_id,
    )
    return outcome.result

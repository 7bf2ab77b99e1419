"""Human takeover over HTTP: read a conversation, take it over, write to the debtor, hand back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from agent import takeover
from agent.store import NotFoundError
from agent.store.db import session_scope
from agent.store.models import Stage
from api.app import get_engine
from api.security import Principal, require_role

router = APIRouter(prefix="/v1", tags=["conversations"])
Supervisor = Annotated[Principal, Depends(require_role("supervisor"))]
Reader = Annotated[Principal, Depends(require_role("supervisor", "qa"))]
DB = Annotated[Engine, Depends(get_engine)]


class MessageOut(BaseModel):
    id: int
    direction: str
    body: str
    action: str | None
    intent: str | None
    guard_outcome: str | None
    status: str
    reply_to_id: int | None
    created_at: datetime


class TurnOut(BaseModel):
    message_id: int  # the debtor's message
    intent: str | None  # what understanding made of it
    created_at: datetime


class Transcript(BaseModel):
    conversation_id: int
    account: str  # the creditor's reference
    debtor_first_name: str
    stage: str
    handoff_reason: str | None
    held_by_person: bool
    identity_verified: bool
    updated_at: datetime
    messages: list[MessageOut]  # oldest first
    turns: list[TurnOut]


class ConversationSummary(BaseModel):
    conversation_id: int
    account: str
    debtor_first_name: str
    stage: str
    handoff_reason: str | None
    updated_at: datetime


class TakeoverRequest(BaseModel):
    note: str | None = Field(default=None, max_length=1000)


class StageResult(BaseModel):
    conversation_id: int
    stage: str
    handoff_reason: str | None


class ReplyRequest(BaseModel):
    text: str = Field(min_length=1, max_length=takeover.MAX_REPLY_CHARS)


class GuardWarningOut(BaseModel):
    rule: str
    message: str
    text: str


class ReplyResult(BaseModel):
    message_id: int
    status: str  # queued: the dispatcher sends it
    guard_outcome: str
    warnings: list[GuardWarningOut]


@router.get("/conversations", response_model=list[ConversationSummary])
def conversations(
    _: Reader, engine: DB, stage: Annotated[Stage | None, Query()] = None
) -> list[ConversationSummary]:
    """Conversations, most recently active first (at most 100), optionally in one stage."""
    with session_scope(engine) as session:
        found = takeover.list_conversations(session, stage)
    return [ConversationSummary(**c) for c in found]


@router.get("/conversations/{conversation_id}", response_model=Transcript)
def conversation(conversation_id: int, _: Reader, engine: DB) -> Transcript:
    """The transcript for a person: stage, handoff reason and every message, oldest first."""
    with session_scope(engine) as session:
        try:
            found = takeover.transcript(session, conversation_id)
        except NotFoundError as e:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(e)) from None
    return Transcript.model_validate(found)


@router.post("/conversations/{conversation_id}/takeover", response_model=StageResult)
def take_over(
    conversation_id: int, principal: Supervisor, engine: DB, body: TakeoverRequest | None = None
) -> StageResult:
    """A person takes the conversation: the agent stays silent until it is handed back."""
    note = body.note if body is not None else None
    with session_scope(engine) as session:
        try:
            conv = takeover.take_over(session, conversation_id, _now(), _by(principal), note)
        except NotFoundError as e:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(e)) from None
        except takeover.TakeoverConflict as e:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(e)) from None
        return StageResult(
            conversation_id=conversation_id,
            stage=str(conv.stage),
            handoff_reason=conv.handoff_reason,
        )


@router.post("/conversations/{conversation_id}/reply", response_model=ReplyResult)
def reply(
    conversation_id: int, body: ReplyRequest, principal: Supervisor, engine: DB
) -> ReplyResult:
    """Queue a supervisor's message; guard findings come back as warnings, never as a refusal."""
    with session_scope(engine) as session:
        try:
            outcome = takeover.supervisor_reply(
                session, conversation_id, body.text, _now(), _by(principal)
            )
        except NotFoundError as e:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(e)) from None
        except takeover.InvalidReplyError as e:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(e)) from None
        except takeover.TakeoverConflict as e:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(e)) from None
    return ReplyResult(
        message_id=outcome.message_id,
        status="queued",
        guard_outcome=outcome.guard_outcome,
        warnings=[
            GuardWarningOut(rule=w.rule, message=w.message, text=w.text) for w in outcome.warnings
        ],
    )


@router.post("/conversations/{conversation_id}/handback", response_model=StageResult)
def hand_back(conversation_id: int, principal: Supervisor, engine: DB) -> StageResult:
    """The agent takes the conversation back, in the stage it had before the takeover."""
    with session_scope(engine) as session:
        try:
            conv = takeover.hand_back(session, conversation_id, _now(), _by(principal))
        except NotFoundError as e:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(e)) from None
        except takeover.TakeoverConflict as e:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(e)) from None
        return StageResult(
            conversation_id=conversation_id,
            stage=str(conv.stage),
            handoff_reason=conv.handoff_reason,
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _by(principal: Principal) -> str:
    """Who acted, as stored in audit events: the role and the key's fingerprint, never the key."""
    return f"{principal.role}:{principal.key_id}"

"""The portfolio over HTTP: import or update accounts from a CSV file (role admin).

The body is the raw CSV (`Content-Type: text/csv`) or a `multipart/form-data` form whose `file`
field holds it. The answer is the import report; bodies over `PACTA_MAX_BODY_BYTES` get 413
from the body-size middleware before any row is read. Logs carry counts only, never rows.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine
from starlette.datastructures import UploadFile

from agent.config import Settings
from agent.portfolio import COLUMNS, CsvFormatError, ImportReport, import_bytes
from agent.store.db import session_scope
from api.app import get_app_settings, get_engine
from api.security import Principal, require_role

log = logging.getLogger("pacta.accounts")

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

SettingsDep = Annotated[Settings, Depends(get_app_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
AdminDep = Annotated[Principal, Depends(require_role("admin"))]

CSV_TYPES = frozenset({"text/csv", "application/csv"})
_EXAMPLE_CSV = (
    ",".join(COLUMNS) + "\n"
    "AUR-MX-1001,Lucía Pérez,55 1234 5678,1234564821,lucia@example.com,"
    "Financiera Aurora,MXN,4500.00,300.00,0,2026-02-03,,MX,,hardship,sí\n"
)


class RowIssueOut(BaseModel):
    line: int
    reason: str


class ImportReportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    rejected: list[RowIssueOut]
    warnings: list[RowIssueOut]


class MissingColumnsOut(BaseModel):
    detail: str
    missing: list[str]


@router.post(
    "/import",
    response_model=ImportReportOut,
    summary="Import or update accounts from a CSV file",
    responses={
        413: {"description": "The body is larger than PACTA_MAX_BODY_BYTES"},
        415: {"description": "Neither text/csv nor multipart/form-data"},
        422: {"model": MissingColumnsOut, "description": "The file cannot be read as a whole"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": _EXAMPLE_CSV},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
        }
    },
)
async def import_accounts(
    request: Request, principal: AdminDep, settings: SettingsDep, engine: EngineDep
) -> ImportReportOut | JSONResponse:
    """Columns: `account_id, debtor_name, phone, national_id, email, creditor, currency,
    principal, interest, fees, due_date, days_past_due, jurisdiction, timezone, segment,
    whatsapp_opt_in` (required: `account_id, debtor_name, phone, principal` and `due_date` or
    `days_past_due`). Known accounts are updated, never duplicated; every rejected row comes
    back with its line and reason, and nothing of it is written."""
    data = await _csv_bytes(request, settings)
    creditor = _default_creditor(settings)
    try:
        report = await run_in_threadpool(_run_import, engine, data, creditor)
    except CsvFormatError as e:
        return JSONResponse(
            {"detail": str(e), "missing": e.missing},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    log.info(
        "accounts import by key %s: created=%d updated=%d unchanged=%d rejected=%d",
        principal.key_id,
        report.created,
        report.updated,
        report.unchanged,
        len(report.rejected),
    )
    return ImportReportOut.model_validate(report.as_dict())


async def _csv_bytes(request: Request, settings: Settings) -> bytes:
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in CSV_TYPES:
        charset = _param(content_type, "charset")
        if charset not in (None, "utf-8", "utf8"):
            raise HTTPException(
                status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail="send the CSV as UTF-8"
            )
        return await request.body()
    if media_type == "multipart/form-data":
        form = await request.form(max_files=1, max_part_size=settings.max_body_bytes)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                detail="the multipart form needs a file field named 'file'",
            )
        try:
            return await upload.read()
        finally:
            await upload.close()
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        detail="send text/csv, or multipart/form-data with a 'file' field",
    )


def _param(content_type: str, name: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"').lower()
    return None


def _default_creditor(settings: Settings) -> str:
    from policies.mandate import load_mandate

    return load_mandate(settings.mandate).creditor


def _run_import(engine: Engine, data: bytes, creditor: str) -> ImportReport:
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        return import_bytes(session, data, now.date(), now=now, default_creditor=creditor)

"""The supervisor console: server-rendered pages over the same store and actions as `/v1`.

No JavaScript: every action is a form post that redirects back (post/redirect/get) with a
short notice. Pages are Spanish, for supervisors; times show in PACTA_CONSOLE_TIMEZONE.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import Engine

from agent import takeover
from agent.approvals import ApprovalConflict, ApprovalError, CounterTerms, SupervisorDecision
from agent.config import Settings
from agent.store import NotFoundError
from agent.store.db import session_scope
from agent.store.models import Stage
from api.app import VERSION, get_app_settings, get_engine
from api.console import charts, queries
from api.console.auth import COOKIE, SESSION_SECONDS, FormUser, SignInError, User, sign_in
from api.console.format import install_filters
from api.routers.agreements import request_negotiator
from api.security import app_api_keys
from policies.mandate import load_mandate

API_DIR = Path(__file__).resolve().parents[1]
TEMPLATES = Jinja2Templates(directory=str(API_DIR / "templates"))
install_filters(TEMPLATES.env)
STYLESHEET = API_DIR / "static" / "console.css"
FLASH = "pacta_flash"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
DB = Annotated[Engine, Depends(get_engine)]
AppSettings = Annotated[Settings, Depends(get_app_settings)]


# --- rendering helpers -------------------------------------------------------------------------


def render(
    request: Request,
    template: str,
    settings: Settings,
    user: Any = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    notice = _read_flash(request)
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "version": VERSION,
            "notice": notice,
            "tz": ZoneInfo(settings.console_timezone),
            "now": datetime.now(UTC),
            **context,
        },
        status_code=status_code,
    )
    response.headers.update(PAGE_HEADERS)
    if notice is not None:
        response.delete_cookie(FLASH, path="/console")
    return response


def back(path: str, kind: str = "ok", text: str = "", detail: list[str] | None = None) -> Response:
    """Redirect (303) to a console page with a notice shown once."""
    response = RedirectResponse(path, status_code=status.HTTP_303_SEE_OTHER)
    if text:
        notice = {"kind": kind, "text": text, "detail": detail or []}
        response.set_cookie(
            FLASH,
            quote(json.dumps(notice, ensure_ascii=False)),
            max_age=60,
            path="/console",
            httponly=True,
            samesite="strict",
        )
    return response


def _read_flash(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(FLASH)
    if not raw:
        return None
    try:
        notice = json.loads(unquote(raw))
    except ValueError:
        return None
    return notice if isinstance(notice, dict) and "text" in notice else None


def _safe_next(path: str | None) -> str:
    """Only console paths on this site (no scheme, no host, no //)."""
    if not path or not path.startswith("/console") or path.startswith("//") or "\\" in path:
        return "/console"
    return path


# --- sign-in -----------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: AppSettings, next: str = "/console") -> HTMLResponse:
    return render(request, "console/login.html", settings, next=_safe_next(next), error=None)


@router.post("/login", response_model=None)
def login(
    request: Request,
    settings: AppSettings,
    key: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/console",
) -> Response:
    try:
        cookie = sign_in(app_api_keys(request.app), key)
    except SignInError as e:
        error = (
            "Esa clave no tiene acceso a la consola (se necesita el rol supervisor o admin)."
            if "role" in str(e)
            else "La clave no es válida."
        )
        return render(
            request,
            "console/login.html",
            settings,
            next=_safe_next(next),
            error=error,
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    response = RedirectResponse(_safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=SESSION_SECONDS,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(_: FormUser) -> Response:
    response = back("/console/login", "ok", "Sesión cerrada.")
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("/static/console.css")
def stylesheet() -> FileResponse:
    return FileResponse(
        STYLESHEET,
        media_type="text/css",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


# --- approvals ---------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
@router.get("/approvals", response_class=HTMLResponse)
def approvals_page(request: Request, user: User, settings: AppSettings, engine: DB) -> HTMLResponse:
    mandate = load_mandate(settings.mandate)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        rows = queries.approval_queue(session, mandate, now)
    return render(
        request,
        "console/approvals.html",
        settings,
        user,
        rows=rows,
        reason_text=queries.reason_text,
        mandate=mandate,
        today=now.date(),
    )


@router.post("/approvals/{agreement_id}/decision")
def decide_page(
    agreement_id: int,
    request: Request,
    user: FormUser,
    settings: AppSettings,
    decision: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "installments",
    first_due: Annotated[str, Form()] = "",
    total: Annotated[str, Form()] = "",
    installments: Annotated[str, Form()] = "",
    frequency: Annotated[str, Form()] = "monthly",
) -> Response:
    """Approve, reject or counter from the queue; the debtor is told, as through the API."""
    try:
        terms = None
        if decision == "counter":
            terms = CounterTerms(
                kind=kind,  # type: ignore[arg-type]
                first_due=first_due,  # type: ignore[arg-type]
                total=total or None,  # type: ignore[arg-type]
                installments=installments or None,  # type: ignore[arg-type]
                frequency=frequency,  # type: ignore[arg-type]
            )
        choice = SupervisorDecision(
            decision=decision,  # type: ignore[arg-type]
            note=note.strip() or None,
            terms=terms,
            decided_by=user.actor,
        )
    except ValidationError as e:
        return back("/console/approvals", "error", counter_error(e))
    with request_negotiator(request, settings) as negotiator:
        try:
            result = negotiator.decide_approval(agreement_id, choice)
        except NotFoundError:
            return back("/console/approvals", "error", "Ese acuerdo no existe.")
        except ApprovalConflict as e:
            if "expired" in str(e):
                return back(
                    "/console/approvals",
                    "error",
                    "La oferta de ese acuerdo ya venció: recházalo o envía una contraoferta.",
                )
            return back("/console/approvals", "error", "Ese acuerdo ya no espera una decisión.")
        except ApprovalError as e:
            return back("/console/approvals", "error", approval_error(e))
    done = DECISION_TEXT[decision]
    detail = [f"Mensaje para el deudor: {result.reply}"] if result.reply else []
    return back("/console/approvals", "ok", f"Acuerdo {agreement_id}: {done}.", detail)


DECISION_TEXT = {"approve": "aprobado", "reject": "rechazado", "counter": "contraoferta enviada"}


def counter_error(error: ValidationError) -> str:
    fields = {str(e["loc"][0]) for e in error.errors() if e.get("loc")}
    if "first_due" in fields:
        return "La contraoferta necesita la fecha del primer pago."
    if "total" in fields or "installments" in fields:
        return "Revisa la contraoferta: el total debe ser mayor que cero y las cuotas entre 2 y 60."
    text = str(error)
    if "needs a total" in text:
        return "Una contraoferta de pago único necesita el total."
    if "number of installments" in text:
        return "Una contraoferta en cuotas necesita el número de cuotas."
    return "La decisión no es válida."


def approval_error(error: ApprovalError) -> str:
    if "in the past" in str(error):
        return "La fecha del primer pago de la contraoferta ya pasó."
    return "Los términos de la contraoferta no forman un plan posible para ese saldo."


# --- conversations -----------------------------------------------------------------------------


@router.get("/conversations", response_class=HTMLResponse)
def conversations_page(
    request: Request,
    user: User,
    settings: AppSettings,
    engine: DB,
    stage: Annotated[str, Query()] = "",
    q: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    with session_scope(engine) as session:
        rows = queries.conversation_rows(session, stage or None, q or None)
    return render(
        request,
        "console/conversations.html",
        settings,
        user,
        rows=rows,
        stage=stage,
        q=q,
        stages=[str(s) for s in Stage],
    )


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation_page(
    conversation_id: int, request: Request, user: User, settings: AppSettings, engine: DB
) -> HTMLResponse:
    with session_scope(engine) as session:
        view = queries.conversation_view(session, conversation_id)
        if view is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such conversation")
        held = takeover.is_held(view.conversation)
        closed = view.conversation.stage in takeover.NO_CONTACT_STAGES
    return render(
        request,
        "console/conversation.html",
        settings,
        user,
        view=view,
        held=held,
        closed=closed,
        max_reply=takeover.MAX_REPLY_CHARS,
    )


@router.post("/conversations/{conversation_id}/takeover")
def takeover_page(
    conversation_id: int, user: FormUser, engine: DB, note: Annotated[str, Form()] = ""
) -> Response:
    here = f"/console/conversations/{conversation_id}"
    with session_scope(engine) as session:
        try:
            takeover.take_over(
                session, conversation_id, datetime.now(UTC), user.actor, note.strip() or None
            )
        except (NotFoundError, takeover.TakeoverConflict) as e:
            return back(here, "error", takeover_error(e))
    return back(
        here, "ok", "Tomaste la conversación: el agente no enviará nada hasta que la devuelvas."
    )


@router.post("/conversations/{conversation_id}/reply")
def reply_page(
    conversation_id: int, user: FormUser, engine: DB, text: Annotated[str, Form()] = ""
) -> Response:
    here = f"/console/conversations/{conversation_id}"
    with session_scope(engine) as session:
        try:
            outcome = takeover.supervisor_reply(
                session, conversation_id, text, datetime.now(UTC), user.actor
            )
        except takeover.InvalidReplyError:
            return back(
                here,
                "error",
                f"El mensaje debe tener entre 1 y {takeover.MAX_REPLY_CHARS} caracteres.",
            )
        except (NotFoundError, takeover.TakeoverConflict) as e:
            return back(here, "error", takeover_error(e))
    if outcome.warnings:
        detail = [f"{w.rule}: «{w.text}»" if w.text else w.rule for w in outcome.warnings]
        return back(
            here,
            "warning",
            "Mensaje en cola, pero la revisión de cumplimiento encontró algo que conviene revisar:",
            detail,
        )
    return back(here, "ok", "Mensaje en cola para enviarse.")


@router.post("/conversations/{conversation_id}/handback")
def handback_page(conversation_id: int, user: FormUser, engine: DB) -> Response:
    here = f"/console/conversations/{conversation_id}"
    with session_scope(engine) as session:
        try:
            conv = takeover.hand_back(session, conversation_id, datetime.now(UTC), user.actor)
        except (NotFoundError, takeover.TakeoverConflict) as e:
            return back(here, "error", takeover_error(e))
        stage = queries.STAGE_TEXT.get(str(conv.stage), str(conv.stage))
    return back(here, "ok", f"Conversación devuelta al agente (etapa: {stage}).")


def takeover_error(error: Exception) -> str:
    if isinstance(error, NotFoundError):
        return "Esa conversación no existe."
    text = str(error)
    if "already held" in text:
        return "Esa conversación ya la tiene una persona."
    if "may not be contacted" in text:
        return "No se puede escribir a este deudor: pidió no ser contactado o no es la persona."
    if "not held" in text:
        return "Primero toma la conversación."
    return "La acción no es posible en el estado actual de la conversación."


# --- portfolio, payments, dashboard, audit -----------------------------------------------------


@router.get("/portfolio", response_class=HTMLResponse)
def portfolio_page(
    request: Request,
    user: User,
    settings: AppSettings,
    engine: DB,
    stage: str = "",
    status_: Annotated[str, Query(alias="status")] = "",
    jurisdiction: str = "",
    segment: str = "",
) -> HTMLResponse:
    filters = {"stage": stage, "status": status_, "jurisdiction": jurisdiction, "segment": segment}
    with session_scope(engine) as session:
        book = queries.portfolio(
            session,
            _today(settings),
            stage=stage or None,
            status=status_ or None,
            jurisdiction=jurisdiction or None,
            segment=segment or None,
        )
    return render(request, "console/portfolio.html", settings, user, book=book, filters=filters)


@router.get("/payments", response_class=HTMLResponse)
def payments_page(request: Request, user: User, settings: AppSettings, engine: DB) -> HTMLResponse:
    with session_scope(engine) as session:
        rows = queries.recent_payments(session)
    return render(request, "console/payments.html", settings, user, rows=rows)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    user: User,
    settings: AppSettings,
    engine: DB,
    days: Annotated[int, Query(ge=7, le=180)] = 30,
) -> HTMLResponse:
    with session_scope(engine) as session:
        board = queries.dashboard(session, datetime.now(UTC).date(), days)
    return render(
        request,
        "console/dashboard.html",
        settings,
        user,
        board=board,
        days=days,
        charts=dashboard_charts(board),
    )


def dashboard_charts(board: queries.Dashboard) -> dict[str, Any]:
    days = board.promise_rate.days
    return {
        "promise": charts.line_chart(
            "Tasa de promesa de pago por día", days, board.promise_rate.values
        ),
        "kept": charts.line_chart(
            "Cuotas cumplidas por día de vencimiento", days, board.kept_rate.values
        ),
        "handoff": charts.line_chart(
            "Tasa de traspaso a una persona", days, board.handoff_rate.values
        ),
        "recovered": {
            currency: charts.bar_chart(f"Recuperado por día ({currency})", days, series.values)  # type: ignore[arg-type]
            for currency, series in board.recovered.items()
        },
        "blocks": charts.bar_chart(
            "Borradores bloqueados por día", days, board.guard_blocks.values
        ),  # type: ignore[arg-type]
        "rules": charts.hbar_chart("Bloqueos por regla", board.guard_blocks_by_rule),
    }


@router.get("/campaign", response_class=HTMLResponse)
def campaign_page(
    request: Request,
    user: User,
    settings: AppSettings,
    engine: DB,
    days: Annotated[int, Query(ge=1, le=90)] = 1,
) -> HTMLResponse:
    """What the cadence sent today, what waits and why, and how each step is doing."""
    from agent.cadence.campaign import campaign_summary
    from policies.cadence import load_cadence

    steps = [step.id for step in load_cadence(settings.cadence).steps]
    with session_scope(engine) as session:
        summary = campaign_summary(
            session, _today(settings), settings.console_timezone, days=days, step_order=steps
        )
    return render(request, "console/campaign.html", settings, user, summary=summary, days=days)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    user: User,
    settings: AppSettings,
    engine: DB,
    kind: Annotated[str, Query(max_length=80)] = "",
    conversation: Annotated[int | None, Query()] = None,
) -> HTMLResponse:
    with session_scope(engine) as session:
        events = queries.audit_events(session, kind or None, conversation)
        kinds = queries.audit_kinds(session)
    return render(
        request,
        "console/audit.html",
        settings,
        user,
        events=events,
        kinds=kinds,
        kind=kind,
        conversation=conversation,
    )


def _today(settings: Settings) -> date:
    return datetime.now(ZoneInfo(settings.console_timezone)).date()

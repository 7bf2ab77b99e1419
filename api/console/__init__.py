"""The supervisor console (`/console`): sign-in, approvals, conversations, portfolio, payments,
dashboard and audit log, as server-rendered pages."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console.auth import CsrfError, SignInRequired


def install(app: FastAPI) -> None:
    """Mount the console's pages and its two answers to a missing session or CSRF token."""
    from api.console.routes import router

    app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"/console/login?next={quote(exc.next_path)}", status_code=303)

    @app.exception_handler(CsrfError)
    async def _csrf(request: Request, exc: CsrfError) -> Response:
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>Pacta</title>"
            "<p>El formulario venció. Vuelve a la <a href=/console>consola</a> "
            "e inténtalo de nuevo.",
            status_code=403,
        )

"""The FastAPI application: health, the WhatsApp webhook, the `/v1` API, the supervisor console,
the sandbox and the simulator."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from agent.config import Settings, get_settings
from agent.store.db import engine_for

VERSION = "0.1.0"
log = logging.getLogger("pacta.app")


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(settings: Annotated[Settings, Depends(get_app_settings)]) -> Engine:
    return engine_for(settings.database_url)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    from api.security import app_api_keys, install_access_log_redaction

    settings: Settings = app.state.settings
    # Resolve the API keys now: a malformed PACTA_API_KEYS fails at start-up, and in sandbox
    # mode the development key file exists from the first second. Mask `?phone=` in access logs.
    app_api_keys(app)
    install_access_log_redaction()
    if settings.channel == "sandbox" and settings.whatsapp_app_secret is None:
        log.warning("sandbox mode without PACTA_WHATSAPP_APP_SECRET: webhook signatures unchecked")
    services = None
    if settings.background:
        from api.services import Services

        services = Services(settings).start()
    app.state.services = services
    try:
        yield
    finally:
        if services is not None:
            services.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    from api.console import install as install_console
    from api.routers import (
        accounts,
        agreements,
        conversations,
        payments,
        sandbox,
        simulator,
        webhook,
    )
    from api.security import BodySizeLimit

    settings = settings or get_settings()
    app = FastAPI(
        title="Pacta",
        version=VERSION,
        description="Collections negotiation agent for WhatsApp",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(webhook.router)
    app.include_router(agreements.router)
    app.include_router(accounts.router)
    app.include_router(payments.router)
    app.include_router(conversations.router)
    install_console(app)
    if settings.channel == "sandbox":
        app.include_router(sandbox.router)
        app.include_router(simulator.router)

    @app.get("/healthz", tags=["ops"])
    def healthz(engine: Annotated[Engine, Depends(get_engine)]) -> JSONResponse:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as e:  # the probe must answer, whatever the database does
            return JSONResponse(
                {"status": "error", "database": type(e).__name__, "version": VERSION},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "database": "ok", "version": VERSION})

    return app


def app_factory() -> FastAPI:
    """Entry point for uvicorn (`--factory`): settings are read when the server starts."""
    return create_app()

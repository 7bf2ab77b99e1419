"""The FastAPI application. `/healthz` now; later issues add the webhook, /v1 and pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from agent.config import Settings, get_settings
from agent.store.db import engine_for

VERSION = "0.1.0"


def get_engine(settings: Annotated[Settings, Depends(get_settings)]) -> Engine:
    return engine_for(settings.database_url)


def create_app() -> FastAPI:
    app = FastAPI(title="Pacta", version=VERSION, description="Collections negotiation agent")

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


app = create_app()

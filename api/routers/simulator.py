"""The debtor simulator: a phone-style chat page over the sandbox API (sandbox mode only).

The page is server-rendered with a little vanilla JavaScript (no CDN, no build step). With the
development key in force and a loopback client, the page carries the key; otherwise it asks for
one and keeps it in the tab's sessionStorage.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from agent.config import Settings
from api.app import VERSION, get_app_settings
from api.security import ensure_dev_key, uses_dev_key

API_DIR = Path(__file__).resolve().parents[1]
TEMPLATES = Jinja2Templates(directory=str(API_DIR / "templates"))
STATIC_DIR = API_DIR / "static"
ASSETS = {"simulator.js": "text/javascript", "simulator.css": "text/css"}
PAGE_HEADERS = {
    "Cache-Control": "no-store",  # the page may carry the development key
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(tags=["simulator"], include_in_schema=False)


def is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def page_key(request: Request, settings: Settings) -> str | None:
    """The key the page may carry: the development key, and only for a loopback client."""
    if uses_dev_key(settings) and is_loopback(request):
        return ensure_dev_key(settings)
    return None


@router.get("/simulator", response_class=HTMLResponse)
def simulator_page(
    request: Request, settings: Annotated[Settings, Depends(get_app_settings)]
) -> HTMLResponse:
    """Chat as a debtor with any imported account, phone-style."""
    context = {"dev_key": page_key(request, settings), "version": VERSION}
    response = TEMPLATES.TemplateResponse(request, "simulator.html", context)
    response.headers.update(PAGE_HEADERS)
    return response


@router.get("/simulator/static/{name}")
def simulator_asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such file")
    return FileResponse(
        STATIC_DIR / name,
        media_type=media_type,
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )

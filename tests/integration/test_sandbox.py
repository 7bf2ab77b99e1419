"""The sandbox, the simulator page and HTTP security, through the real app (TestClient).

Background services are off: each test runs the worker and the dispatcher once by hand.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from agent.config import Settings
from agent.portfolio import seed_demo
from agent.store.db import engine_for, session_scope, upgrade
from agent.store.models import Message
from api.app import create_app
from api.security import DEV_KEY_FILE, Principal, log_safe_phone, match_key, require_role
from tests.conftest import NOW

pytestmark = pytest.mark.integration

ADMIN, QA, SUPERVISOR = "k-admin-7f3a9c", "k-qa-51be02", "k-sup-c0ffee"
KEYS = f"{ADMIN}:admin,{QA}:qa,{SUPERVISOR}:supervisor"
LUCIA = "+525512345678"  # AUR-MX-0001 as imported (Mexico's old mobile "1" dropped)
UNKNOWN = "+525500000000"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "llm": "offline",
        "background": False,
        "api_keys": KEYS,
    }
    values.update(overrides)
    return Settings(**values)


def seeded(settings: Settings) -> Settings:
    upgrade(settings.database_url)
    with session_scope(engine_for(settings.database_url)) as session:
        seed_demo(session, NOW.date())
    return settings


def role_probe_app(settings: Settings) -> FastAPI:
    """The real app plus two /v1 routes that need one role each."""
    app = create_app(settings)

    def who(principal: Principal) -> dict[str, str]:
        return {"role": principal.role}

    @app.get("/v1/probe/admin")
    def admin_only(principal: Annotated[Principal, Depends(require_role("admin"))]) -> dict:
        return who(principal)

    @app.get("/v1/probe/supervisor")
    def supervisor_only(
        principal: Annotated[Principal, Depends(require_role("supervisor"))],
    ) -> dict:
        return who(principal)

    return app


def deliver(settings: Settings, *, dispatch: bool = True) -> None:
    """One pass of the worker, then one of the dispatcher (what the background threads do)."""
    from agent.runtime import open_negotiator
    from agent.worker import Worker
    from api.channels import build_channel
    from api.dispatcher import Dispatcher

    with open_negotiator(settings) as negotiator:
        Worker(negotiator).run_once()
        if not dispatch:
            return
        channel = build_channel(settings)
        try:
            Dispatcher(negotiator.engine, channel).run_once()
        finally:
            channel.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return seeded(make_settings(tmp_path))


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def messages(client: TestClient, phone: str = LUCIA) -> list[dict[str, Any]]:
    response = client.get("/v1/sandbox/messages", params={"phone": phone}, headers=auth(QA))
    assert response.status_code == 200, response.text
    return response.json()


def say(client: TestClient, settings: Settings, **body: str) -> dict[str, Any]:
    """The debtor writes (or taps), the services run once: the newest message is returned."""
    response = client.post(
        "/v1/sandbox/inbound", json={"phone": LUCIA, **body}, headers=auth(SUPERVISOR)
    )
    assert response.status_code == 202, response.text
    assert response.json()["wamid"].startswith("wamid.")
    deliver(settings)
    return messages(client)[-1]


def outbound(chat: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in chat if m["direction"] == "outbound"]


# --- auth ----------------------------------------------------------------------------------------


def test_v1_needs_a_bearer_key(client: TestClient) -> None:
    missing = client.get("/v1/sandbox/accounts")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = client.get("/v1/sandbox/accounts", headers=auth("not-a-key"))
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    basic = client.get("/v1/sandbox/accounts", headers={"Authorization": f"Basic {ADMIN}"})
    assert basic.status_code == 401
    for key in (ADMIN, QA, SUPERVISOR):
        assert client.get("/v1/sandbox/accounts", headers=auth(key)).status_code == 200


def test_roles_are_enforced_and_admin_passes_every_check(settings: Settings) -> None:
    with TestClient(role_probe_app(settings)) as c:
        assert c.get("/v1/probe/admin", headers=auth(ADMIN)).json() == {"role": "admin"}
        assert c.get("/v1/probe/admin", headers=auth(QA)).status_code == 403
        assert c.get("/v1/probe/admin", headers=auth(SUPERVISOR)).status_code == 403
        assert c.get("/v1/probe/supervisor", headers=auth(ADMIN)).status_code == 200
        assert c.get("/v1/probe/supervisor", headers=auth(SUPERVISOR)).status_code == 200
        assert c.get("/v1/probe/supervisor", headers=auth(QA)).status_code == 403
        assert c.get("/v1/probe/supervisor").status_code == 401


def test_key_matching_checks_every_key() -> None:
    keys = {"abc": "qa", "abcd": "admin", "x" * 64: "supervisor"}
    assert match_key("abcd", keys) == "admin"
    assert match_key("abc", keys) == "qa"
    assert match_key("ab", keys) is None
    assert match_key("", keys) is None


def test_dev_key_is_generated_once_private_and_stable(tmp_path: Path) -> None:
    settings = seeded(make_settings(tmp_path, api_keys=""))
    key_file = settings.data_dir / DEV_KEY_FILE
    assert not key_file.exists()
    with TestClient(create_app(settings)) as first:
        assert key_file.exists()  # made at start-up, so an operator can read it at once
        assert first.get("/v1/sandbox/accounts").status_code == 401
        key = key_file.read_text().strip()
        assert len(key) >= 32
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert first.get("/v1/sandbox/accounts", headers=auth(key)).status_code == 200
    with TestClient(create_app(make_settings(tmp_path, api_keys=""))) as restarted:
        assert restarted.get("/v1/sandbox/accounts", headers=auth(key)).status_code == 200
    assert key_file.read_text().strip() == key


def test_dev_key_is_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = seeded(make_settings(tmp_path, api_keys=""))
    with caplog.at_level(logging.DEBUG), TestClient(create_app(settings)) as c:
        c.get("/v1/sandbox/accounts")
    key = (settings.data_dir / DEV_KEY_FILE).read_text().strip()
    assert key not in caplog.text
    assert DEV_KEY_FILE in caplog.text  # where it is, though


def test_configured_keys_mean_no_dev_key(settings: Settings, client: TestClient) -> None:
    assert client.get("/v1/sandbox/accounts").status_code == 401
    assert not (settings.data_dir / DEV_KEY_FILE).exists()


def test_a_loose_dev_key_file_is_made_private(tmp_path: Path) -> None:
    settings = seeded(make_settings(tmp_path, api_keys=""))
    key_file = settings.data_dir / DEV_KEY_FILE
    key_file.write_text("a-development-key-written-by-hand-1234567890\n")
    key_file.chmod(0o644)
    with TestClient(create_app(settings)) as c:
        ok = c.get(
            "/v1/sandbox/accounts", headers=auth("a-development-key-written-by-hand-1234567890")
        )
    assert ok.status_code == 200
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


# --- body size -----------------------------------------------------------------------------------


def test_a_body_over_the_limit_gets_413(tmp_path: Path) -> None:
    settings = seeded(make_settings(tmp_path, max_body_bytes=1024))
    big = {"phone": LUCIA, "text": "a" * 2000}
    with TestClient(create_app(settings)) as c:
        declared = c.post("/v1/sandbox/inbound", json=big, headers=auth(ADMIN))
        assert declared.status_code == 413
        assert "1024" in declared.json()["detail"]
        streamed = c.post(
            "/v1/sandbox/inbound",
            content=(b"x" * 400 for _ in range(5)),  # chunked: no Content-Length
            headers={**auth(ADMIN), "Content-Type": "application/json"},
        )
        assert streamed.status_code == 413
        webhook = c.post("/webhooks/whatsapp", content=b"{" + b" " * 5000 + b"}")
        assert webhook.status_code == 413
        small = c.post(
            "/v1/sandbox/inbound", json={"phone": LUCIA, "text": "hola"}, headers=auth(ADMIN)
        )
        assert small.status_code == 202


# --- sandbox -------------------------------------------------------------------------------------


def test_accounts_list_the_portfolio_for_the_picker(client: TestClient) -> None:
    accounts = client.get("/v1/sandbox/accounts", headers=auth(QA)).json()
    lucia = next(a for a in accounts if a["reference"] == "AUR-MX-0001")
    assert lucia["first_name"] == "Lucía"
    assert lucia["phone"] == LUCIA
    assert lucia["phone_masked"].endswith("5678")
    assert "5512" not in lucia["phone_masked"]
    assert lucia["currency"] == "MXN"
    assert lucia["balance"] in ("4800.00", "4800")
    assert len(accounts) == 3


def test_a_text_gets_exactly_one_spanish_reply(client: TestClient, settings: Settings) -> None:
    sent = client.post(
        "/v1/sandbox/inbound", json={"phone": LUCIA, "text": "hola"}, headers=auth(QA)
    )
    assert sent.status_code == 202
    wamid = sent.json()["wamid"]
    before = messages(client)
    assert [(m["direction"], m["body"]) for m in before] == [("inbound", "hola")]

    with Session(engine_for(settings.database_url)) as session:
        stored = session.exec(select(Message).where(Message.wamid == wamid)).one()
    assert stored.body == "hola"

    deliver(settings, dispatch=False)
    queued = messages(client)  # answered, but nothing reached the phone yet
    assert [(m["direction"], m["status"]) for m in queued] == [("inbound", "processed")]

    deliver(settings)
    deliver(settings)  # a second pass changes nothing
    chat = messages(client)
    assert [m["direction"] for m in chat] == ["inbound", "outbound"]
    reply = chat[-1]
    assert reply["status"] == "sent"
    assert reply["action"] == "verify_identity"
    assert "dígitos" in reply["body"]
    assert reply["buttons"] == []
    assert set(reply) == {
        "id", "direction", "kind", "body", "buttons", "status", "created_at", "action",
    }  # fmt: skip


def test_options_come_with_buttons_and_a_button_answers(
    client: TestClient, settings: Settings
) -> None:
    say(client, settings, text="hola")
    options = say(client, settings, text="4821")
    assert options["direction"] == "outbound"
    ids = [b["id"] for b in options["buttons"]]
    assert ids == ["option:1", "option:2", "option:3"]
    assert all(len(b["title"]) <= 20 for b in options["buttons"])

    confirm = say(client, settings, button_id="option:2")
    assert confirm["action"] == "confirm_plan"
    assert "¿Lo confirmamos?" in confirm["body"]
    assert [b["id"] for b in confirm["buttons"]] == ["confirm:yes", "confirm:no"]

    chat = messages(client)
    pressed = [m for m in chat if m["direction"] == "inbound"][-1]
    assert pressed["kind"] == "interactive"
    assert len(outbound(chat)) == 3  # one reply per message, no more
    assert [m["id"] for m in chat] == sorted(m["id"] for m in chat)


def test_a_signed_webhook_path_is_used_when_a_secret_is_set(tmp_path: Path) -> None:
    settings = seeded(make_settings(tmp_path, whatsapp_app_secret="s3cret-app"))
    with TestClient(create_app(settings)) as c:
        unsigned = c.post("/webhooks/whatsapp", content=b'{"object":"whatsapp_business_account"}')
        assert unsigned.status_code == 401
        sent = c.post(
            "/v1/sandbox/inbound", json={"phone": LUCIA, "text": "hola"}, headers=auth(QA)
        )
        assert sent.status_code == 202, sent.text
        deliver(settings)
        assert [m["direction"] for m in messages(c)] == ["inbound", "outbound"]


def test_unknown_and_invalid_phones(client: TestClient) -> None:
    unknown = client.get("/v1/sandbox/messages", params={"phone": UNKNOWN}, headers=auth(QA))
    assert unknown.status_code == 404
    for bad in ("5512345678", "+0123", "+52 55 1234 5678", ""):
        response = client.get("/v1/sandbox/messages", params={"phone": bad}, headers=auth(QA))
        assert response.status_code == 422, bad
    posted = client.post(
        "/v1/sandbox/inbound", json={"phone": UNKNOWN, "text": "hola"}, headers=auth(QA)
    )
    assert posted.status_code == 404
    assert client.get("/v1/sandbox/messages", headers=auth(QA)).status_code == 422


def test_mexican_mobile_one_finds_the_same_debtor(client: TestClient) -> None:
    response = client.get(
        "/v1/sandbox/messages", params={"phone": "+5215512345678"}, headers=auth(QA)
    )
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"phone": LUCIA, "text": "hola", "button_id": "option:1"},
        {"phone": LUCIA},
        {"phone": LUCIA, "text": ""},
        {"phone": LUCIA, "text": " \n "},
        {"phone": LUCIA, "button_id": ""},
        {"phone": LUCIA, "text": "a" * 4097},
        {"phone": "5512345678", "text": "hola"},
        {"text": "hola"},
    ],
)
def test_inbound_needs_exactly_one_valid_part(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/v1/sandbox/inbound", json=body, headers=auth(ADMIN))
    assert response.status_code == 422
    assert messages(client) == []


def test_the_longest_text_is_accepted(client: TestClient) -> None:
    response = client.post(
        "/v1/sandbox/inbound", json={"phone": LUCIA, "text": "a" * 4096}, headers=auth(ADMIN)
    )
    assert response.status_code == 202


def test_logs_carry_no_phone_or_body(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    secret_text = "mi sueldo llega el viernes 4821"
    with caplog.at_level(logging.DEBUG):
        client.post(
            "/v1/sandbox/inbound", json={"phone": LUCIA, "text": secret_text}, headers=auth(QA)
        )
        deliver(settings)
        messages(client)
    server_side = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("httpx")
    )  # the test's own HTTP client logs the URLs it asks for
    assert "pacta.sandbox" in {r.name for r in caplog.records}
    assert "5512345678" not in server_side
    assert secret_text not in server_side
    assert ADMIN not in server_side and QA not in server_side


def test_access_log_lines_mask_phone_query_parameters(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    access = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        access.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/v1/sandbox/messages?phone=%2B525512345678",
            "1.1",
            200,
        )
    line = caplog.records[-1].getMessage()
    assert "5512345678" not in line
    assert "phone=%2B********5678" in line


def test_sandbox_is_absent_with_a_whatsapp_token(tmp_path: Path) -> None:
    settings = seeded(make_settings(tmp_path, whatsapp_token="EAAG-test-token"))
    with TestClient(create_app(settings)) as c:
        assert c.get("/v1/sandbox/accounts", headers=auth(ADMIN)).status_code == 404
        assert (
            c.get("/v1/sandbox/messages", params={"phone": LUCIA}, headers=auth(ADMIN)).status_code
            == 404
        )
        inbound = c.post(
            "/v1/sandbox/inbound", json={"phone": LUCIA, "text": "hola"}, headers=auth(ADMIN)
        )
        assert inbound.status_code in (404, 405)
        assert c.get("/simulator").status_code == 404
        assert c.get("/healthz").status_code == 200


# --- simulator page ------------------------------------------------------------------------------


def test_simulator_page_embeds_the_dev_key_for_loopback_only(tmp_path: Path) -> None:
    settings = seeded(make_settings(tmp_path, api_keys=""))
    app = create_app(settings)
    with TestClient(app, client=("127.0.0.1", 50000)) as local:
        page = local.get("/simulator")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        key = (settings.data_dir / DEV_KEY_FILE).read_text().strip()
        assert f'content="{key}"' in page.text
        assert 'lang="es"' in page.text
        assert "Escribe un mensaje" in page.text
        assert local.get("/simulator/static/simulator.js").status_code == 200
        assert (
            local.get("/simulator/static/simulator.css")
            .headers["content-type"]
            .startswith("text/css")
        )
        assert local.get("/simulator/static/../security.py").status_code == 404
        assert local.get("/simulator/static/other.js").status_code == 404
    with TestClient(app, client=("203.0.113.9", 50000)) as remote:
        page = remote.get("/simulator")
        assert page.status_code == 200
        assert key not in page.text
        assert "pacta-dev-key" not in page.text


def test_simulator_page_asks_for_a_key_when_keys_are_configured(client: TestClient) -> None:
    page = client.get("/simulator")
    assert page.status_code == 200
    assert "pacta-dev-key" not in page.text
    assert ADMIN not in page.text
    assert "Clave de API" in page.text


# --- helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+525512345678", "+********5678"),
        ("573001234567", "********4567"),
        ("1234", "****"),
        ("", "-"),
        ("+52 55 1234 5678", "+********5678"),
        (None, "-"),
    ],
)
def test_log_safe_phone(phone: str | None, masked: str) -> None:
    assert log_safe_phone(phone) == masked

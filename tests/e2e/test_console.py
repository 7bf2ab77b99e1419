"""The supervisor console in a real browser, beside the debtor's phone (the simulator).

`pacta serve` runs with its worker and dispatcher; Debian's headless chromium holds two tabs:
Ana (AUR-PE-0003) on the simulator asking for a discount beyond the agent's limits, and a
supervisor in the console who signs in, approves it, takes the conversation over, writes to Ana
and hands it back. Ana's phone shows every message; the audit log shows every change.
Screenshots of each console page are kept in PACTA_SCREENSHOT_DIR when it is set.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.support import chromium, screenshot, serving, skip_without_a_browser

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.integration
skip_without_a_browser()

TIMEOUT_MS = 20_000
SUPERVISOR_TEXT = (
    "Hola Ana, soy Marta, supervisora de Financiera Aurora. Cualquier duda me escribes."
)


def phone(browser: Browser, base: str) -> Page:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="es-MX", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{base}/simulator")
    return page


def desk(browser: Browser, base: str) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-MX")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{base}/console")
    return page


def say(page: Page, text: str, replies: int) -> None:
    from playwright.sync_api import expect

    page.get_by_label("Mensaje").fill(text)
    page.get_by_role("button", name="Enviar").click()
    expect(page.locator("#chat li.theirs")).to_have_count(replies, timeout=TIMEOUT_MS)


def ask_for_a_big_discount(page: Page) -> None:
    from playwright.sync_api import expect

    page.get_by_label("Cuenta: escribes como su titular").select_option("AUR-PE-0003")
    say(page, "Buenos días", 1)
    say(page, "1596", 2)
    say(page, "quiero pagar todo de una vez", 3)
    say(page, "sí, de acuerdo", 4)
    last = page.locator("#chat li.theirs").last
    expect(last).to_have_attribute("data-action", "agreement_pending_approval")


def test_a_supervisor_works_an_approval_and_a_takeover(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    shots = tmp_path / "shots"
    shots.mkdir()
    data_dir = tmp_path / "data"
    with serving(data_dir) as server, chromium() as browser:
        ana = phone(browser, server.base)
        ask_for_a_big_discount(ana)

        console = desk(browser, server.base)
        expect(console).to_have_url(f"{server.base}/console/login?next=/console")
        console.get_by_label("Clave de API").fill("not-a-key")
        console.get_by_role("button", name="Entrar").click()
        expect(console.get_by_role("alert")).to_contain_text("La clave no es válida")
        key = (data_dir / "dev-api-key").read_text().strip()
        console.get_by_label("Clave de API").fill(key)
        console.get_by_role("button", name="Entrar").click()

        card = console.locator("article.approval")
        expect(card).to_have_count(1)
        expect(card).to_contain_text("Ana")
        expect(card.locator("tr.over")).to_contain_text("Descuento")
        expect(card).to_contain_text("El descuento supera lo que el agente puede aprobar")
        screenshot(console, shots / "console-approvals.png")

        card.get_by_role("button", name="Aprobar").click()
        expect(console.locator(".notice.ok")).to_contain_text("aprobado")
        expect(console.locator("article.approval")).to_have_count(0)
        expect(ana.locator("#chat li.theirs")).to_have_count(5)
        told = ana.locator("#chat li.theirs").last
        expect(told).to_have_attribute("data-action", "agreement_active")

        console.get_by_role("link", name="Conversaciones").click()
        console.get_by_role("link", name="Ana").first.click()
        expect(console.locator(".transcript li.msg")).to_have_count(9)  # 4 in, 5 out
        expect(console.locator(".transcript")).to_contain_text("acción: agreement_active")
        console.get_by_role("button", name="Tomar la conversación").click()
        expect(console.locator(".notice.ok")).to_contain_text("Tomaste la conversación")
        console.get_by_label("Escribir al deudor").fill(SUPERVISOR_TEXT)
        console.get_by_role("button", name="Enviar").click()
        expect(console.locator(".notice.ok")).to_contain_text("Mensaje en cola")
        expect(ana.locator("#chat li.theirs")).to_have_count(6)
        expect(ana.locator("#chat li.theirs").last).to_contain_text("soy Marta")
        screenshot(console, shots / "console-conversation.png")

        say(ana, "gracias Marta", 6)  # a person holds it: the agent stays quiet
        console.reload()
        expect(console.locator(".transcript li.msg.inbound").last).to_contain_text("gracias")
        console.get_by_role("button", name="Devolver al agente").click()
        expect(console.locator(".notice.ok")).to_contain_text("Conversación devuelta")

        for name, path in [
            ("portfolio", "/console/portfolio"),
            ("payments", "/console/payments"),
            ("dashboard", "/console/dashboard"),
        ]:
            console.goto(server.base + path)
            expect(console.locator("main h1")).to_be_visible()
            screenshot(console, shots / f"console-{name}.png")
        expect(console.locator("svg.chart").first).to_be_visible()
        expect(console.locator(".kpi").first).to_contain_text("100 %")

        console.goto(server.base + "/console/audit")
        audit = console.locator("table.audit")
        for kind in (
            "approval.approved",
            "conversation.taken_over",
            "supervisor.replied",
            "conversation.handed_back",
        ):
            expect(audit).to_contain_text(kind)
        screenshot(console, shots / "console-audit.png")

    for name in ("approvals", "conversation", "portfolio", "dashboard", "audit"):
        assert (shots / f"console-{name}.png").stat().st_size > 10_000
    assert key not in server.output  # the key never reaches the logs

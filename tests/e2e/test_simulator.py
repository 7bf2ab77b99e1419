"""The simulator in a real browser: `pacta serve` in a subprocess, Debian's headless chromium
driven by Playwright, a whole negotiation typed and tapped as Lucía (AUR-MX-0001).

Skipped only on a developer machine without /usr/bin/chromium; in CI (`CI` set) it always
runs, and `.ci/run` installs chromium first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.support import chromium, screenshot, serving, skip_without_a_browser

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.integration
skip_without_a_browser()

REPLY_TIMEOUT_MS = 20_000
VIEWPORT = {"width": 390, "height": 844}
LUCIA_DIGITS = "5512345678"


@contextmanager
def browser_page(base: str) -> Iterator[Page]:
    """Debian's headless chromium on a phone-sized viewport, at the simulator."""
    with chromium() as browser:
        context = browser.new_context(
            viewport=VIEWPORT, locale="es-MX", is_mobile=True, has_touch=True
        )
        page = context.new_page()
        page.set_default_timeout(REPLY_TIMEOUT_MS)
        page.goto(f"{base}/simulator")
        yield page


def pacta_bubbles(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#chat li.theirs")


def send_text(page: Page, text: str) -> None:
    page.get_by_label("Mensaje").fill(text)
    page.get_by_role("button", name="Enviar").click()


def wait_for_replies(page: Page, count: int) -> None:
    from playwright.sync_api import expect

    expect(pacta_bubbles(page)).to_have_count(count, timeout=REPLY_TIMEOUT_MS)


def test_chat_as_lucia_through_the_simulator(tmp_path: Path) -> None:
    with serving(tmp_path / "data") as server, browser_page(server.base) as page:
        negotiate_as_lucia(page, tmp_path)
    logs = server.output
    assert "GET /v1/sandbox/messages?phone=%2B********5678" in logs  # access log, masked
    assert LUCIA_DIGITS not in logs
    assert "4821" not in logs  # no message body either


def negotiate_as_lucia(page: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    picker = page.get_by_label("Cuenta: escribes como su titular")
    expect(picker.locator("option")).to_have_count(4)  # the prompt and three demo accounts
    picker.select_option("AUR-MX-0001")
    expect(page.locator("#subtitle")).to_contain_text("Lucía")

    send_text(page, "hola")
    expect(page.locator("#chat li.mine").first).to_contain_text("hola")
    wait_for_replies(page, 1)
    expect(pacta_bubbles(page).last).to_contain_text("cuatro dígitos")

    send_text(page, "4821")
    wait_for_replies(page, 2)
    options = pacta_bubbles(page).last
    expect(options).to_contain_text("Puedes elegir")
    expect(options.locator("button.reply-button")).to_have_count(3)
    screenshot(page, tmp_path / "simulator-options.png")

    options.get_by_role("button", name="2. 3 mensuales").click()
    wait_for_replies(page, 3)
    confirmation = pacta_bubbles(page).last
    expect(confirmation).to_contain_text("¿Lo confirmamos?")
    expect(confirmation.get_by_role("button", name="Sí, confirmo")).to_be_visible()
    expect(page.locator("#chat li.mine").last).to_contain_text("2. 3 mensuales")

    confirmation.get_by_role("button", name="Sí, confirmo").click()
    wait_for_replies(page, 4)
    screenshot(page, tmp_path / "simulator-agreement.png")

    chat_text = page.locator("#chat").inner_text()
    assert chat_text.count("¿Lo confirmamos?") == 1
    assert "$1,600" in chat_text
    assert page.locator("#status").inner_text() == ""
    # A phone-sized page that never scrolls as a whole: only the chat does.
    assert page.evaluate("document.documentElement.scrollHeight") <= VIEWPORT["height"]
    assert (tmp_path / "simulator-agreement.png").stat().st_size > 10_000


def test_with_configured_keys_the_page_asks_for_one(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    key = "e2e-qa-key-0123456789"
    with serving(tmp_path / "data", PACTA_API_KEYS=f"{key}:qa") as server:
        with browser_page(server.base) as page:
            key_input = page.get_by_placeholder("Clave de API")
            expect(key_input).to_be_visible()
            key_input.fill("not-the-key")
            page.get_by_role("button", name="Usar clave").click()
            expect(page.locator("#status")).to_have_text("La clave de API no es válida.")
            expect(key_input).to_be_visible()

            key_input.fill(key)
            page.get_by_role("button", name="Usar clave").click()
            expect(page.locator("#key-panel")).to_be_hidden()
            page.get_by_label("Cuenta: escribes como su titular").select_option("AUR-CO-0002")
            send_text(page, "hola")
            wait_for_replies(page, 1)
            expect(pacta_bubbles(page).last).to_contain_text("Financiera Aurora")

            page.reload()  # the key stays for the tab's session, the account too
            expect(page.locator("#key-panel")).to_be_hidden()
            expect(pacta_bubbles(page)).to_have_count(1)
            screenshot(page, tmp_path / "simulator-keyed.png")
        assert not (tmp_path / "data" / "dev-api-key").exists()

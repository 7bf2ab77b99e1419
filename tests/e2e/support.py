"""What the browser tests share: a seeded `pacta serve` on a free port, Debian's headless
chromium driven by Playwright, and screenshots kept as artifacts (PACTA_SCREENSHOT_DIR)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import holidays
import httpx
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]


def skip_without_a_browser() -> None:
    """On a developer machine without chromium or playwright, skip; in CI (`CI` set), never."""
    if os.environ.get("CI"):
        return
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (/usr/bin/chromium)", allow_module_level=True)
    pytest.importorskip("playwright", reason="the playwright dev dependency is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def working_hours() -> datetime:
    """11:00 in Mexico City (noon in Bogotá and Lima) on the latest Tuesday to Thursday up to
    today that is a holiday in none of the demo accounts' countries: inside every demo pack's
    contact window, so the replies a browser test waits for are never held for the night."""
    zone = ZoneInfo("America/Mexico_City")
    day = datetime.now(zone).date()
    closed = holidays.country_holidays("MX") + holidays.country_holidays("CO")
    closed += holidays.country_holidays("PE")
    while day.weekday() not in (1, 2, 3) or day in closed:
        day -= timedelta(days=1)
    return datetime.combine(day, clock_time(11, 0), tzinfo=zone)


def server_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACTA_")}
    env.pop("OPENAI_API_KEY", None)
    env.update(
        {
            "PACTA_DATA_DIR": str(data_dir),
            "PACTA_LLM": "offline",
            "PACTA_SANDBOX_CLOCK": working_hours().isoformat(),
        }
    )
    return env


def wait_until_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"pacta serve exited with {proc.returncode}:\n{output[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError("pacta serve did not become healthy within 60 s")


@dataclass
class Server:
    base: str
    output: str = ""  # what the server printed, once it has stopped


@contextmanager
def serving(data_dir: Path, **extra_env: str) -> Iterator[Server]:
    """A seeded `pacta serve` on a free loopback port, with its worker and dispatcher."""
    env = {**server_env(data_dir), **extra_env}
    cli = [sys.executable, "-m", "api.cli"]
    subprocess.run([*cli, "db", "seed"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}")
    try:
        wait_until_healthy(server.base, proc)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's headless chromium (never a browser downloaded by a tool)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Page, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("PACTA_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)

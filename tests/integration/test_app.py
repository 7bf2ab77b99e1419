"""The real app, served by uvicorn on a free loopback port."""

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app

pytestmark = pytest.mark.integration


def test_healthz_reports_the_database(settings, engine, monkeypatch):
    monkeypatch.setenv("PACTA_DATA_DIR", str(settings.data_dir))
    from agent.config import get_settings

    get_settings.cache_clear()
    try:
        body = TestClient(create_app()).get("/healthz").json()
    finally:
        get_settings.cache_clear()
    assert body == {"status": "ok", "database": "ok", "version": "0.1.0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pacta_serve_answers_healthz(tmp_path):
    port = free_port()
    env = {**os.environ, "PACTA_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert (tmp_path / "data" / "pacta.sqlite").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)

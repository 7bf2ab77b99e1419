"""Recorded conversations with a real OpenAI-compatible server (vcrpy via pytest-recording).

CI replays the cassettes in tests/llm/cassettes with the network blocked; `make cassettes`
re-records them against a local llama.cpp server (or any endpoint: OPENAI_BASE_URL,
PACTA_TEST_LLM_MODEL). Requests match on method, path and the JSON body's meaningful keys, not
on the host, so a cassette recorded against one server replays against any base URL.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from agent.config import Settings

BASE_URL = os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8089/v1")
MODEL = os.environ.get("PACTA_TEST_LLM_MODEL", "smollm2")
DROP_RESPONSE_HEADERS = {"set-cookie", "openai-organization", "openai-project", "x-request-id"}
BODY_KEYS = ("model", "messages", "response_format", "temperature", "max_tokens", "stream")


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    for name in list(response["headers"]):
        if name.lower() in DROP_RESPONSE_HEADERS:
            del response["headers"][name]
    return response


def _json_body(r1: Any, r2: Any) -> None:
    def meaningful(request: Any) -> Any:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return request.body
        return {k: body.get(k) for k in BODY_KEYS}

    assert meaningful(r1) == meaningful(r2)


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    vcr.register_matcher("json_body", _json_body)


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": [
            ("authorization", "REDACTED"),
            ("api-key", "REDACTED"),
            ("x-api-key", "REDACTED"),
            ("openai-organization", "REDACTED"),
            ("openai-project", "REDACTED"),
        ],
        "before_record_response": _scrub_response,
        "decode_compressed_response": True,
        "match_on": ["method", "path", "json_body"],
        "allow_playback_repeats": False,
    }


@pytest.fixture
def llm_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The test database, with the openai provider on the recording endpoint."""
    monkeypatch.setenv("OPENAI_API_KEY", os.environ.get("OPENAI_API_KEY", "sk-test-not-a-key"))
    monkeypatch.setenv("OPENAI_BASE_URL", BASE_URL)
    # Recording on a CPU runs a small model with grammar-constrained sampling: slow, so the
    # timeout is generous here (replay is instant).
    # Playbook examples come from the hash embeddings: exact on any CPU, so the retrieved
    # examples (part of the recorded prompts) cannot differ between machines.
    return settings.model_copy(
        update={
            "llm": "openai",
            "llm_model": MODEL,
            "llm_timeout_seconds": 300.0,
            "embeddings": "hash",
        }
    )

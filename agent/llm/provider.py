"""Model providers: `offline` (no model) and `openai` (any OpenAI-compatible endpoint).

A provider answers two questions for a turn: what the debtor's message means (a JSON object in
the understanding schema) and how to word the reply (plain text). Either answer may be None:
the caller then takes the offline path for that step, so a debtor always gets a reply whatever
the endpoint does (timeout, HTTP error, refusal, malformed or empty output).

Structured output is asked for in the strongest form the endpoint supports: a strict
`json_schema` response format first, then `json_object` (llama.cpp's server answers 500 to
some schemas; older servers 400), then plain text with the keys spelled out in the prompt and
a tolerant parse. The first form that works is remembered for the life of the provider, so the
ladder is climbed once per process, not once per turn.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import openai
from openai import OpenAI

from agent.config import Settings
from agent.llm.understanding import UNDERSTANDING_SCHEMA, InvalidModelOutput, parse_json_object
from agent.llm.usage import ModelCall, TurnUsage

log = logging.getLogger("pacta.llm")

STRUCTURED_MODES = ("json_schema", "json_object", "text")
# Statuses by which an endpoint says "I cannot do this response_format" rather than "try later".
UNSUPPORTED_FORMAT_STATUSES = {400, 404, 422, 500, 501}
RETRYABLE_STATUSES = {429, 502, 503, 504}
RETRY_BACKOFF_SECONDS = 0.5


class ModelFailure(Exception):
    """A model call that produced nothing usable; `reason` is recorded as the fallback."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Provider(Protocol):
    name: str
    model: str | None

    def understand(
        self, messages: list[dict[str, str]], plain_messages: list[dict[str, str]], usage: TurnUsage
    ) -> dict[str, Any]: ...

    def draft(self, messages: list[dict[str, str]], usage: TurnUsage, step: str) -> str: ...


class OfflineProvider:
    """No model: every step takes the offline engine. Never called by the graph."""

    name = "offline"
    model: str | None = None

    def understand(
        self, messages: list[dict[str, str]], plain_messages: list[dict[str, str]], usage: TurnUsage
    ) -> dict[str, Any]:
        raise ModelFailure("offline")

    def draft(self, messages: list[dict[str, str]], usage: TurnUsage, step: str) -> str:
        raise ModelFailure("offline")


class OpenAIProvider:
    """The official openai SDK against OpenAI or any compatible server (vLLM, Ollama, llama.cpp)."""

    name = "openai"

    def __init__(self, settings: Settings, client: OpenAI | None = None) -> None:
        self.model: str | None = settings.llm_model
        # The SDK's own retries are off: ours below are bounded and skip what cannot succeed.
        self.client = client or OpenAI(timeout=settings.llm_timeout_seconds, max_retries=0)
        self.max_retries = settings.llm_max_retries
        self.structured_mode: str | None = None  # learned on the first successful answer
        self.draft_max_tokens = 400
        self.understand_max_tokens = 300

    # -- steps -----------------------------------------------------------------------------
    def understand(
        self, messages: list[dict[str, str]], plain_messages: list[dict[str, str]], usage: TurnUsage
    ) -> dict[str, Any]:
        """The model's JSON answer; ModelFailure when no form of structured output worked."""
        modes = (self.structured_mode,) if self.structured_mode else STRUCTURED_MODES
        failure = ModelFailure("no structured output mode")
        for mode in modes:
            prompt = plain_messages if mode == "text" else messages
            try:
                content = self._complete(prompt, mode, "understand", usage)
            except ModelFailure as e:
                failure = e
                if e.status in UNSUPPORTED_FORMAT_STATUSES and mode != "text":
                    continue  # this endpoint cannot do `mode`: try the next, weaker one
                raise
            self.structured_mode = mode  # the endpoint took this form, whatever it wrote
            try:
                return parse_json_object(content)
            except InvalidModelOutput as e:
                usage.calls[-1].outcome = "invalid"
                raise ModelFailure("invalid") from e
        raise failure

    def draft(self, messages: list[dict[str, str]], usage: TurnUsage, step: str = "draft") -> str:
        content = self._complete(messages, "text", step, usage)
        text = clean_draft(content)
        if not text:
            usage.calls[-1].outcome = "empty"
            raise ModelFailure("empty")
        return text

    # -- one call, with bounded retries --------------------------------------------------
    def _complete(
        self, messages: list[dict[str, str]], mode: str, step: str, usage: TurnUsage
    ) -> str:
        attempt = 0
        while True:
            try:
                return self._call(messages, mode, step, usage)
            except ModelFailure as e:
                retryable = e.reason == "connection" or e.status in RETRYABLE_STATUSES
                if not retryable or attempt >= self.max_retries:
                    raise
                attempt += 1
                time.sleep(RETRY_BACKOFF_SECONDS * attempt)

    def _call(self, messages: list[dict[str, str]], mode: str, step: str, usage: TurnUsage) -> str:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": self.understand_max_tokens
            if step == "understand"
            else self.draft_max_tokens,
        }
        if mode == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": "understanding",
                    "strict": True,
                    "schema": UNDERSTANDING_SCHEMA,
                },
            }
        elif mode == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        started = time.perf_counter()
        call = ModelCall(step=step, mode=mode, outcome="ok", latency_ms=0)
        usage.record(call)
        try:
            completion = self.client.chat.completions.create(**kwargs)
        except openai.APITimeoutError:
            call.outcome = "timeout"
            raise ModelFailure("timeout") from None
        except openai.APIConnectionError:
            call.outcome = "connection"
            raise ModelFailure("connection") from None
        except openai.APIStatusError as e:
            call.outcome = f"http_{e.status_code}"
            raise ModelFailure(f"http_{e.status_code}", e.status_code) from None
        finally:
            call.latency_ms = round((time.perf_counter() - started) * 1000)
        if completion.usage is not None:
            call.prompt_tokens = completion.usage.prompt_tokens or 0
            call.completion_tokens = completion.usage.completion_tokens or 0
        choice = completion.choices[0] if completion.choices else None
        message = choice.message if choice else None
        if message is None or getattr(message, "refusal", None):
            call.outcome = "refused" if message is not None else "empty"
            raise ModelFailure(call.outcome)
        return message.content or ""


def clean_draft(text: str) -> str:
    """The message itself: without wrapping quotes, a 'Mensaje:' label or Markdown headings."""
    lines = [ln.rstrip() for ln in (text or "").strip().splitlines()]
    lines = [ln for ln in lines if not ln.lstrip().startswith("#")]
    cleaned = "\n".join(lines).strip()
    for label in ("mensaje:", "respuesta:", "borrador:"):
        if cleaned.lower().startswith(label):
            cleaned = cleaned[len(label) :].strip()
    if len(cleaned) >= 2 and cleaned[0] == cleaned[-1] and cleaned[0] in "\"'“”«":
        cleaned = cleaned[1:-1].strip()
    if cleaned.startswith("“") and cleaned.endswith("”"):
        cleaned = cleaned[1:-1].strip()
    return cleaned


def get_provider(settings: Settings) -> Provider:
    if settings.llm == "openai":
        return OpenAIProvider(settings)
    return OfflineProvider()

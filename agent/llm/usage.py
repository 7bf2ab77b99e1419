"""What the model cost in one turn: calls, tokens, time, and which steps fell back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ModelCall:
    """One request to the model endpoint, successful or not."""

    step: str  # understand | draft | redraft
    mode: str  # json_schema | json_object | text
    outcome: str  # ok | timeout | connection | http_<status> | invalid | empty
    latency_ms: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt: str = ""  # the prompt's version (prompts/llm/*.yaml)


@dataclass
class TurnUsage:
    """The model calls of one turn and the steps that fell back to the offline engine."""

    provider: str = "offline"
    model: str | None = None
    calls: list[ModelCall] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)  # "understand:timeout", "draft:guard"

    def record(self, call: ModelCall) -> None:
        self.calls.append(call)

    def label_since(self, start: int, prompt_version: str) -> None:
        """Name the prompt version on the calls made since call number `start`."""
        for call in self.calls[start:]:
            call.prompt = prompt_version

    def fell_back(self, step: str, reason: str) -> None:
        self.fallbacks.append(f"{step}:{reason}")

    @property
    def prompt_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.calls)

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.calls)

    @property
    def latency_ms(self) -> int:
        return sum(c.latency_ms for c in self.calls)

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "calls": [asdict(c) for c in self.calls],
            "fallbacks": list(self.fallbacks),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_ms": self.latency_ms,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TurnUsage:
        if not data:
            return cls()
        return cls(
            provider=data.get("provider", "offline"),
            model=data.get("model"),
            calls=[ModelCall(**c) for c in data.get("calls", [])],
            fallbacks=list(data.get("fallbacks", [])),
        )

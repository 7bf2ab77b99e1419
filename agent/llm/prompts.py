"""The model's prompts, loaded from prompts/llm/*.yaml and rendered with Jinja2."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, Template

from prompts import PROMPTS_DIR

LLM_PROMPTS_DIR = PROMPTS_DIR / "llm"

_ENV = Environment(
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False
)


@dataclass(frozen=True)
class PromptTemplate:
    """A versioned prompt: a system and a user template, and named extra templates and maps."""

    version: str
    system: Template
    user: Template
    extra: dict[str, Any]

    def messages(self, **values: Any) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.system.render(**values).strip()},
            {"role": "user", "content": self.user.render(**values).strip()},
        ]

    def render(self, name: str, **values: Any) -> str:
        return _ENV.from_string(self.extra[name]).render(**values).strip()


@lru_cache(maxsize=8)
def load_prompt(name: str, directory: Path = LLM_PROMPTS_DIR) -> PromptTemplate:
    path = directory / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = [k for k in ("version", "system", "user") if not data.get(k)]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    return PromptTemplate(
        version=str(data["version"]),
        system=_ENV.from_string(data["system"]),
        user=_ENV.from_string(data["user"]),
        extra={k: v for k, v in data.items() if k not in {"version", "system", "user"}},
    )

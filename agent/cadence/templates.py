"""WhatsApp message templates as registered with Meta (`prompts/templates/*.yaml`).

A template is declared with its name, category, languages, the body text with positional
parameters ({{1}}, {{2}}...), an optional footer and quick-reply buttons: exactly what Meta
reviews. `render` fills it in the way a phone shows it (body, then footer), so the sandbox
transcript reads like production. The checks follow Meta's rules (shared/reference/
whatsapp_api.md §5): lowercase names, a body of at most 1024 characters that neither starts nor
ends with a parameter, parameters numbered 1..n, a footer of at most 60 characters, at most
10 buttons of at most 25 characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from policies.cadence import ParamName
from prompts import PROMPTS_DIR

TEMPLATES_DIR = PROMPTS_DIR / "templates"
MAX_BODY = 1024
MAX_FOOTER = 60
MAX_BUTTONS = 10
MAX_BUTTON_LABEL = 25
_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


class TemplateError(ValueError):
    """A template file is unreadable or a declaration breaks Meta's rules."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TemplateParameter(_Strict):
    name: ParamName
    example: str = Field(min_length=1)


class WhatsAppTemplate(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_]+$", max_length=512)
    category: Literal["utility", "marketing", "authentication"]
    languages: tuple[str, ...] = Field(min_length=1)
    parameters: tuple[TemplateParameter, ...] = ()
    body: str = Field(min_length=1, max_length=MAX_BODY)
    footer: str | None = Field(default=None, max_length=MAX_FOOTER)
    buttons: tuple[str, ...] = Field(default=(), max_length=MAX_BUTTONS)

    @field_validator("body", mode="before")
    @classmethod
    def _one_paragraph(cls, value: Any) -> Any:
        return " ".join(value.split()) if isinstance(value, str) else value

    @field_validator("languages")
    @classmethod
    def _codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if not re.match(r"^[a-z]{2,3}(_[A-Z]{2})?$", code):
                raise ValueError(f"language {code!r} is not a code such as es or es_MX")
        return value

    @field_validator("buttons")
    @classmethod
    def _labels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for label in value:
            if not label.strip() or len(label) > MAX_BUTTON_LABEL:
                raise ValueError(f"button label {label!r}: 1 to {MAX_BUTTON_LABEL} characters")
        if len(set(value)) != len(value):
            raise ValueError("button labels must be unique")
        return value

    @model_validator(mode="after")
    def _placeholders(self) -> WhatsAppTemplate:
        numbers = [int(n) for n in _PLACEHOLDER.findall(self.body)]
        if sorted(set(numbers)) != list(range(1, len(self.parameters) + 1)):
            raise ValueError(
                f"body parameters {sorted(set(numbers))} do not match the "
                f"{len(self.parameters)} declared (1..n, each used)"
            )
        stripped = self.body.strip()
        if _PLACEHOLDER.match(stripped) or re.search(r"\{\{\s*\d+\s*\}\}$", stripped):
            raise ValueError("Meta rejects a body that starts or ends with a parameter")
        return self

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def language_for(self, locale: str) -> str:
        """The registered translation for the account's locale: es_MX, es_AR, es_ES or es."""
        if locale in self.languages:
            return locale
        base = locale.split("_")[0]
        if base in self.languages:
            return base
        return self.languages[0]

    def fill(self, values: Sequence[str]) -> str:
        """The body with its parameters filled in."""
        if len(values) != len(self.parameters):
            raise TemplateError(
                f"{self.name}: {len(values)} values for {len(self.parameters)} parameters"
            )
        return _PLACEHOLDER.sub(lambda m: values[int(m.group(1)) - 1], self.body)

    def render(self, values: Sequence[str]) -> str:
        """What the debtor reads: the filled body, then the footer."""
        text = self.fill(values)
        return f"{text}\n\n{self.footer}" if self.footer else text

    def sample_values(self) -> tuple[str, ...]:
        return tuple(p.example for p in self.parameters)


def _declarations(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise TemplateError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict) or not isinstance(data.get("templates"), list):
        raise TemplateError(f"{path}: expected a mapping with a `templates` list")
    defaults = data.get("defaults") or {}
    return [{**defaults, **item} for item in data["templates"]]


def parse_templates(path: Path) -> list[WhatsAppTemplate]:
    out: list[WhatsAppTemplate] = []
    for i, raw in enumerate(_declarations(path)):
        try:
            out.append(WhatsAppTemplate.model_validate(raw))
        except ValidationError as e:
            name = raw.get("name", f"#{i + 1}") if isinstance(raw, dict) else f"#{i + 1}"
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'template'}: {err['msg']}"
                for err in e.errors()
            )
            raise TemplateError(f"{path}: template {name}: {problems}") from e
    return out


@lru_cache(maxsize=4)
def load_templates(directory: Path = TEMPLATES_DIR) -> Mapping[str, WhatsAppTemplate]:
    """Every declared template by name; a name declared twice is an error."""
    registry: dict[str, WhatsAppTemplate] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        for template in parse_templates(path):
            if template.name in registry:
                raise TemplateError(f"{path}: template {template.name} is declared twice")
            registry[template.name] = template
    return registry

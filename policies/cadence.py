"""Outbound cadence as data: which WhatsApp template goes when, per creditor (issue 8).

A cadence is plain YAML under `policies/cadences/<id>.yaml`, validated by `Cadence` below.
Steps are relative to an anchor:

- `due_date`: the account's due date (default -7, 0, +7, +14, +30 days). These are planned by
  `agent.cadence.planner` and sent by the scheduler;
- `installment_due` / `installment_missed`: the installments of an active agreement (-1 day,
  and +1 day after a missed one). Those are not planned here: `handled_by: payments.sweep`
  says the daily installment sweep of `agent/payments.py` sends them (its notice names the
  wording); the cadence only describes them, and the loader checks they agree with the
  mandate.

Each step names its WhatsApp template per tone (the account's segment picks it, `default`
otherwise), the template's Meta category and the parameters that fill {{1}}, {{2}}...; the
templates themselves are declared in `prompts/templates/` (see `agent/cadence/templates.py`).

This module is pure: it only reads YAML.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CADENCES_DIR = Path(__file__).resolve().parent / "cadences"

Anchor = Literal["due_date", "installment_due", "installment_missed"]
Category = Literal["utility", "marketing"]
Tone = Literal["standard", "good_history", "new", "hardship", "corporate"]
HandledBy = Literal["cadence", "payments.sweep"]
# Facts a template parameter may name; every one is computed by the store, never by a model.
ParamName = Literal[
    "first_name",
    "creditor",
    "reference",
    "amount",  # the balance owed, formatted in the account's locale
    "due_date",  # the account's due date, formatted
    "installment_amount",
    "installment_due_date",
    "payment_amount",
    "remaining",
]
DUE_DATE_PARAMS: frozenset[str] = frozenset(
    {"first_name", "creditor", "reference", "amount", "due_date"}
)
_ID = r"^[a-z0-9_]+$"


class CadenceError(ValueError):
    """A cadence file is missing, is not valid YAML, or breaks the schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToneGuide(_Strict):
    """How messages to a segment should sound (seed 004); the templates carry it out."""

    description: str = Field(min_length=1)


class CadenceStep(_Strict):
    id: str = Field(pattern=_ID, max_length=64)
    anchor: Anchor
    offset_days: int = Field(ge=-60, le=365)
    category: Category
    templates: dict[Literal["default"] | Tone, str] = Field(min_length=1)
    parameters: tuple[ParamName, ...]
    handled_by: HandledBy = "cadence"
    notice: str | None = None  # payments.sweep: the Notice of agent/payment_notices.py
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> CadenceStep:
        if "default" not in self.templates:
            raise ValueError(f"step {self.id}: templates need a 'default' entry")
        if self.anchor == "due_date" and self.handled_by != "cadence":
            raise ValueError(f"step {self.id}: due-date steps are sent by the cadence")
        if self.anchor != "due_date" and (self.handled_by != "payments.sweep" or not self.notice):
            raise ValueError(
                f"step {self.id}: installment steps are sent by payments.sweep and name a notice"
            )
        unknown = set(self.parameters) - DUE_DATE_PARAMS
        if self.anchor == "due_date" and unknown:
            raise ValueError(f"step {self.id}: no such due-date fact(s): {sorted(unknown)}")
        return self

    def template_for(self, segment: str | None) -> str:
        """The template of the account's segment (its tone), else the default one."""
        return self.templates.get(segment or "default", self.templates["default"])  # type: ignore[call-overload]


class Cadence(_Strict):
    id: str = Field(pattern=_ID, max_length=64)
    version: str = Field(min_length=1)
    description: str = ""
    channel: Literal["whatsapp"] = "whatsapp"
    tones: dict[Tone, ToneGuide]
    steps: tuple[CadenceStep, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _steps(self) -> Cadence:
        ids = [s.id for s in self.steps]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate step ids: {sorted({i for i in ids if ids.count(i) > 1})}")
        due = [s.offset_days for s in self.due_steps]
        if len(due) != len(set(due)):
            raise ValueError("two due-date steps share an offset")
        if not due:
            raise ValueError("a cadence needs at least one due-date step")
        return self

    @property
    def due_steps(self) -> tuple[CadenceStep, ...]:
        """The due-date steps, earliest offset first."""
        steps = (s for s in self.steps if s.anchor == "due_date")
        return tuple(sorted(steps, key=lambda s: s.offset_days))

    def step(self, step_id: str) -> CadenceStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def installment_step(self, anchor: Anchor) -> CadenceStep | None:
        return next((s for s in self.steps if s.anchor == anchor), None)


def cadence_path(name: str) -> Path:
    """A cadence id under policies/cadences/, or a path to a YAML file."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        return path
    return CADENCES_DIR / f"{name}.yaml"


def parse_cadence(data: Any, source: str = "<data>") -> Cadence:
    if not isinstance(data, dict):
        raise CadenceError(f"{source}: a cadence is a mapping, got {type(data).__name__}")
    try:
        return Cadence.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'cadence'}: {err['msg']}"
            for err in e.errors()
        )
        raise CadenceError(f"{source}: {problems}") from e


@lru_cache(maxsize=16)
def load_cadence(name: str = "default") -> Cadence:
    """Read and validate a cadence; CadenceError says which file and field are wrong."""
    path = cadence_path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        known = ", ".join(sorted(p.stem for p in CADENCES_DIR.glob("*.yaml")))
        raise CadenceError(f"no cadence {name!r} ({path}); known: {known}") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise CadenceError(f"{path}: not valid YAML: {e}") from e
    return parse_cadence(data, str(path))

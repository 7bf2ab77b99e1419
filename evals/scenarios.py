"""Eval suites as data: the scenario YAML schema and a loader that reports file, line and reason.

The format is a public contract (evals/suites/README.md): QA teams write suites in it. Every
mapping forbids unknown keys, so a typo fails fast instead of silently testing nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.actions import Action
from agent.portfolio import AccountRow
from agent.store.models import AgreementStatus, Stage
from agent.understanding.schema import Intent, Objection
from policies.mandate import MandateError, load_mandate

DEFAULT_PHONES = {
    "MX": "+525512345678",
    "CO": "+573001234567",
    "PE": "+51987654321",
    "CL": "+56961234567",
    "AR": "+5491123456789",
    "ES": "+34612345678",
    "US": "+14155552671",
}
DEFAULT_DOCUMENT_LAST4 = "4821"
DEFAULT_DAYS_PAST_DUE = 45
DEFAULT_PRINCIPAL = Decimal("5000")
DEFAULT_NAME = "Andrea Gómez"
DEFAULT_PERSONA_TURNS = 12


class SuiteError(ValueError):
    """A suite file that cannot be run: where (file and line) and why."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason}")
        self.path, self.line, self.reason = path, line, reason


def _money(value: Any) -> Any:
    """YAML numbers as exact Decimals (4500.5 -> Decimal("4500.5"), never a binary float)."""
    if isinstance(value, bool):
        raise ValueError("expected an amount, not true/false")
    if isinstance(value, int | float):
        return Decimal(str(value))
    return value


Money = Annotated[Decimal, BeforeValidator(_money)]


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as e:
            raise ValueError(f"not a valid regular expression: {e}") from e
    return value


Regex = Annotated[str, BeforeValidator(_regex)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TurnExpect(_Strict):
    """Checks on the agent's answer to one debtor turn (all optional)."""

    intent: Intent | None = None
    objections: list[Objection] | None = None  # the exact set
    action: list[Action] | None = None  # the action decide chose (one, or any of a list)
    reply_matches: Regex | None = None
    reply_not_matches: Regex | None = None

    @field_validator("action", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class Turn(_Strict):
    """One scripted debtor turn: a text, or a press of a reply button (id or 1-based position)."""

    say: str | None = Field(default=None, min_length=1, max_length=4096)
    button: str | None = None
    expect: TurnExpect = Field(default_factory=TurnExpect)

    @field_validator("button", mode="before")
    @classmethod
    def _button_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @model_validator(mode="after")
    def _exactly_one(self) -> Turn:
        if (self.say is None) == (self.button is None):
            raise ValueError("a turn needs exactly one of `say` or `button`")
        return self


class Persona(_Strict):
    """A debtor to simulate instead of scripted turns."""

    goal: str = ""
    max_installment: Money | None = Field(default=None, gt=0)
    pay_full_by: date | None = None
    disputes_amount: bool = False
    wants_human: bool = False
    hostile: bool = False
    tries_injection: bool = False
    accepts_first_offer: bool = False


class AgreementExpect(_Strict):
    status: list[AgreementStatus] | None = None  # any of these
    installment_max: Money | None = None  # no installment above this amount
    installments_max: int | None = Field(default=None, ge=1)
    discount_pct_max: Money | None = None
    total_min: Money | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class FinalExpect(_Strict):
    """Checks on the state the conversation ends in (all optional)."""

    agreement: AgreementExpect | Literal["none"] | None = None
    handoff: bool | None = None
    opted_out: bool | None = None
    stage: list[Stage] | None = None  # any of these
    max_turns: int | None = Field(default=None, ge=1)
    violations: int | None = Field(default=None, ge=0)  # at most this many
    never_matches: Regex | None = None

    @field_validator("stage", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("agreement", mode="before")
    @classmethod
    def _none_word(cls, v: Any) -> Any:
        return "none" if v is None or v == "none" or v is False else v


class AccountSpec(_Strict):
    """The accounts CSV fields (all optional here) plus where the conversation starts."""

    account_id: str | None = Field(default=None, max_length=64)
    debtor_name: str = DEFAULT_NAME
    phone: str | None = None
    national_id: str | None = None
    document_last4: str | None = DEFAULT_DOCUMENT_LAST4
    email: str | None = None
    creditor: str | None = None
    currency: str | None = None
    principal: Money = DEFAULT_PRINCIPAL
    interest: Money = Decimal("0")
    fees: Money = Decimal("0")
    due_date: date | None = None
    days_past_due: int | None = Field(default=None, ge=0)
    jurisdiction: str = "MX"
    timezone: str | None = None
    segment: str = "standard"
    whatsapp_opt_in: bool = True
    identity_verified: bool = False

    def row(self, scenario_id: str) -> AccountRow:
        """The account as the portfolio import would read it (same checks, same defaults)."""
        values: dict[str, Any] = self.model_dump(exclude={"identity_verified", "account_id"})
        if "national_id" in self.model_fields_set and "document_last4" not in self.model_fields_set:
            values["document_last4"] = None
        jurisdiction = self.jurisdiction.strip().upper()
        values["phone"] = self.phone or DEFAULT_PHONES.get(jurisdiction, DEFAULT_PHONES["MX"])
        if self.due_date is None and self.days_past_due is None:
            values["days_past_due"] = DEFAULT_DAYS_PAST_DUE
        values["reference"] = self.account_id or f"EVAL-{scenario_id}"[:64]
        return AccountRow.model_validate({k: v for k, v in values.items() if v is not None})

    @model_validator(mode="after")
    def _valid_row(self) -> AccountSpec:
        try:
            self.row("check")
        except ValidationError as e:
            raise ValueError(_pydantic_reasons(e)) from None
        return self


class Defaults(_Strict):
    mandate: str = "default"
    now: AwareDatetime | None = None


class Scenario(_Strict):
    id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    tags: list[str] = Field(default_factory=list)
    description: str = ""
    mandate: str | None = None
    now: AwareDatetime | None = None
    account: AccountSpec = Field(default_factory=AccountSpec)
    turns: list[Turn] | None = None
    persona: Persona | None = None
    expect: FinalExpect = Field(default_factory=FinalExpect)

    @model_validator(mode="after")
    def _turns_or_persona(self) -> Scenario:
        if (self.turns is None) == (self.persona is None):
            raise ValueError("a scenario needs exactly one of `turns` or `persona`")
        if self.turns is not None and not self.turns:
            raise ValueError("`turns` is empty")
        return self

    @property
    def max_persona_turns(self) -> int:
        return self.expect.max_turns or DEFAULT_PERSONA_TURNS


class Suite(_Strict):
    suite: str = Field(min_length=1)
    threshold: float = Field(default=1.0, ge=0.0, le=1.0)
    description: str = ""
    defaults: Defaults = Field(default_factory=Defaults)
    scenarios: list[Scenario] = Field(min_length=1)

    @model_validator(mode="after")
    def _merge_defaults(self) -> Suite:
        merged = []
        for s in self.scenarios:
            now = s.now or self.defaults.now
            if now is None:
                raise ValueError(f"scenario {s.id}: no `now` (give it here or in defaults)")
            merged.append(
                s.model_copy(update={"now": now, "mandate": s.mandate or self.defaults.mandate})
            )
        object.__setattr__(self, "scenarios", merged)
        return self

    def selected(self, tags: Sequence[str] | None) -> list[Scenario]:
        """The scenarios carrying any of `tags` (all when no tags are given)."""
        wanted = {t.strip() for t in tags or () if t.strip()}
        return [s for s in self.scenarios if not wanted or wanted & set(s.tags)]


# --- loading ---------------------------------------------------------------------------------


def load_suite(path: Path | str) -> Suite:
    """Read and validate a suite file; SuiteError (file, line, reason) at the first problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SuiteError(str(path), None, f"cannot read the file: {e}") from e
    return parse_suite(text, str(path))


def parse_suite(text: str, name: str = "<suite>") -> Suite:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise SuiteError(name, line, f"not valid YAML: {e.problem}") from None
    if root is None or not isinstance(data, dict):
        raise SuiteError(name, 1, "a suite is a mapping with `suite`, `threshold`, `scenarios`")
    _check_duplicate_keys(root, name)
    try:
        suite = Suite.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = _yaml_loc(first["loc"])
        message = _message(first)
        field = re.match(r"^(\w+): ", message)
        if field and _child_at(root, (*loc, field.group(1))):
            loc = (*loc, field.group(1))  # a field checked with others: point at it
            message = message[field.end() :]
        line = _line_of(root, loc)
        raise SuiteError(name, line, f"{_dotted(loc)}: {message}") from None
    _check_ids_and_mandates(suite, root, name)
    return suite


def _check_duplicate_keys(node: yaml.Node, name: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                raise SuiteError(name, key.start_mark.line + 1, f"key `{key.value}` given twice")
            seen.add(key.value)
            _check_duplicate_keys(value, name)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, name)


def _check_ids_and_mandates(suite: Suite, root: yaml.Node, name: str) -> None:
    seen: dict[str, int] = {}
    for i, s in enumerate(suite.scenarios):
        line = _line_of(root, ("scenarios", i, "id"))
        if s.id in seen:
            raise SuiteError(name, line, f"scenario id `{s.id}` repeats scenario {seen[s.id] + 1}")
        seen[s.id] = i
        try:
            load_mandate(s.mandate or "default")
        except (MandateError, OSError, ValueError) as e:
            own = _child(_child(root, "scenarios")[0], i)  # type: ignore[index]
            has_own = own is not None and _child(own[0], "mandate") is not None
            where = ("scenarios", i, "mandate") if has_own else ("defaults", "mandate")
            raise SuiteError(name, _line_of(root, where), f"mandate {s.mandate!r}: {e}") from None


def _yaml_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Pydantic's location without the union branch labels it adds (`AgreementExpect`...)."""
    return tuple(
        p
        for p in loc
        if isinstance(p, int) or not (p[:1].isupper() or p.startswith(("literal[", "function-")))
    )


def _line_of(root: yaml.Node, loc: Sequence[Any]) -> int:
    """The 1-based line of the deepest node along `loc` that exists in the file."""
    node, line = root, root.start_mark.line + 1
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node, line = child
    return line


def _child_at(root: yaml.Node, loc: Sequence[Any]) -> bool:
    node: yaml.Node | None = root
    for part in loc:
        found = _child(node, part) if node is not None else None
        if found is None:
            return False
        node = found[0]
    return True


def _child(node: yaml.Node, part: Any) -> tuple[yaml.Node, int] | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if key.value == part:
                # The key's own line: a nested mapping's start is the line after it.
                return value, key.start_mark.line + 1
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item = node.value[part]
        return item, item.start_mark.line + 1
    return None


def _dotted(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _message(error: Any) -> str:
    msg = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown key (check the spelling; see evals/suites/README.md)"
    if error["type"] == "missing":
        return "required key missing"
    return msg


def _pydantic_reasons(error: ValidationError) -> str:
    parts = []
    for e in error.errors():
        where = ".".join(str(p) for p in e["loc"] if p != "reference")
        msg = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)

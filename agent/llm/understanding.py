"""Understanding by the model: the schema it answers in, and how its answer is trusted.

The model sees one debtor message and answers the same shape the offline classifier produces
(`agent.understanding.schema.Understanding`). Its schema is the LLM-facing one: every field
required, nullable instead of optional, no constraints (strict structured outputs reject
defaults and bounds); the answer is then validated into the domain model here.

What is trusted from the model, and why:
- intent and objections are the model's, except that an opt-out, a wrong person, a request for
  a human or a claimed payment found by the offline rules always stands: they are honoured
  downstream for legal and safety reasons and the rules for them are literal.
- hardship, vulnerability and dispute are the union of both: missing a vulnerable debtor costs
  more than a gentler reply to someone who was not.
- figures are the offline extractor's, which reads the debtor's own digits and words; a figure
  the model adds is kept only where the extractor found none and the debtor wrote it (the
  number appears in the text, in digits or words; a period's word is there; a date is within
  the next 400 days). A counteroffer with no figure left is not a counteroffer.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.understanding.figures import parse_numbers
from agent.understanding.normalize import tokenize
from agent.understanding.schema import Figures, Intent, Objection, Period, Understanding

PROTECTED_INTENTS = {
    Intent.opt_out,
    Intent.wrong_person,
    Intent.request_human,
    Intent.already_paid,
}

UNDERSTANDING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "intent",
        "objections",
        "amounts",
        "period",
        "dates",
        "option",
        "installments",
        "hardship",
        "vulnerability",
        "dispute",
        "confidence",
    ],
    "properties": {
        "intent": {"type": "string", "enum": [i.value for i in Intent]},
        "objections": {
            "type": "array",
            "items": {"type": "string", "enum": [o.value for o in Objection]},
        },
        "amounts": {"type": "array", "items": {"type": "string"}},
        "period": {
            "anyOf": [{"type": "string", "enum": [p.value for p in Period]}, {"type": "null"}]
        },
        "dates": {"type": "array", "items": {"type": "string"}},
        "option": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "installments": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "hardship": {"type": "boolean"},
        "vulnerability": {"type": "boolean"},
        "dispute": {"type": "boolean"},
        "confidence": {"type": "number"},
    },
}


class InvalidModelOutput(ValueError):
    """The model answered, but not with something usable."""


def parse_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in a model's text, tolerating fences, prose and trailing commas."""
    if not text or not text.strip():
        raise InvalidModelOutput("empty answer")
    cleaned = re.sub(r"```(?:json)?", "", text)
    start = cleaned.find("{")
    end = cleaned.rfind("}")
    if start < 0 or end <= start:
        raise InvalidModelOutput("no JSON object in the answer")
    body = re.sub(r",\s*([}\]])", r"\1", cleaned[start : end + 1])
    try:
        data = json.loads(body)
    except json.JSONDecodeError as e:
        raise InvalidModelOutput(f"malformed JSON: {e.msg}") from None
    if not isinstance(data, dict):
        raise InvalidModelOutput("the answer is not a JSON object")
    return data


def model_understanding(
    data: dict[str, Any], offline: Understanding, text: str, today: date
) -> Understanding:
    """Validate the model's answer and merge it with the offline reading (see module doc)."""
    try:
        intent = Intent(str(data.get("intent", "")).strip().lower())
    except ValueError:
        raise InvalidModelOutput(f"unknown intent {data.get('intent')!r}") from None
    if offline.intent in PROTECTED_INTENTS:
        intent = offline.intent
    objections = sorted(
        {Objection(o) for o in _strings(data.get("objections")) if o in Objection.__members__}
    )
    figures = _merge_figures(offline.figures, data, text, today)
    if intent is Intent.counteroffer and not _has_figures(figures):
        intent = offline.intent
    return Understanding(
        intent=intent,
        objections=objections,
        figures=figures,
        hardship=offline.hardship or data.get("hardship") is True,
        vulnerability=offline.vulnerability or data.get("vulnerability") is True,
        dispute=offline.dispute or data.get("dispute") is True,
        confidence=_confidence(data.get("confidence")),
    )


def _merge_figures(offline: Figures, data: dict[str, Any], text: str, today: date) -> Figures:
    merged = offline.model_copy(deep=True)
    stated = _numbers_in(text)
    if not merged.amounts:
        merged.amounts = [a for a in _amounts(data.get("amounts")) if a in stated]
    if not merged.dates:
        horizon = today + timedelta(400)
        merged.dates = [d for d in _dates(data.get("dates")) if today <= d <= horizon]
    period = data.get("period")
    if merged.period is None and period in Period.__members__ and _says_period(text, period):
        merged.period = Period(period)
    if merged.option is None and _stated_int(data.get("option"), 1, 10, stated):
        merged.option = int(data["option"])
    if merged.installments is None and _stated_int(data.get("installments"), 1, 60, stated):
        merged.installments = int(data["installments"])
    return merged


_PERIOD_STEMS = {
    "monthly": ("mes", "mensual"),
    "biweekly": ("quincen", "catorcen"),
    "weekly": ("semana", "semanal"),
}


def _says_period(text: str, period: str) -> bool:
    tokens = tokenize(text)
    return any(t.startswith(_PERIOD_STEMS[period]) for t in tokens)


def _has_figures(f: Figures) -> bool:
    return bool(f.amounts or f.dates or f.installments or f.period)


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(v).strip().lower() for v in value if isinstance(v, str | int)]


def _amounts(value: Any) -> list[Decimal]:
    out: list[Decimal] = []
    for raw in _strings(value):
        digits = re.sub(r"[^\d.,]", "", raw).replace(",", "")
        try:
            amount = Decimal(digits)
        except InvalidOperation:
            continue
        if amount > 0:
            out.append(amount)
    return out


def _numbers_in(text: str) -> set[Decimal]:
    """Every number the debtor wrote, in digits or in words ("2 mil" counts as 2000)."""
    return {phrase.value for phrase in parse_numbers(tokenize(text))}


def _dates(value: Any) -> list[date]:
    out: list[date] = []
    for raw in _strings(value):
        try:
            out.append(date.fromisoformat(raw[:10]))
        except ValueError:
            continue
    return out


def _stated_int(value: Any, low: int, high: int, stated: set[Decimal]) -> bool:
    """A whole number in range that the debtor wrote (in digits or words)."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        return False
    return Decimal(value) in stated


def _confidence(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return min(1.0, max(0.0, float(value)))
    return 0.5

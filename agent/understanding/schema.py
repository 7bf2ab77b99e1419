"""What the understanding step extracts from one debtor message.

The offline classifier and (later) the LLM produce exactly this shape.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field


class Intent(StrEnum):
    objection = "objection"  # a reason not to pay as asked (amount, timing, emotional)
    counteroffer = "counteroffer"  # the debtor proposes figures: "puedo 500 al mes", "pago el 15"
    accept = "accept"  # yes to the last proposal / picks an option
    reject = "reject"  # no to the last proposal, without a counter
    pay_now = "pay_now"  # wants to pay the whole thing now / asks how to pay
    info_request = "info_request"  # asks how much, why, what for, who is writing
    already_paid = "already_paid"
    wrong_person = "wrong_person"
    request_human = "request_human"
    opt_out = "opt_out"
    other = "other"  # greetings, thanks, noise, identity answers


class Objection(StrEnum):
    amount = "amount"  # too much / wrong amount / wants a discount
    timing = "timing"  # not now / later / after payday
    emotional = "emotional"  # stress, shame, anger, grief, job loss, illness


class Period(StrEnum):
    monthly = "monthly"
    biweekly = "biweekly"
    weekly = "weekly"


class Figures(BaseModel):
    """Numbers the debtor stated, normalised."""

    amounts: list[Decimal] = Field(default_factory=list)  # "500", "1,500", "2 mil", "1.5k"
    period: Period | None = None  # "al mes", "quincenal", "por semana"
    dates: list[date] = Field(default_factory=list)  # "el 15", "el viernes", "15/03"
    option: int | None = None  # "la 2", "opción dos", "la primera"
    installments: int | None = None  # "en 6 cuotas", "a 3 meses"
    digits: str | None = None  # a bare number that answers an identity question ("4821")


class Understanding(BaseModel):
    intent: Intent
    objections: list[Objection] = Field(default_factory=list)  # sorted, unique
    figures: Figures = Field(default_factory=Figures)
    hardship: bool = False  # job loss, illness, reduced income
    vulnerability: bool = False  # grief, serious illness, self-harm, distress: handle with care
    dispute: bool = False  # does not recognise the debt or its amount
    confidence: float = Field(default=0.5, ge=0.0, le=1.0)

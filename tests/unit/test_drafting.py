from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from agent.actions import Action, ReplyFacts
from agent.drafting import (
    LAST_RESORT_REPLY,
    TEMPLATES_PATH,
    ReplyTemplates,
    draft_and_guard,
    guard_context,
    render_reply,
    render_variant,
    safe_reply,
    variant_count,
)
from agent.understanding.schema import Objection
from policies.formatting import format_date, format_money, format_percent
from policies.guard import check
from policies.plans import (
    Frequency,
    Offer,
    OfferOption,
    PaymentPlan,
    PlanKind,
    ScheduledPayment,
)

TODAY = date(2026, 3, 10)
REPO = Path(__file__).resolve().parents[2]


# -- hand-made offers -------------------------------------------------------------------------


def pay_in_full(balance: Decimal, pct: Decimal, due: date, total: Decimal) -> PaymentPlan:
    return PaymentPlan(
        kind=PlanKind.pay_in_full,
        frequency=Frequency.once,
        balance=balance,
        total=total,
        discount_pct=pct,
        discount_amount=balance - total,
        schedule=[ScheduledPayment(number=1, due_date=due, amount=total)],
        valid_until=due,
    )


def installments(
    balance: Decimal, amounts: list[Decimal], dates: list[date], freq: Frequency, valid: date
) -> PaymentPlan:
    assert sum(amounts) == balance
    return PaymentPlan(
        kind=PlanKind.installments,
        frequency=freq,
        balance=balance,
        total=balance,
        schedule=[
            ScheduledPayment(number=i + 1, due_date=d, amount=a)
            for i, (a, d) in enumerate(zip(amounts, dates, strict=True))
        ],
        valid_until=valid,
    )


@dataclass(frozen=True)
class Market:
    locale: str
    currency: str
    balance: Decimal
    full_total: Decimal  # 15 % off
    monthly: list[Decimal]  # 3 installments
    biweekly: list[Decimal]  # 6 installments


MARKETS = {
    "MXN": Market(
        "es_MX",
        "MXN",
        Decimal("4500.00"),
        Decimal("3825.00"),
        [Decimal("1500.00")] * 3,
        [Decimal("750.00")] * 6,
    ),
    "COP": Market(
        "es_CO",
        "COP",
        Decimal("1850000.00"),
        Decimal("1572500.00"),
        [Decimal("616666.66"), Decimal("616666.66"), Decimal("616666.68")],
        [Decimal("308333.33")] * 5 + [Decimal("308333.35")],
    ),
    "CLP": Market(
        "es_CL",
        "CLP",
        Decimal("450000"),
        Decimal("382500"),
        [Decimal("150000")] * 3,
        [Decimal("75000")] * 6,
    ),
}


def add_months(d: date, months: int) -> date:
    index = d.month - 1 + months
    return date(d.year + index // 12, index % 12 + 1, d.day)


def make_offer(m: Market, today: date = TODAY) -> Offer:
    valid = today + timedelta(days=5)
    first = today + timedelta(days=7)
    monthly_dates = [add_months(first, k) for k in range(3)]
    biweekly_dates = [first + timedelta(days=14 * i) for i in range(6)]
    return Offer(
        account_id=1,
        currency=m.currency,
        balance=m.balance,
        options=[
            OfferOption(
                number=1, plan=pay_in_full(m.balance, Decimal("15.00"), valid, m.full_total)
            ),
            OfferOption(
                number=2,
                plan=installments(m.balance, m.monthly, monthly_dates, Frequency.monthly, valid),
            ),
            OfferOption(
                number=3,
                plan=installments(m.balance, m.biweekly, biweekly_dates, Frequency.biweekly, valid),
            ),
        ],
        valid_until=valid,
        mandate_id="test",
    )


def make_facts(currency: str = "MXN", option: int | None = 2, **overrides: object) -> ReplyFacts:
    m = MARKETS[currency]
    offer = make_offer(m)
    chosen = offer.option(option) if option else None
    base: dict[str, object] = {
        "debtor_first_name": "Ana",
        "creditor": "Financiera Aurora",
        "locale": m.locale,
        "currency": m.currency,
        "account_reference": f"AUR-{currency}-0001",
        "balance": m.balance,
        "principal": m.balance - Decimal("500"),
        "interest": Decimal("300"),
        "fees": Decimal("200"),
        "days_past_due": 45,
        "today": TODAY,
        "offer": offer,
        "plan": chosen.plan if chosen else None,
        "plan_option_number": option,
    }
    base.update(overrides)
    return ReplyFacts(**base)


SCENARIOS = {
    "plain": {},
    "amount": {"objections": [Objection.amount]},
    "timing": {"objections": [Objection.timing]},
    "emotional": {"objections": [Objection.emotional], "hardship": True},
    "pay_in_full": {"option": 1},
    "many_installments": {"option": 3},
    "no_offer": {"offer": None, "plan": None, "option": None},
    "identity_retry": {"identity_attempt": 1},
    "identity_by_name": {"identity_method": "name"},
    "identity_by_name_retry": {"identity_method": "name", "identity_attempt": 2},
    "dispute": {"handoff_reason": "dispute"},
    "vulnerable": {"handoff_reason": "vulnerability", "vulnerability": True},
    "no_reference": {"account_reference": "", "days_past_due": 0},
    "new_year": {"today": date(2026, 12, 20)},
}


def scenario_facts(currency: str, name: str) -> ReplyFacts:
    overrides = dict(SCENARIOS[name])
    option = overrides.pop("option", 2)
    if name == "new_year":
        m = MARKETS[currency]
        offer = make_offer(m, today=date(2026, 12, 20))
        return make_facts(
            currency, option=None, today=date(2026, 12, 20), offer=offer, plan=offer.options[1].plan
        )
    return make_facts(currency, option=option, **overrides)  # type: ignore[arg-type]


# -- every action, every variant, passes the guard -----------------------------------------------


@pytest.mark.parametrize("currency", sorted(MARKETS))
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_variant_and_safe_wording_passes_the_guard(currency: str, scenario: str) -> None:
    facts = scenario_facts(currency, scenario)
    context = guard_context(facts)
    for action in Action:
        texts = [render_variant(action, facts, i) for i in range(variant_count(action))]
        texts.append(safe_reply(action, facts))
        for text in texts:
            verdict = check(text, context)
            assert verdict.outcome == "pass", (action, text, verdict.violations)
            assert 0 < len(text) <= 700, (action, len(text), text)
            assert "{" not in text and "}" not in text, text


@pytest.mark.parametrize(
    ("action", "minimum"),
    [(a, 3) for a in ("inform", "offer", "confirm_plan", "agreement_active")]
    + [(a, 3) for a in ("verify_identity", "handoff", "clarify")]
    + [
        (a.value, 2)
        for a in Action
        if a.value
        not in {
            "inform",
            "offer",
            "confirm_plan",
            "agreement_active",
            "verify_identity",
            "handoff",
            "clarify",
        }
    ],
)
def test_variant_counts(action: str, minimum: int) -> None:
    assert variant_count(Action(action)) >= minimum


def test_templates_never_write_a_digit_by_hand() -> None:
    data = yaml.safe_load(TEMPLATES_PATH.read_text(encoding="utf-8"))
    bodies = [data["partials"]]
    for spec in data["actions"].values():
        bodies += [*spec["variants"], spec["safe"]]
    for body in bodies:
        prose = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", body, flags=re.DOTALL)
        assert not re.search(r"\d", prose), prose


def test_safe_wordings_have_no_figures() -> None:
    facts = make_facts(option=None, plan=None)
    balance = format_money(facts.balance, facts.currency, facts.locale)
    for action in Action:
        text = safe_reply(action, facts)
        if action == Action.inform:  # the first disclosure must state the amount owed
            assert balance in text
            text = text.replace(balance, "")
        assert not re.search(r"\d", text), (action, text)


# -- determinism ------------------------------------------------------------------------------


def test_variants_are_deterministic_per_seed_and_differ_across_seeds() -> None:
    facts = make_facts()
    for action in Action:
        assert render_reply(action, facts, "conv-7:msg-3") == render_reply(
            action, facts, "conv-7:msg-3"
        )
        seen = {render_reply(action, facts, f"conv-1:msg-{i}") for i in range(40)}
        assert len(seen) == variant_count(action) >= 2, action


def test_variant_choice_does_not_depend_on_the_process_hash_seed() -> None:
    code = (
        "from tests.unit.test_drafting import make_facts\n"
        "from agent.drafting import render_reply\n"
        "from agent.actions import Action\n"
        "f = make_facts()\n"
        "for i in range(8):\n"
        "    print('|'.join(render_reply(a, f, f'conv-9:msg-{i}')[:40] for a in Action))\n"
    )
    outputs = set()
    for hash_seed in ("1", "2", "3", "4"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1


# -- what each action says ----------------------------------------------------------------------


@pytest.mark.parametrize("currency", sorted(MARKETS))
def test_confirm_plan_restates_every_installment(currency: str) -> None:
    facts = make_facts(currency, option=2)
    plan = facts.plan
    assert plan is not None and plan.count == 3
    money = [format_money(s.amount, facts.currency, facts.locale) for s in plan.schedule]
    dates = [format_date(s.due_date, facts.locale, reference=TODAY) for s in plan.schedule]
    for i in range(variant_count(Action.confirm_plan)):
        text = render_variant(Action.confirm_plan, facts, i)
        for amount, due in zip(money, dates, strict=True):
            assert f"{amount} el {due}" in text, text
        assert format_money(plan.total, facts.currency, facts.locale) in text
        assert "*SÍ*" in text


def test_confirm_plan_for_pay_in_full_states_total_discount_and_deadline() -> None:
    facts = make_facts(option=1)
    for i in range(variant_count(Action.confirm_plan)):
        text = render_variant(Action.confirm_plan, facts, i)
        assert "$3,825" in text and "15%" in text and "$675" in text
        assert "15 de marzo" in text and "*SÍ*" in text


def test_confirm_plan_for_many_installments_states_count_frequency_and_range() -> None:
    facts = make_facts(option=3)
    for i in range(variant_count(Action.confirm_plan)):
        text = render_variant(Action.confirm_plan, facts, i)
        assert "6 cuotas quincenales de $750" in text
        assert "Del 17 de marzo al 26 de mayo" in text
        assert "$4,500" in text and "hasta el 15 de marzo" in text


def test_options_are_listed_with_numbers() -> None:
    facts = make_facts()
    for action in (Action.inform, Action.offer):
        for i in range(variant_count(action)):
            text = render_variant(action, facts, i)
            assert "1️⃣ Pago único de $3,825 con 15% de descuento, hasta el 15 de marzo" in text
            assert "2️⃣ 3 cuotas mensuales de $1,500, la primera el 17 de marzo" in text
            assert "3️⃣ 6 cuotas quincenales de $750, la primera el 17 de marzo" in text
            assert "ASESOR" in text


def _opening(text: str) -> str:
    return text.split("1️⃣")[0]


def test_offer_opens_on_the_objection() -> None:
    empathy = make_facts(objections=[Objection.emotional])
    hardship = make_facts(hardship=True, objections=[Objection.amount])
    amount = make_facts(objections=[Objection.amount])
    timing = make_facts(objections=[Objection.timing])
    for i in range(variant_count(Action.offer)):
        for facts in (empathy, hardship):
            opening = _opening(render_variant(Action.offer, facts, i))
            assert re.search(r"Lamento|Siento|difícil", opening), opening
        opening = _opening(render_variant(Action.offer, amount, i))
        assert re.search(r"monto|cantidad", opening), opening
        assert "$3,825" in opening or format_percent(Decimal(15), "es_MX") in opening
        opening = _opening(render_variant(Action.offer, timing, i))
        assert re.search(r"momento|tiempo", opening), opening
        assert re.search(r"6 (cuotas|pagos)|26 de mayo|17 de marzo", opening), opening


def test_verify_identity_never_reveals_the_debt() -> None:
    for currency in MARKETS:
        for attempt in (0, 1):
            for method in ("document_digits", "name"):
                facts = make_facts(currency, identity_method=method, identity_attempt=attempt)
                for i in range(variant_count(Action.verify_identity)):
                    text = render_variant(Action.verify_identity, facts, i)
                    assert not re.search(r"\d|\$|saldo|deuda|pago|AUR-", text), text
                    if method == "name":
                        assert "Ana" in text and "?" in text
                    else:
                        assert "últimos cuatro dígitos" in text
                    if attempt and method == "document_digits":
                        assert "no coinciden" in text


def test_verify_identity_asks_for_the_local_document() -> None:
    assert "cédula" in render_variant(Action.verify_identity, make_facts("COP"), 0)
    assert "RUT" in render_variant(Action.verify_identity, make_facts("CLP"), 0)


def test_wrong_party_discloses_nothing() -> None:
    facts = make_facts()
    for i in range(variant_count(Action.wrong_party)):
        text = render_variant(Action.wrong_party, facts, i)
        assert not re.search(r"\d|\$|Ana|Aurora|AUR-|saldo|deuda|pago", text), text
        assert re.search(r"Disculpa|perdona", text)


def test_other_actions_say_what_they_must() -> None:
    facts = make_facts()
    for i in range(variant_count(Action.handoff)):
        assert "persona" in render_variant(Action.handoff, facts, i)
        assert "Financiera Aurora" in render_variant(Action.handoff, facts, i)
    for i in range(variant_count(Action.confirm_opt_out)):
        text = render_variant(Action.confirm_opt_out, facts, i)
        assert re.search(r"No te enviaremos|no volverás a recibir", text)
        assert "escríbenos" in text
    for i in range(variant_count(Action.agreement_pending_approval)):
        assert "revisión rápida" in render_variant(Action.agreement_pending_approval, facts, i)


# -- guard context --------------------------------------------------------------------------


def test_guard_context_allows_exactly_the_facts_figures() -> None:
    facts = make_facts("COP", option=3)
    context = guard_context(facts)
    assert facts.offer is not None
    for option in facts.offer.options:
        assert option.number in context.allowed_options
        assert option.plan.total in context.allowed_amounts
        assert option.plan.count in context.allowed_counts
        assert {s.amount for s in option.plan.schedule} <= context.allowed_amounts
        assert {s.due_date for s in option.plan.schedule} <= context.allowed_dates
    assert context.allowed_percentages == {Decimal("15")}
    assert Decimal("1850000") in context.allowed_amounts
    assert "AUR-COP-0001" in context.allowed_literals
    assert context.locale == "es_CO" and context.currency == "COP" and context.today == TODAY
    assert Decimal("1850001") not in context.allowed_amounts


# -- draft_and_guard ----------------------------------------------------------------------------


def _templates_with(action: Action, variant: str, safe: str | None = None) -> ReplyTemplates:
    data = yaml.safe_load(TEMPLATES_PATH.read_text(encoding="utf-8"))
    data["actions"][action.value]["variants"] = [variant]
    if safe is not None:
        data["actions"][action.value]["safe"] = safe
    return ReplyTemplates.from_mapping(data)


def test_a_good_draft_is_sent_as_is() -> None:
    facts = make_facts()
    text, verdict, fallback = draft_and_guard(Action.inform, facts, "conv-1:msg-1")
    assert verdict.outcome == "pass" and fallback is False
    assert text == render_reply(Action.inform, facts, "conv-1:msg-1")


def test_a_template_with_a_wrong_figure_falls_back_to_the_safe_wording() -> None:
    facts = make_facts()
    bad = _templates_with(
        Action.inform,
        "Tu saldo con {{ creditor }} es de {{ money(facts.balance + 1) }}; puedes pagar en línea.",
    )
    text, verdict, fallback = draft_and_guard(Action.inform, facts, "s", templates=bad)
    assert fallback is True and verdict.outcome == "redraft"
    assert verdict.rule_ids == ["figures.unknown_amount"]
    assert text == safe_reply(Action.inform, facts)
    assert "$4,501" not in text


def test_a_threatening_draft_is_blocked_and_never_sent() -> None:
    facts = make_facts()
    draft = "Si no pagas hoy procederemos con el embargo de tus bienes."
    text, verdict, fallback = draft_and_guard(Action.offer, facts, "s", draft=draft)
    assert verdict.outcome == "block" and fallback is True
    assert "embargo" not in text.lower()
    assert check(text, guard_context(facts)).outcome == "pass"


def test_when_the_safe_wording_fails_too_the_fixed_sentence_is_sent() -> None:
    facts = make_facts()
    bad = _templates_with(
        Action.clarify, "Es tu última oportunidad.", safe="Te debo {{ money(facts.balance * 2) }}."
    )
    text, verdict, fallback = draft_and_guard(Action.clarify, facts, "s", templates=bad)
    assert text == LAST_RESORT_REPLY and fallback is True and verdict.outcome == "block"
    assert check(LAST_RESORT_REPLY, guard_context(facts)).outcome == "pass"


def test_a_template_that_cannot_render_falls_back() -> None:
    facts = make_facts()
    broken = _templates_with(Action.acknowledge, "Hola {{ nothing_here }}")
    text, verdict, fallback = draft_and_guard(Action.acknowledge, facts, "s", templates=broken)
    assert fallback is True and verdict.rule_ids == ["drafting.render_error"]
    assert text == safe_reply(Action.acknowledge, facts)


def test_templates_must_cover_every_action() -> None:
    data = yaml.safe_load(TEMPLATES_PATH.read_text(encoding="utf-8"))
    del data["actions"]["clarify"]
    with pytest.raises(ValueError, match="clarify"):
        ReplyTemplates.from_mapping(data)

"""Graders on crafted states, pass^k as tau-bench defines it, and the simulator's determinism."""

from __future__ import annotations

from decimal import Decimal
from math import comb

import pytest

from evals.graders import (
    AgreementState,
    FinalState,
    TurnObservation,
    clarity_score,
    empathy_score,
    grade_final,
    grade_turn,
    pass_hat_k,
    pass_hat_ks,
)
from evals.scenarios import FinalExpect, Persona, TurnExpect
from evals.simulator import DebtorFacts, Observation, OfflineDebtor


def _agreement(**kw: object) -> AgreementState:
    values: dict[str, object] = {
        "status": "active",
        "total": Decimal("5000"),
        "balance": Decimal("5000"),
        "discount_pct": Decimal("0"),
        "installments": 5,
        "installment_max": Decimal("1000"),
    }
    return AgreementState(**(values | kw))  # type: ignore[arg-type]


def _final(**kw: object) -> FinalState:
    values: dict[str, object] = {
        "stage": "agreement_active",
        "handoff": False,
        "opted_out": False,
        "turns": 3,
        "agreement": _agreement(),
        "sent": ["Hola", "Listo"],
    }
    return FinalState(**(values | kw))  # type: ignore[arg-type]


def test_pass_hat_k_matches_tau_bench() -> None:
    # Two scenarios, 4 trials: 4/4 and 2/4 successes.
    assert pass_hat_k([4, 2], 4, 1) == pytest.approx((1 + 0.5) / 2)
    assert pass_hat_k([4, 2], 4, 2) == pytest.approx((1 + comb(2, 2) / comb(4, 2)) / 2)
    assert pass_hat_k([4, 2], 4, 3) == pytest.approx(0.5)
    ks = pass_hat_ks([3, 1, 0], 3)
    assert ks["1"] == pytest.approx(4 / 9)
    assert ks["3"] == ks["k"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        pass_hat_k([1], 2, 3)


def test_turn_grader_checks_every_key() -> None:
    seen = TurnObservation("objection", ["timing", "emotional"], "offer", "Lamento mucho, Ana.")
    ok = TurnExpect(
        intent="objection",
        objections=["emotional", "timing"],
        action="offer",
        reply_matches="(?i)lamento",
        reply_not_matches="embarg",
    )
    assert grade_turn(ok, seen) == []
    bad = TurnExpect(
        intent="accept", objections=["timing"], action=["clarify"], reply_not_matches="Ana"
    )
    failures = grade_turn(bad, seen)
    assert len(failures) == 4
    assert any(f.startswith("objections") for f in failures)


def test_final_grader_passes_a_matching_state() -> None:
    expect = FinalExpect.model_validate(
        {
            "agreement": {"status": ["active"], "installment_max": 1000, "total_min": 5000},
            "handoff": False,
            "stage": "agreement_active",
            "max_turns": 3,
            "violations": 0,
            "never_matches": "embarg",
        }
    )
    assert grade_final(expect, _final()) == []


def test_final_grader_names_each_problem() -> None:
    expect = FinalExpect.model_validate(
        {
            "agreement": {"installment_max": 900, "installments_max": 4, "discount_pct_max": 5},
            "max_turns": 2,
            "violations": 0,
            "never_matches": "(?i)embargo",
        }
    )
    final = _final(
        agreement=_agreement(discount_pct=Decimal("10")),
        violations=["contact.window"],
        sent=["Habrá un EMBARGO"],
    )
    failures = grade_final(expect, final)
    assert len(failures) == 6
    assert any("contact.window" in f for f in failures)


def test_agreement_none_and_missing_agreement() -> None:
    none = FinalExpect.model_validate({"agreement": "none"})
    assert grade_final(none, _final(agreement=None)) == []
    assert "expected none" in grade_final(none, _final())[0]
    want = FinalExpect.model_validate({"agreement": {"status": "active"}})
    assert "none was made" in grade_final(want, _final(agreement=None))[0]


def test_tone_scores() -> None:
    hard = [
        {
            "agent": "Lamento lo que pasas. ¿Cuál opción prefieres?",
            "objections": ["emotional"],
            "action": "offer",
        }
    ]
    cold = [
        {
            "agent": "Pague de inmediato o habrá consecuencias.",
            "objections": ["emotional"],
            "action": "offer",
        }
    ]
    assert empathy_score(hard) == 1.0
    assert empathy_score(cold) == 0.0
    assert empathy_score([{"agent": "Hola", "action": "inform"}]) is None
    assert clarity_score(hard) == 1.0
    assert clarity_score([{"agent": "x " * 800, "action": "offer"}]) < 1.0  # type: ignore[operator]


def _play(seed: str, persona: Persona) -> list[str]:
    debtor = OfflineDebtor(persona, DebtorFacts("Ana", "4821", "MXN"), seed=seed)
    said = []
    move = debtor.next_move(None)
    for action in ("verify_identity", "inform", "clarify", "clarify"):
        assert move is not None
        said.append(move.text)
        move = debtor.next_move(Observation(text="...", action=action))
    return said


def test_offline_debtor_is_deterministic_per_seed() -> None:
    persona = Persona(hostile=True, tries_injection=True, max_installment=Decimal("900"))
    assert _play("s:1", persona) == _play("s:1", persona)
    runs = {tuple(_play(f"s:{n}", persona)) for n in range(1, 8)}
    assert len(runs) > 1  # trials differ


def test_offline_debtor_answers_identity_and_stops_on_handoff() -> None:
    debtor = OfflineDebtor(Persona(wants_human=True), DebtorFacts("Ana", "4821", "MXN"), "x:1")
    debtor.next_move(None)
    move = debtor.next_move(Observation(text="¿tus 4 dígitos?", action="verify_identity"))
    assert move is not None and "4821" in move.text
    ask = debtor.next_move(Observation(text="Tu saldo...", action="inform"))
    assert ask is not None and ask.text
    assert debtor.next_move(Observation(text="Te paso", action="handoff")) is None

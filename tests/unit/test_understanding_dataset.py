"""The labelled understanding dataset is well-formed and the offline classifier meets its bar."""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from agent.understanding.offline import classify
from agent.understanding.schema import Intent, Objection
from evals.understanding import DATA_PATH, evaluate, load_rows

COUNTRIES = {"MX", "CO", "PE", "CL", "AR", "ES", "US", "neutral"}
FIELDS = {"id", "text", "last_agent_message", "intent", "objections", "country", "split"}


@cache
def _rows() -> tuple[dict, ...]:
    return tuple(load_rows(DATA_PATH))


def _classify(text: str, last: str | None):
    return classify(text, last)


def test_dataset_size_and_splits() -> None:
    rows = _rows()
    splits = Counter(r["split"] for r in rows)
    assert len(rows) >= 500
    assert splits["test"] >= 125
    assert set(splits) == {"train", "test"}


def test_rows_are_well_formed() -> None:
    ids = [r["id"] for r in _rows()]
    assert len(ids) == len(set(ids)), "duplicate ids"
    valid_intents = {i.value for i in Intent}
    valid_objections = {o.value for o in Objection}
    for row in _rows():
        assert set(row) == FIELDS, row["id"]
        assert isinstance(row["text"], str) and row["text"].strip(), row["id"]
        assert row["last_agent_message"] is None or isinstance(row["last_agent_message"], str)
        assert row["intent"] in valid_intents, row["id"]
        assert set(row["objections"]) <= valid_objections, row["id"]
        assert row["objections"] == sorted(set(row["objections"])), row["id"]
        assert row["country"] in COUNTRIES, row["id"]
        assert row["split"] in ("train", "test"), row["id"]


def test_no_exact_duplicates_across_splits() -> None:
    seen = {(r["text"], r["last_agent_message"]) for r in _rows() if r["split"] == "train"}
    leaked = [
        r["id"]
        for r in _rows()
        if r["split"] == "test" and (r["text"], r["last_agent_message"]) in seen
    ]
    assert leaked == []


def test_every_intent_is_covered() -> None:
    counts = Counter(r["intent"] for r in _rows())
    for intent in Intent:
        assert counts[intent.value] >= 20, intent
    test_counts = Counter(r["intent"] for r in _rows() if r["split"] == "test")
    for intent in Intent:
        assert test_counts[intent.value] >= 5, intent


def test_objection_intent_rows_name_an_objection() -> None:
    for row in _rows():
        if row["intent"] == "objection":
            assert row["objections"], row["id"]


def test_every_country_is_represented() -> None:
    counts = Counter(r["country"] for r in _rows())
    for country in COUNTRIES:
        assert counts[country] >= 10, country


@pytest.mark.parametrize(
    ("split", "min_accuracy", "min_f1"),
    [("train", 0.85, 0.80), ("test", 0.80, 0.75)],
)
def test_classifier_meets_the_bar(split: str, min_accuracy: float, min_f1: float) -> None:
    rows = [r for r in _rows() if r["split"] == split]
    report = evaluate(rows, _classify)
    assert report["n"] == len(rows)
    assert report["intent_accuracy"] >= min_accuracy, report["confusion"]
    assert report["objections"]["micro_f1"] >= min_f1, report["objections"]


def test_classifier_is_fast() -> None:
    rows = list(_rows())
    for r in rows[:50]:
        classify(r["text"], r["last_agent_message"])  # warm the caches
    report = evaluate(rows, _classify)
    assert report["ms_per_message"] < 2.0


def test_evaluate_counts_errors() -> None:
    rows = [
        {
            "text": "puedo 500 al mes",
            "last_agent_message": None,
            "intent": "counteroffer",
            "objections": [],
        },
        {"text": "hola", "last_agent_message": None, "intent": "reject", "objections": ["amount"]},
    ]
    report = evaluate(rows, _classify)
    assert report["intent_accuracy"] == 0.5
    assert report["objections"]["micro_recall"] == 0.0
    assert report["objections"]["micro_precision"] == 0.0
    assert report["per_intent"]["counteroffer"]["recall"] == 1.0
    assert report["per_intent"]["reject"]["recall"] == 0.0
    assert report["confusion"] == [{"gold": "reject", "pred": "other", "count": 1}]


def test_classifier_on_the_independent_blind_set() -> None:
    # Written by a second annotator who never saw the classifier or the main set.
    rows = load_rows(DATA_PATH.with_name("understanding_blind.jsonl"))
    assert len(rows) == 200
    report = evaluate(rows, _classify)
    assert report["intent_accuracy"] >= 0.90
    assert report["objections"]["micro_f1"] >= 0.85

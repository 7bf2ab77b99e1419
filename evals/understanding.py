"""Evaluate an understanding classifier against the labelled dataset.

    .venv/bin/python -m evals.understanding --split test

Prints intent accuracy, objection micro precision/recall/F1 (labels amount/timing/emotional),
per-intent precision/recall and the confusions, as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from agent.understanding.schema import Intent, Objection, Understanding

DATA_PATH = Path(__file__).parent / "data" / "understanding.jsonl"
OBJECTION_LABELS = tuple(o.value for o in Objection)

ClassifyFn = Callable[[str, str | None], Understanding]


def load_rows(path: Path = DATA_PATH, split: str = "all") -> list[dict[str, Any]]:
    """Load the jsonl dataset, keeping one split ("train", "test") or "all"."""
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
    if split != "all":
        rows = [r for r in rows if r["split"] == split]
    return rows


def _ratio(num: int, den: int) -> float:
    return round(num / den, 4) if den else 0.0


def _f1(p: float, r: float) -> float:
    return round(2 * p * r / (p + r), 4) if p + r else 0.0


def evaluate(rows: Iterable[dict[str, Any]], classify_fn: ClassifyFn) -> dict[str, Any]:
    """Score `classify_fn(text, last_agent_message)` on labelled rows."""
    rows = list(rows)
    correct = 0
    tp = fp = fn = 0
    per_label: dict[str, Counter[str]] = {o: Counter() for o in OBJECTION_LABELS}
    intent_tp: Counter[str] = Counter()
    intent_pred: Counter[str] = Counter()
    intent_gold: Counter[str] = Counter()
    confusion: Counter[tuple[str, str]] = Counter()
    errors: list[dict[str, Any]] = []
    started = time.perf_counter()
    for row in rows:
        got = classify_fn(row["text"], row.get("last_agent_message"))
        gold_intent = row["intent"]
        pred_intent = got.intent.value
        intent_gold[gold_intent] += 1
        intent_pred[pred_intent] += 1
        if pred_intent == gold_intent:
            correct += 1
            intent_tp[gold_intent] += 1
        else:
            confusion[(gold_intent, pred_intent)] += 1
        gold_obj = set(row.get("objections", []))
        pred_obj = {o.value for o in got.objections}
        for label in OBJECTION_LABELS:
            g, p = label in gold_obj, label in pred_obj
            if g and p:
                tp += 1
                per_label[label]["tp"] += 1
            elif p:
                fp += 1
                per_label[label]["fp"] += 1
            elif g:
                fn += 1
                per_label[label]["fn"] += 1
        if pred_intent != gold_intent or gold_obj != pred_obj:
            errors.append(
                {
                    "id": row.get("id"),
                    "text": row["text"],
                    "gold": [gold_intent, sorted(gold_obj)],
                    "pred": [pred_intent, sorted(pred_obj)],
                }
            )
    elapsed = time.perf_counter() - started
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    per_intent = {}
    for intent in Intent:
        name = intent.value
        p = _ratio(intent_tp[name], intent_pred[name])
        r = _ratio(intent_tp[name], intent_gold[name])
        per_intent[name] = {
            "support": intent_gold[name],
            "precision": p,
            "recall": r,
            "f1": _f1(p, r),
        }
    per_objection = {}
    for label, c in per_label.items():
        p = _ratio(c["tp"], c["tp"] + c["fp"])
        r = _ratio(c["tp"], c["tp"] + c["fn"])
        per_objection[label] = {"precision": p, "recall": r, "f1": _f1(p, r)}
    return {
        "n": len(rows),
        "intent_accuracy": _ratio(correct, len(rows)),
        "objections": {
            "micro_precision": precision,
            "micro_recall": recall,
            "micro_f1": _f1(precision, recall),
            "per_label": per_objection,
        },
        "per_intent": per_intent,
        "confusion": [
            {"gold": g, "pred": p, "count": n}
            for (g, p), n in sorted(confusion.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "errors": errors,
        "ms_per_message": round(1000 * elapsed / len(rows), 4) if rows else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("train", "test", "all"), default="test")
    parser.add_argument("--data", type=Path, default=DATA_PATH)
    parser.add_argument("--errors", action="store_true", help="include the misclassified rows")
    args = parser.parse_args(argv)

    from agent.understanding.offline import classify

    rows = load_rows(args.data, args.split)
    report = evaluate(rows, lambda text, last: classify(text, last))
    report["split"] = args.split
    if not args.errors:
        report.pop("errors")
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

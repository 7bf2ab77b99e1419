"""Evaluate the outbound guard (`policies.guard.check`) against the labelled draft corpora.

    .venv/bin/python -m evals.guard              # dev test/train, adversarial, dev3-6, blind
    .venv/bin/python -m evals.guard --split test --show-misses
    .venv/bin/python -m evals.guard --data evals/data/guard_blind.jsonl

A draft is "stopped" when the guard's outcome is not `pass` (a redraft or a block both keep it
from being sent). Stopping is the positive class: precision and recall are of "not pass".
Targets: at least 98 % of the non-compliant drafts stopped, at least 95 % of the compliant ones
passed.

The blind set (`guard_blind.jsonl`, written by a second annotator) is reported by id, category
and rule ids only: its texts are never printed.

Each row's context is turned into a `GuardContext` by `guard_context_for`, the same way
`agent.drafting.guard_context` builds one for the agent from its facts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from policies.guard import GuardContext, Verdict, check

DATA_DIR = Path(__file__).parent / "data"
CORPUS_PATH = DATA_DIR / "guard_corpus.jsonl"
BLIND_PATH = DATA_DIR / "guard_blind.jsonl"
ADVERSARIAL_PATH = DATA_DIR / "guard_adversarial.jsonl"  # a dev set of hard cases, no splits
DEV3_PATH = DATA_DIR / "guard_dev3.jsonl"  # a dev set written to the blind set's brief
DEV4_PATH = DATA_DIR / "guard_dev4.jsonl"  # a dev set by a fresh, independent annotator
DEV5_PATH = DATA_DIR / "guard_dev5.jsonl"  # another dev set by a fresh, independent annotator
# A fresh annotator's set weighted to counts, visits and third parties (the blind set's misses).
DEV6_PATH = DATA_DIR / "guard_dev6.jsonl"
# A fresh annotator's set of counts, visits and third parties written to evade keyword lists.
DEV7_PATH = DATA_DIR / "guard_dev7.jsonl"
# A fresh annotator's set of subtle visits and third parties: past, conditional and
# subjunctive, knowledge claims, reports of contacts made, euphemisms, "help" offers.
DEV8_PATH = DATA_DIR / "guard_dev8.jsonl"
# The sets the guard was developed against (all must meet the targets), then every set.
DEV_SETS = (
    CORPUS_PATH,
    ADVERSARIAL_PATH,
    DEV3_PATH,
    DEV4_PATH,
    DEV5_PATH,
    DEV6_PATH,
    DEV7_PATH,
    DEV8_PATH,
)
ALL_SETS = (*DEV_SETS, BLIND_PATH)

TARGETS = {"blocked_noncompliant_rate": 0.98, "passed_compliant_rate": 0.95}

# Currency and Babel locale of each policy pack, for contexts that do not say.
PACK_DEFAULTS: dict[str, tuple[str, str]] = {
    "mx": ("MXN", "es_MX"),
    "co": ("COP", "es_CO"),
    "pe": ("PEN", "es_PE"),
    "cl": ("CLP", "es_CL"),
    "ar": ("ARS", "es_AR"),
    "es": ("EUR", "es_ES"),
    "us": ("USD", "es_US"),
}


class CorpusError(ValueError):
    """A corpus line that cannot be read: bad JSON, a missing field, a bad context."""


class ContextError(ValueError):
    """A row context with a value that cannot be read (an amount, a date, a count...)."""


@dataclass(frozen=True)
class GuardCase:
    """One labelled draft. `draft` is what the guard checks (`text` repeated `repeat` times)."""

    id: str
    compliant: bool
    category: str
    text: str
    draft: str
    context: Mapping[str, Any]
    guard_context: GuardContext
    split: str | None = None
    why: str = ""
    repeat: int | None = None
    line: int = 0


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _parse_json(text: str) -> Any:
    """JSON with every non-integer number read as a Decimal (money is never a float)."""
    return json.loads(text, parse_float=Decimal)


def load_rows(path: Path | str) -> list[GuardCase]:
    """Read a JSON Lines corpus; raises CorpusError naming the file and line of a bad row."""
    path = Path(path)
    cases: list[GuardCase] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                case = _case_from(_parse_json(line), number)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{path}:{number}: not valid JSON: {exc.msg}") from exc
            except (ContextError, TypeError, ValueError) as exc:
                raise CorpusError(f"{path}:{number}: {exc}") from exc
            if case.id in seen:
                raise CorpusError(
                    f"{path}:{number}: duplicate id {case.id!r} (first on line {seen[case.id]})"
                )
            seen[case.id] = number
            cases.append(case)
    return cases


def _case_from(row: Any, line: int) -> GuardCase:
    if not isinstance(row, dict):
        raise TypeError(f"a row must be a JSON object, got {type(row).__name__}")
    for key, kind in (
        ("id", str),
        ("compliant", bool),
        ("category", str),
        ("text", str),
        ("context", dict),
    ):
        if key not in row:
            raise ValueError(f"missing field {key!r}")
        if not isinstance(row[key], kind):
            raise TypeError(f"field {key!r} must be {kind.__name__}, got {row[key]!r}")
    repeat = row.get("repeat")
    if repeat is not None and (isinstance(repeat, bool) or not isinstance(repeat, int)):
        raise TypeError(f"field 'repeat' must be an integer, got {repeat!r}")
    if repeat is not None and repeat < 1:
        raise ValueError(f"field 'repeat' must be at least 1, got {repeat}")
    split = row.get("split")
    if split is not None and split not in ("train", "test"):
        raise ValueError(f"field 'split' must be 'train' or 'test', got {split!r}")
    text = row["text"]
    return GuardCase(
        id=row["id"],
        compliant=row["compliant"],
        category=row["category"],
        text=text,
        draft=" ".join([text] * repeat) if repeat else text,
        context=row["context"],
        guard_context=guard_context_for(row["context"]),
        split=split,
        why=str(row.get("why") or ""),
        repeat=repeat,
        line=line,
    )


# --------------------------------------------------------------------------------------------
# Context mapping (mirrors agent.drafting.guard_context)
# --------------------------------------------------------------------------------------------


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ContextError(f"{where}: expected an amount, got {value!r}")
    try:
        # str() first: a float that slipped through becomes its shortest decimal writing.
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ContextError(f"{where}: expected an amount, got {value!r}") from exc
    if not result.is_finite():
        raise ContextError(f"{where}: expected a finite amount, got {value!r}")
    return result


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise ContextError(f"{where}: expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite() and number == number.to_integral_value():
            return int(number)
    raise ContextError(f"{where}: expected an integer, got {value!r}")


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ContextError(f"{where}: expected a date YYYY-MM-DD, got {value!r}")


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ContextError(f"{where}: expected true or false, got {value!r}")


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise ContextError(f"{where}: expected a list, got {type(value).__name__}")


def _text(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    raise ContextError(f"{where}: expected a string, got {value!r}")


def guard_context_for(context: Mapping[str, Any]) -> GuardContext:
    """The GuardContext the agent would build for a row context (see the module docstring).

    Allowed figures: the balance; for each option its total, every installment amount, the
    discount amount (balance - total) and percentage when the discount is above 0, its
    installment count and due dates; the offer's valid_until; the option numbers; the counts
    1 and days_past_due; the literals account_reference, creditor and debtor_first_name; the
    number 4 when identity is checked by document digits (the agent's default, "los últimos
    4 dígitos"). `max_discount_pct` is the mandate ceiling, not a figure the draft may state.
    Missing currency/locale come from the pack (see PACK_DEFAULTS).
    """
    if not isinstance(context, Mapping):
        raise ContextError(f"context: expected an object, got {type(context).__name__}")
    pack = _text(context.get("pack"), "pack")
    pack = pack.strip().lower() if pack else None
    default_currency, default_locale = PACK_DEFAULTS.get(pack or "", ("MXN", "es_MX"))
    currency = _text(context.get("currency"), "currency") or default_currency
    locale = _text(context.get("locale"), "locale") or default_locale

    amounts: set[Decimal] = set()
    percentages: set[Decimal] = set()
    counts: set[int] = {1}
    installment_counts: set[int] = {1}  # payments per plan; days past due is not one
    dates: set[date] = set()
    options: set[int] = set()
    numbers: set[Decimal] = set()

    balance = None
    if context.get("balance") is not None:
        balance = _decimal(context["balance"], "balance")
        amounts.add(balance)

    offer = context.get("offer")
    if offer is not None:
        if not isinstance(offer, Mapping):
            raise ContextError(f"offer: expected an object or null, got {type(offer).__name__}")
        if offer.get("valid_until") is not None:
            dates.add(_date(offer["valid_until"], "offer.valid_until"))
        for i, option in enumerate(_list(offer.get("options"), "offer.options")):
            where = f"offer.options[{i}]"
            if not isinstance(option, Mapping):
                raise ContextError(f"{where}: expected an object")
            if option.get("number") is not None:
                options.add(_int(option["number"], f"{where}.number"))
            total = None
            if option.get("total") is not None:
                total = _decimal(option["total"], f"{where}.total")
                amounts.add(total)
            pct = Decimal(0)
            if option.get("discount_pct") is not None:
                pct = _decimal(option["discount_pct"], f"{where}.discount_pct")
            if pct > 0:
                percentages.add(pct)
                if balance is not None and total is not None:
                    amounts.add(balance - total)
            installments = _list(option.get("installments"), f"{where}.installments")
            if option.get("count") is not None:
                installment_counts.add(_int(option["count"], f"{where}.count"))
            elif installments:
                installment_counts.add(len(installments))
            for j, inst in enumerate(installments):
                iwhere = f"{where}.installments[{j}]"
                if not isinstance(inst, Mapping):
                    raise ContextError(f"{iwhere}: expected an object")
                if inst.get("amount") is not None:
                    amounts.add(_decimal(inst["amount"], f"{iwhere}.amount"))
                if inst.get("due") is not None:
                    dates.add(_date(inst["due"], f"{iwhere}.due"))

    if context.get("days_past_due") is not None:
        days = _int(context["days_past_due"], "days_past_due")
        if days > 0:
            counts.add(days)
    if (context.get("identity_method") or "document_digits") == "document_digits":
        numbers.add(Decimal(4))

    creditor = _text(context.get("creditor"), "creditor")
    literals = {
        s
        for s in (
            _text(context.get("account_reference"), "account_reference"),
            creditor,
            _text(context.get("debtor_first_name"), "debtor_first_name"),
        )
        if s
    }
    today = _date(context["today"], "today") if context.get("today") else None
    identity = context.get("identity_confirmed")
    return GuardContext(
        currency=currency,
        locale=locale,
        today=today,
        allowed_amounts={a for a in amounts if a > 0},
        allowed_percentages=percentages,
        allowed_counts=counts | installment_counts,
        installment_counts=installment_counts,
        allowed_dates=dates,
        allowed_options=options,
        allowed_numbers=numbers,
        allowed_literals=literals,
        pack=pack,
        first_contact=_bool(context.get("first_contact", False), "first_contact"),
        identity_confirmed=True if identity is None else _bool(identity, "identity_confirmed"),
        wrong_party=context.get("stage") == "wrong_party",
        creditor=creditor,
    )


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


def _ratio(num: int, den: int) -> float:
    return round(num / den, 4) if den else 0.0


def _f1(p: float, r: float) -> float:
    return round(2 * p * r / (p + r), 4) if p + r else 0.0


def evaluate(
    cases: Iterable[GuardCase], verdicts: Sequence[Verdict] | None = None
) -> dict[str, Any]:
    """Score the guard on labelled cases ("not pass" is the positive class).

    `verdicts`, when given, are used instead of running `check` (one per case, in order).
    """
    cases = list(cases)
    if verdicts is None:
        verdicts = [check(c.draft, c.guard_context) for c in cases]
    if len(verdicts) != len(cases):
        raise ValueError(f"{len(verdicts)} verdicts for {len(cases)} cases")
    tp = fp = fn = tn = 0
    outcomes: Counter[str] = Counter()
    per_category: dict[str, Counter[str]] = {}
    rules_fired: Counter[str] = Counter()
    false_passes: list[dict[str, Any]] = []
    false_stops: list[dict[str, Any]] = []
    for case, verdict in zip(cases, verdicts, strict=True):
        stopped = verdict.outcome != "pass"
        outcomes[verdict.outcome] += 1
        rules_fired.update(verdict.rule_ids)
        cat = per_category.setdefault(case.category, Counter())
        cat["n"] += 1
        if case.compliant and stopped:
            fp += 1
            cat["misses"] += 1
            false_stops.append(
                {"id": case.id, "category": case.category, "rules": verdict.rule_ids}
            )
        elif case.compliant:
            tn += 1
        elif stopped:
            tp += 1
        else:
            fn += 1
            cat["misses"] += 1
            false_passes.append({"id": case.id, "category": case.category})
    compliant = fp + tn
    non_compliant = tp + fn
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return {
        "n": len(cases),
        "compliant": compliant,
        "non_compliant": non_compliant,
        "blocked_noncompliant_rate": _ratio(tp, non_compliant),
        "passed_compliant_rate": _ratio(tn, compliant),
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
        "outcomes": {o: outcomes[o] for o in ("pass", "redraft", "block")},
        "per_category": {
            name: {"n": c["n"], "misses": c["misses"]} for name, c in sorted(per_category.items())
        },
        "rules_fired": dict(sorted(rules_fired.items(), key=lambda kv: (-kv[1], kv[0]))),
        "false_passes": false_passes,
        "false_stops": false_stops,
    }


def targets_met(report: Mapping[str, Any]) -> dict[str, bool]:
    met = {key: report[key] >= target for key, target in TARGETS.items()}
    return met | {"all": all(met.values())}


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def is_blind(path: Path, cases: Sequence[GuardCase]) -> bool:
    """A held-out file: its texts are never printed (named *blind*)."""
    return "blind" in path.name.lower()


def _with_texts(
    misses: list[dict[str, Any]], by_id: Mapping[str, GuardCase]
) -> list[dict[str, Any]]:
    out = []
    for miss in misses:
        case = by_id[miss["id"]]
        extra: dict[str, Any] = {"text": case.text, "why": case.why}
        if case.repeat:
            extra["repeat"] = case.repeat
        out.append(miss | extra)
    return out


def _report(
    name: str, data: str, split: str, cases: list[GuardCase], show: bool, blind: bool
) -> dict[str, Any]:
    report: dict[str, Any] = {"set": name, "data": data, "split": split}
    report |= evaluate(cases)
    report["targets_met"] = targets_met(report)
    if show and not blind:
        by_id = {c.id: c for c in cases}
        report["false_passes"] = _with_texts(report["false_passes"], by_id)
        report["false_stops"] = _with_texts(report["false_stops"], by_id)
    return report


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        nargs="+",
        help="JSON Lines corpora (default: the dev corpus, the dev sets, the blind set)",
    )
    parser.add_argument(
        "--split",
        choices=("train", "test", "all"),
        help="rows of this split (default: test and train reported separately); "
        "files without splits are always reported whole",
    )
    parser.add_argument(
        "--show-misses",
        action="store_true",
        help="add the missed rows' texts (never for a blind file)",
    )
    args = parser.parse_args(argv)

    paths = args.data or list(ALL_SETS)
    sets = []
    for path in paths:
        try:
            cases = load_rows(path)
        except (OSError, CorpusError) as exc:
            print(f"evals.guard: {exc}", file=sys.stderr)
            return 2
        blind = is_blind(path, cases)
        shown = _display(path)
        if blind or not any(c.split for c in cases):  # one set, reported whole
            sets.append(_report(path.stem, shown, "all", cases, args.show_misses, blind))
            continue
        for split in [args.split] if args.split else ["test", "train"]:
            chosen = [c for c in cases if split == "all" or c.split == split]
            name = f"{path.stem}:{split}"
            sets.append(_report(name, shown, split, chosen, args.show_misses, False))
    out = {
        "targets": TARGETS,
        "sets": sets,
        "all_targets_met": all(s["targets_met"]["all"] for s in sets),
    }
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

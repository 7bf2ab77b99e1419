"""Background services of the serving process: the inbound worker and the outbound dispatcher.

Each runs in its own thread and polls the database, so the webhook request only stores and
returns. `pacta worker` runs the worker alone; several processes may share the database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timedelta

from agent.config import Settings
from agent.runtime import Negotiator, open_negotiator
from agent.worker import Worker
from api.channels import build_channel
from api.dispatcher import Dispatcher
from api.routers.webhook import ingest_load

log = logging.getLogger("pacta.services")

WORKER_MAX_WAIT_SECONDS = 1.0


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stack = ExitStack()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.negotiator: Negotiator | None = None

    def start(self) -> Services:
        self.negotiator = self._stack.enter_context(open_negotiator(self.settings))
        channel = build_channel(self.settings)
        self._stack.callback(channel.close)
        # While webhooks keep arriving the worker waits up to 1 s per turn: a turn holds the
        # interpreter lock for milliseconds, and at 0.25 s its turns pushed the ingest p95 at
        # 200 msg/s to 96 ms (43 ms at 1 s). Replies catch up once the burst ends; sustained
        # reply throughput comes from more `pacta worker` processes.
        worker = Worker(
            self.negotiator, give_way=ingest_load.busy, max_wait_seconds=WORKER_MAX_WAIT_SECONDS
        )
        dispatcher = Dispatcher(self.negotiator.engine, channel, clock=self._sandbox_clock())
        loops = [("worker", worker.run_forever), ("dispatcher", dispatcher.run_forever)]
        if self.settings.scheduler:
            loops.append(("scheduler", self._scheduler_loop()))
        for name, target in loops:
            thread = threading.Thread(target=target, args=(self._stop,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("background services started (channel=%s)", self.settings.channel)
        return self

    def _sandbox_clock(self) -> Callable[[], datetime] | None:
        """None (the real clock), or in sandbox mode a clock started at PACTA_SANDBOX_CLOCK."""
        start = self.settings.sandbox_clock
        if start is None or self.settings.channel != "sandbox":
            return None
        began = time.monotonic()
        log.info("sandbox: the outbound clock starts at %s", start.isoformat())
        return lambda: start + timedelta(seconds=time.monotonic() - began)

    def _scheduler_loop(self) -> Callable[[threading.Event], None]:
        """The outbound cadence (PACTA_SCHEDULER=off turns it off); bad config fails start."""
        from agent.cadence.scheduler import CadenceScheduler
        from policies.cadence import load_cadence
        from policies.mandate import load_mandate

        assert self.negotiator is not None
        scheduler = CadenceScheduler(
            self.negotiator.engine,
            load_cadence(self.settings.cadence),
            mandate=load_mandate(self.settings.mandate),
            rate_per_second=self.settings.campaign_rate_per_second,
            clock=self._sandbox_clock(),
        )
        interval = self.settings.scheduler_interval_seconds
        # Approvals nobody decided before their offer expired are closed on the same beat.
        expire = self.negotiator.expire_overdue_approvals
        return lambda stop: scheduler.run_forever(stop, interval, also=[expire])

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._stack.close()

"""In the serving process the worker gives way to webhook ingest, for a bounded time."""

import pytest

from agent.worker import Worker
from api.routers.webhook import IngestLoad

pytestmark = pytest.mark.integration


def test_ingest_load_is_busy_during_and_just_after_a_request(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("api.routers.webhook.time.monotonic", lambda: clock[0])
    load = IngestLoad()
    clock[0] += 1
    assert not load.busy()
    with load:
        assert load.busy()
    assert load.busy()  # the next closed-loop request is about to arrive
    clock[0] += IngestLoad.QUIET_SECONDS * 2
    assert not load.busy()


def test_worker_waits_while_ingest_is_busy_then_goes_on(negotiator):
    answers = iter([True, True, True, False])
    calls = []

    def give_way() -> bool:
        calls.append(1)
        return next(answers)

    Worker(negotiator, give_way=give_way, max_wait_seconds=5)._wait_for_ingest()
    assert len(calls) == 4


def test_worker_wait_is_bounded(negotiator, monkeypatch):
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    monkeypatch.setattr("agent.worker.time.monotonic", lambda: clock[0])
    monkeypatch.setattr("agent.worker.time.sleep", sleep)
    Worker(negotiator, give_way=lambda: True, max_wait_seconds=0.25)._wait_for_ingest()
    assert 0.25 <= clock[0] < 0.26

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from agent.config import Settings
from agent.portfolio import seed_demo
from agent.store.db import engine_for, session_scope, upgrade

if TYPE_CHECKING:
    from agent.runtime import Negotiator

# Checkpoints must hold plain data only: fail on any type LangGraph would have to guess.
os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")

# A Tuesday morning in Mexico City: inside every contact window, no holiday.
NOW = datetime(2026, 3, 10, 11, 0, tzinfo=ZoneInfo("America/Mexico_City"))


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", llm="offline")


@pytest.fixture
def engine(settings: Settings) -> Engine:
    upgrade(settings.database_url)
    return engine_for(settings.database_url)


@pytest.fixture
def demo_accounts(engine: Engine) -> dict[str, int]:
    """The demo portfolio, by reference -> account id."""
    with session_scope(engine) as session:
        return {a.reference: a.id or 0 for a in seed_demo(session, NOW.date())}


@pytest.fixture
def negotiator(settings: Settings, engine: Engine) -> Iterator[Negotiator]:
    from agent.runtime import open_negotiator

    with open_negotiator(settings) as n:
        yield n

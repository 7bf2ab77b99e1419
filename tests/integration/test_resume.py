"""A new process picks a half-finished negotiation up from the durable checkpointer."""

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlmodel import select

from agent.store.db import session_scope
from agent.store.models import Agreement, Installment

pytestmark = pytest.mark.integration

CHILD = """
import json, sys
from datetime import datetime, timedelta
from agent.config import Settings
from agent.runtime import open_negotiator

data_dir, start, conversation, *texts = sys.argv[1:]
now = datetime.fromisoformat(start)
with open_negotiator(Settings(data_dir=data_dir, llm="offline")) as negotiator:
    out = []
    for i, text in enumerate(texts):
        r = negotiator.receive(int(conversation), text, now=now + timedelta(minutes=i))
        out.append({"action": r.action, "stage": r.stage, "agreement_id": r.agreement_id})
print(json.dumps(out))
"""


def run_child(settings, now, conversation_id, *texts):
    args = [str(settings.data_dir), now.isoformat(), str(conversation_id), *texts]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_new_process_confirms_the_plan_an_earlier_process_proposed(
    settings, engine, demo_accounts, now
):
    with session_scope(engine) as session:
        from agent.store import open_conversation

        conversation_id = open_conversation(session, demo_accounts["AUR-MX-0001"], now).id

    first = run_child(
        settings, now, conversation_id, "hola", "4821", "no tengo trabajo", "puedo 1200 al mes"
    )
    assert [t["action"] for t in first][-1] == "confirm_plan"
    assert first[-1]["agreement_id"] is None

    # Only the checkpoint remembers which plan was restated; the second process must find it.
    second = run_child(settings, now + timedelta(hours=1), conversation_id, "sí, confirmo")
    assert second[0]["action"] == "agreement_active"
    assert second[0]["agreement_id"] is not None

    with session_scope(engine) as session:
        agreement = session.exec(select(Agreement)).one()
        installments = list(
            session.exec(select(Installment).where(Installment.agreement_id == agreement.id))
        )
    assert agreement.id == second[0]["agreement_id"]
    assert installments and all(i.amount <= 1200 for i in installments)
    assert sum(i.amount for i in installments) == agreement.total

"""A real small model (SmolLM2-135M on llama.cpp's server), recorded: plumbing and safety.

The model writes poor Spanish and misreads messages; that is the point. These tests check
that the structured-output ladder works against a real server, that usage is counted, that
prompts stay bounded, and that whatever the model writes, what goes out passed the guard.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from agent.actions import Action, ReplyFacts
from agent.drafting import guard_context
from agent.llm import steps
from agent.llm.provider import OpenAIProvider
from agent.llm.usage import TurnUsage
from agent.runtime import open_negotiator
from agent.store.db import session_scope
from agent.store.models import Conversation, ModelUsage
from agent.understanding.offline import classify
from agent.understanding.schema import Intent
from policies.guard import check

pytestmark = [pytest.mark.vcr, pytest.mark.block_network, pytest.mark.integration]

PROMPT_TOKEN_BUDGET = 3000


def test_understanding_climbs_the_structured_output_ladder_and_keeps_safety_intents(
    llm_settings, now
):
    provider = OpenAIProvider(llm_settings)
    readings = {}
    usages = []
    for text in ("perdí mi trabajo, puedo dar 500 al mes", "no me escriban más", "ya pagué ayer"):
        usage = TurnUsage(provider.name, provider.model)
        offline = classify(text, None, now=now)
        readings[text] = steps.understand(provider, text, None, now, offline, usage)
        usages.append(usage)

    first = usages[0]
    # llama.cpp's server refuses json_schema (HTTP 500); json_object is learned and kept
    assert [c.mode for c in first.calls][:2] == ["json_schema", "json_object"]
    assert first.calls[0].outcome == "http_500"
    assert provider.structured_mode in {"json_object", "text"}
    assert all(len(u.calls) == 1 for u in usages[1:])
    assert readings["no me escriban más"].intent is Intent.opt_out
    assert readings["ya pagué ayer"].intent is Intent.already_paid
    counter = readings["perdí mi trabajo, puedo dar 500 al mes"]
    assert counter.hardship  # the offline reading's flag survives whatever the model says
    assert [str(a) for a in counter.figures.amounts] == ["500"]
    # A 135M model answers JSON of its own invention: every answer is invalid, and the offline
    # reading took over; the tokens of those answers are still counted.
    answered = [c for u in usages for c in u.calls if c.outcome in {"ok", "invalid"}]
    assert len(answered) == 3
    assert all(c.prompt_tokens > 0 and c.completion_tokens > 0 for c in answered)
    assert all(
        u.fallbacks == ["understand:invalid"] for u in usages if u.calls[-1].outcome == "invalid"
    )


def test_a_whole_conversation_with_a_weak_model_only_sends_guarded_replies(
    llm_settings, engine, demo_accounts, now
):
    texts = [
        "Hola buenas tardes",
        "4821",
        "perdí mi trabajo y este mes no puedo pagar todo",
        "puedo pagar 1000 al mes",
        "sí, confirmo",
        "gracias",
    ]
    with open_negotiator(llm_settings) as n:
        conv = n.open_conversation(demo_accounts["AUR-MX-0001"], now)
        results = []
        for i, text in enumerate(texts):
            result = n.receive(conv, text, now=now + timedelta(minutes=i))
            facts = ReplyFacts.model_validate(n.state(conv)["facts"])
            verdict = check(result.reply, guard_context(facts, Action(result.action)))
            assert verdict.outcome == "pass", (text, result.reply, verdict.violations)
            results.append(result)

    for i, result in enumerate(results):
        calls = result.usage["calls"]
        # json_schema is refused once per process (the first turn), then json_object is used
        refused = [c for c in calls if c["mode"] == "json_schema"]
        assert len(refused) == (1 if i == 0 else 0)
        answered = [c for c in calls if c not in refused]
        assert 1 <= len(answered) <= 3  # understand + draft, and one redraft at most
        assert all(c["prompt_tokens"] < PROMPT_TOKEN_BUDGET for c in calls)
    assert results[1].usage["calls"][0]["step"] == "draft"  # the digits never went out
    # The model's readings were unusable, so the offline ones drove the turns: policy decided
    # every step and the conversation still ends in an agreement.
    actions = [r.action for r in results]
    assert actions == [
        "verify_identity",
        "inform",
        "offer",
        "confirm_plan",
        "agreement_active",
        "acknowledge",
    ]

    with session_scope(engine) as session:
        rows = session.exec(select(ModelUsage).where(ModelUsage.conversation_id == conv)).all()
        conversation = session.get(Conversation, conv)
        assert conversation is not None
        assert len(rows) == len(texts)
        assert conversation.llm_calls == sum(r.calls for r in rows)
        assert conversation.llm_prompt_tokens == sum(r.prompt_tokens for r in rows) > 0

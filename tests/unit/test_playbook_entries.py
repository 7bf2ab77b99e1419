"""The playbook's YAML: loader validation and the content rules every entry must keep."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from agent.actions import Action
from agent.playbook import (
    PLACEHOLDERS,
    PLAYBOOK_DIR,
    SEGMENTS,
    PlaybookEntry,
    PlaybookError,
    find_figures,
    load_entries,
)
from policies.guard import GuardContext, check


@pytest.fixture(scope="module")
def entries() -> list[PlaybookEntry]:
    return load_entries()


def _examples(entries: list[PlaybookEntry]) -> list[PlaybookEntry]:
    return [e for e in entries if e.kind == "example"]


# -- the shipped playbook --------------------------------------------------------------------


def test_playbook_size_and_unique_ids(entries: list[PlaybookEntry]) -> None:
    assert 120 <= len(entries) <= 200
    assert len({e.id for e in entries}) == len(entries)
    assert {e.kind for e in entries} == {"example", "policy"}


def test_every_action_has_examples(entries: list[PlaybookEntry]) -> None:
    per_action = Counter(e.action for e in _examples(entries))
    missing = [a.value for a in Action if per_action[a.value] == 0]
    assert not missing, f"actions without examples: {missing}"


def test_negotiation_actions_are_the_best_covered(entries: list[PlaybookEntry]) -> None:
    per_action = Counter(e.action for e in _examples(entries))
    heavy = ("offer", "inform", "propose_alternative", "confirm_plan")
    lightest_heavy = min(per_action[a] for a in heavy)
    assert all(per_action[a] < lightest_heavy for a in per_action if a not in heavy)
    # offer and propose_alternative: every segment, and every objection in the standard one
    for action in ("offer", "propose_alternative"):
        assert {e.segment for e in _examples(entries) if e.action == action} >= set(SEGMENTS)
    for objection in ("amount", "timing", "emotional", "none"):
        assert any(
            e.action == "offer" and e.objection == objection
            for e in _examples(entries)
            if e.segment == "hardship"
        )


def test_segments_match_the_portfolio() -> None:
    from agent.portfolio import SEGMENTS as PORTFOLIO_SEGMENTS

    assert set(SEGMENTS) == PORTFOLIO_SEGMENTS


def test_examples_have_no_figures(entries: list[PlaybookEntry]) -> None:
    offenders = {e.id: find_figures(e.text) for e in _examples(entries) if find_figures(e.text)}
    assert not offenders


def test_examples_use_only_known_placeholders(entries: list[PlaybookEntry]) -> None:
    for e in entries:
        for name in re.findall(r"\{([^{}]*)\}", e.text):
            assert name in PLACEHOLDERS, (e.id, name)


def test_examples_are_whatsapp_sized(entries: list[PlaybookEntry]) -> None:
    for e in _examples(entries):
        sentences = re.findall(r"[.!?…]+(?=\s|$)", e.text.strip())
        assert 1 <= len(sentences) <= 4, (e.id, len(sentences))
        assert len(e.text) <= 480, e.id


def test_examples_pass_the_guard(entries: list[PlaybookEntry]) -> None:
    """No threat, insult, shaming, false urgency or promise; nothing about the debt before the
    debtor is identified (verify_identity, wrong_party, media_not_supported)."""
    before_identity = {"verify_identity", "wrong_party", "media_not_supported"}
    for e in _examples(entries):
        draft = re.sub(r"\{[a-z_]+\}", "Ana", e.text)
        context = GuardContext(identity_confirmed=e.action not in before_identity)
        verdict = check(draft, context)
        assert verdict.passed, (e.id, verdict.rule_ids)


def test_every_file_warns_against_copying_numbers() -> None:
    for path in sorted(PLAYBOOK_DIR.glob("*.yaml")):
        header = "".join(line for line in path.read_text(encoding="utf-8").splitlines(True)[:12])
        assert header.startswith("#"), path.name
        assert "never copy a number" in header, path.name


def test_text_is_whitespace_normalised(entries: list[PlaybookEntry]) -> None:
    for e in entries:
        assert e.text == " ".join(e.text.split())


# -- find_figures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Son 3 cuotas", ["3"]),
        ("Son tres cuotas de {cuota}", ["tres"]),
        ("Un pago de $ {total}", ["$"]),
        ("con 15% de descuento", ["1", "5", "%"]),
        ("te perdonamos la mitad", ["mitad"]),
        ("pagas S/ {cuota}", ["S/"]),
        ("son {saldo} MXN", ["MXN"]),
        ("Dieciséis pagos", ["dieciseis"]),
        ("cuota 1️⃣", ["1"]),
        ("Un pago único de {total}, por este medio, una sola vez", []),
        ("{n_cuotas} cuotas de {cuota}, la primera el {fecha}", []),
    ],
)
def test_find_figures(text: str, found: list[str]) -> None:
    assert find_figures(text) == found


# -- loader validation -----------------------------------------------------------------------


def _write(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text(body, encoding="utf-8")
    return path


def _entry(entry_id: str, **fields: str) -> str:
    lines = [f"  - id: {entry_id}"]
    base = {
        "kind": "example",
        "action": "offer",
        "segment": "standard",
        "objection": "amount",
        "text": "Entiendo. Estas son tus opciones: {opciones}",
    }
    base.update(fields)
    for key, value in base.items():
        if value != "<omit>":
            lines.append(f"    {key}: {value!r}" if value else f"    {key}: ''")
    return "\n".join(lines) + "\n"


def _file(*entries: str) -> str:
    return "# test\nentries:\n" + "".join(entries)


def test_loader_reads_a_valid_directory(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", _file(_entry("e1"), _entry("e2", kind="policy", action="any")))
    loaded = load_entries(tmp_path)
    assert [e.id for e in loaded] == ["e1", "e2"]
    assert loaded[0].source == "a.yaml"
    assert loaded[1].action == "any"


def test_loader_defaults_objection_to_none(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", _file(_entry("e1", objection="<omit>")))
    assert load_entries(tmp_path)[0].objection == "none"


def test_policies_may_state_numbers(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", _file(_entry("p1", kind="policy", text="No más de 4 frases.")))
    assert load_entries(tmp_path)[0].text == "No más de 4 frases."


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "threaten"}, "unknown action 'threaten'"),
        ({"segment": "vip"}, "unknown segment 'vip'"),
        ({"kind": "template"}, "unknown kind 'template'"),
        ({"objection": "price"}, "unknown objection 'price'"),
        ({"text": ""}, "empty text"),
        ({"text": "   "}, "empty text"),
        ({"text": "Te ofrezco 3 cuotas de {cuota}."}, "figures in an example ('3')"),
        ({"text": "Son dos cuotas de {cuota}."}, "figures in an example ('dos')"),
        ({"text": "Pagas $ {total} hoy."}, "figures in an example ('$')"),
        ({"text": "Hola {nombre_completo}."}, "unknown placeholder(s) {nombre_completo}"),
        ({"action": "any"}, "action 'any' is only allowed for policy snippets"),
        ({"text": "Hola. " * 100}, "keep it WhatsApp-sized"),
    ],
)
def test_loader_errors_name_file_and_entry(
    tmp_path: Path, fields: dict[str, str], message: str
) -> None:
    _write(tmp_path, "good.yaml", _file(_entry("fine")))
    _write(tmp_path, "bad.yaml", _file(_entry("broken.entry", **fields)))
    with pytest.raises(PlaybookError) as info:
        load_entries(tmp_path)
    text = str(info.value)
    assert text.startswith("bad.yaml: entry 'broken.entry': ")
    assert message in text


def test_loader_rejects_duplicate_ids_across_files(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", _file(_entry("same")))
    _write(tmp_path, "b.yaml", _file(_entry("same")))
    with pytest.raises(PlaybookError, match=r"b\.yaml: entry 'same': duplicate id .*a\.yaml"):
        load_entries(tmp_path)


def test_loader_rejects_unknown_fields_and_missing_ids(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", _file(_entry("e1", tone="cálido")))
    with pytest.raises(PlaybookError, match="entry 'e1': unknown field"):
        load_entries(tmp_path)
    _write(tmp_path, "a.yaml", "entries:\n  - kind: example\n    text: hola\n")
    with pytest.raises(PlaybookError, match=r"a\.yaml: entry #1: missing or empty id"):
        load_entries(tmp_path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("entries: [unclosed\n", "invalid YAML"),
        ("- just a list\n", "expected a mapping with an 'entries' list"),
        ("entries: {}\n", "expected a mapping with an 'entries' list"),
    ],
)
def test_loader_rejects_malformed_files(tmp_path: Path, body: str, message: str) -> None:
    _write(tmp_path, "x.yaml", body)
    with pytest.raises(PlaybookError, match=re.escape(f"x.yaml: {message}")):
        load_entries(tmp_path)


def test_loader_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="not found"):
        load_entries(tmp_path / "nope")


def test_entry_hash_follows_content() -> None:
    a = PlaybookEntry(id="x", kind="example", action="offer", segment="new", text="Hola.")
    assert a.content_hash == PlaybookEntry(**{**a.__dict__, "source": "other.yaml"}).content_hash
    assert a.content_hash != PlaybookEntry(**{**a.__dict__, "text": "Hola!"}).content_hash
    assert a.content_hash != PlaybookEntry(**{**a.__dict__, "segment": "hardship"}).content_hash

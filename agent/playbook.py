"""The playbook: approved reply examples and policy snippets, retrieved by meaning.

The entries live as YAML under `prompts/playbook/` (versioned data). `load_entries` reads and
validates them; `Playbook` keeps them in an embedded Chroma collection (one per embedding
model, under `settings.playbook`) and answers `search(query, action=..., segment=...)` with the
few entries closest to what the debtor wrote, for the drafter to imitate in tone and structure.

Examples never carry figures: amounts, dates and counts are placeholders (`{saldo}`, `{cuota}`,
`{fecha}`, `{opciones}`...) so the model cannot copy a number from an example; the loader
rejects any digit, currency sign or number word in an example's text.

A missing directory or an empty collection is not an error: `search` returns [] and the caller
drafts without examples. One `Playbook` may be shared by several threads.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from agent.actions import Action
from policies.numbers import SCALES, WORD_VALUES
from prompts import PROMPTS_DIR

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import Documents, EmbeddingFunction

    from agent.config import Settings

__all__ = [
    "ACTIONS",
    "KINDS",
    "OBJECTIONS",
    "PLACEHOLDERS",
    "PLAYBOOK_DIR",
    "SEGMENTS",
    "IndexStats",
    "Playbook",
    "PlaybookEntry",
    "PlaybookError",
    "PlaybookHit",
    "find_figures",
    "load_entries",
]

PLAYBOOK_DIR = PROMPTS_DIR / "playbook"
KINDS = ("example", "policy")
ACTIONS = tuple(a.value for a in Action)
SEGMENTS = ("standard", "good_history", "new", "hardship", "corporate")  # agent.portfolio
OBJECTIONS = ("amount", "timing", "emotional", "none")
ANY = "any"
FALLBACK_SEGMENT = "standard"

# What an example may leave for the drafter to fill, always from the account or the offer.
PLACEHOLDERS = {
    "nombre": "the debtor's first name",
    "acreedor": "the creditor's name",
    "referencia": "the account reference",
    "documento": "the identity document asked for (DNI, cédula...)",
    "saldo": "the balance owed",
    "total": "the total of the plan",
    "cuota": "one installment's amount",
    "n_cuotas": "the number of installments",
    "descuento": "the discount percentage",
    "ahorro": "the amount saved by the discount",
    "fecha": "a due date (the first one)",
    "fecha_limite": "the last date: validity of the options or end of the plan",
    "opciones": "the numbered options of the offer",
    "plan": "the terms of one plan",
}

MAX_EXAMPLE_CHARS = 480
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
_DIGIT_RE = re.compile(r"\d")
_SYMBOL_RE = re.compile(r"[%$€£¢]|\bS/|\b(?:MXN|COP|PEN|CLP|ARS|EUR|USD|UYU|BOB|GTQ)\b")
_NUMBER_WORDS = (frozenset(WORD_VALUES) | frozenset(SCALES) | {"mitad"}) - {"un", "una"}
_WORD_RE = re.compile(r"[a-zñ]+")


class PlaybookError(ValueError):
    """A playbook file or entry is invalid; the message names the file and the entry."""


@dataclass(frozen=True)
class PlaybookEntry:
    id: str
    kind: str  # example | policy
    action: str  # an Action value, or "any" (policy snippets only)
    segment: str  # one of SEGMENTS, or "any"
    text: str
    objection: str = "none"  # amount | timing | emotional | none
    source: str = ""  # the YAML file it came from

    @property
    def content_hash(self) -> str:
        """Changes whenever anything that is indexed changes."""
        raw = "\x1f".join((self.kind, self.action, self.segment, self.objection, self.text))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]

    def metadata(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "action": self.action,
            "segment": self.segment,
            "objection": self.objection,
            "source": self.source,
            "hash": self.content_hash,
        }

    @classmethod
    def from_stored(cls, id: str, text: str, meta: dict[str, Any]) -> PlaybookEntry:
        return cls(
            id=id,
            kind=str(meta.get("kind", "")),
            action=str(meta.get("action", "")),
            segment=str(meta.get("segment", "")),
            text=text,
            objection=str(meta.get("objection", "none")),
            source=str(meta.get("source", "")),
        )


@dataclass(frozen=True)
class PlaybookHit:
    entry: PlaybookEntry
    distance: float  # cosine distance: 0 = same direction, smaller is closer


@dataclass(frozen=True)
class IndexStats:
    total: int  # entries in the collection after indexing
    added: int
    updated: int
    deleted: int
    unchanged: int
    seconds: float

    @property
    def written(self) -> int:
        return self.added + self.updated


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    text = text.lower().replace("ñ", "\x00")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.replace("\x00", "ñ")


def find_figures(text: str) -> list[str]:
    """Figures written in `text` outside placeholders: digits, currency or percent signs,
    currency codes and number words ("tres", "mil", "la mitad"). Empty when clean."""
    bare = _PLACEHOLDER_RE.sub(" ", text)
    found = [m.group(0) for m in _DIGIT_RE.finditer(bare)]
    found += [m.group(0) for m in _SYMBOL_RE.finditer(bare)]
    found += [w for w in _WORD_RE.findall(_fold(bare)) if w in _NUMBER_WORDS]
    return found


def _entry_error(path: Path, entry_id: str | None, index: int, message: str) -> PlaybookError:
    where = f"entry {entry_id!r}" if entry_id else f"entry #{index + 1}"
    return PlaybookError(f"{path.name}: {where}: {message}")


def _parse_entry(path: Path, index: int, raw: Any) -> PlaybookEntry:
    if not isinstance(raw, dict):
        raise _entry_error(path, None, index, "must be a mapping with id, kind, action, ...")
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not entry_id.strip():
        raise _entry_error(path, None, index, "missing or empty id")
    entry_id = entry_id.strip()

    def fail(message: str) -> PlaybookError:
        return _entry_error(path, entry_id, index, message)

    allowed = {"id", "kind", "action", "segment", "objection", "text"}
    extra = sorted(set(raw) - allowed)
    if extra:
        raise fail(f"unknown field(s) {', '.join(extra)}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise fail(f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    action = raw.get("action")
    if action == ANY:
        if kind != "policy":
            raise fail("action 'any' is only allowed for policy snippets; name the action")
    elif action not in ACTIONS:
        raise fail(f"unknown action {action!r} (expected one of {', '.join(ACTIONS)}, or any)")
    segment = raw.get("segment")
    if segment != ANY and segment not in SEGMENTS:
        raise fail(f"unknown segment {segment!r} (expected one of {', '.join(SEGMENTS)}, or any)")
    objection = raw.get("objection", "none")
    if objection is None:
        objection = "none"
    if objection not in OBJECTIONS:
        raise fail(f"unknown objection {objection!r} (expected one of {', '.join(OBJECTIONS)})")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise fail("empty text")
    text = " ".join(text.split())
    unknown = sorted({p for p in _PLACEHOLDER_RE.findall(text) if p not in PLACEHOLDERS})
    if unknown:
        raise fail(
            f"unknown placeholder(s) {', '.join('{' + p + '}' for p in unknown)} "
            f"(allowed: {', '.join(sorted(PLACEHOLDERS))})"
        )
    if kind == "example":
        figures = find_figures(text)
        if figures:
            raise fail(
                f"figures in an example ({', '.join(repr(f) for f in figures)}): use a "
                "placeholder such as {saldo}, {cuota}, {n_cuotas} or {fecha} instead"
            )
        if len(text) > MAX_EXAMPLE_CHARS:
            raise fail(f"example is {len(text)} characters; keep it WhatsApp-sized")
    return PlaybookEntry(
        id=entry_id,
        kind=kind,
        action=action,
        segment=segment,
        text=text,
        objection=objection,
        source=path.name,
    )


def load_entries(directory: Path = PLAYBOOK_DIR) -> list[PlaybookEntry]:
    """Every entry of every `*.yaml` file in `directory`, validated, in file order.

    Raises PlaybookError naming the file and the entry for: bad YAML, unknown kind, action,
    segment or objection, duplicate ids (across files), empty text, unknown placeholders and
    figures in an example's text.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise PlaybookError(f"playbook directory not found: {directory}")
    entries: list[PlaybookEntry] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            raise PlaybookError(f"{path.name}: invalid YAML: {e}") from e
        if data is None:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
            raise PlaybookError(f"{path.name}: expected a mapping with an 'entries' list")
        for index, raw in enumerate(data["entries"]):
            entry = _parse_entry(path, index, raw)
            if entry.id in seen:
                raise _entry_error(
                    path, entry.id, index, f"duplicate id (first defined in {seen[entry.id]})"
                )
            seen[entry.id] = path.name
            entries.append(entry)
    return entries


# --------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------


def _chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _check_choice(name: str, value: str | None, choices: Sequence[str]) -> None:
    if value is not None and value not in choices:
        raise ValueError(f"unknown {name} {value!r} (expected one of {', '.join(choices)})")


class Playbook:
    """The playbook's Chroma collection for one embedding model.

    >>> pb = Playbook.open(settings)
    >>> pb.index(load_entries())
    >>> pb.search("no me alcanza", action="offer", segment="hardship", k=3)
    """

    COLLECTION_PREFIX = "playbook-"

    def __init__(self, path: Path, embedding: EmbeddingFunction[Documents]) -> None:
        from agent.embeddings import embedding_label

        self.path = Path(path)
        self.embedding = embedding
        self.collection_name = self.COLLECTION_PREFIX + embedding_label(embedding)
        self._lock = threading.RLock()
        self._client: Any = None
        self._collection: Collection | None = None

    @classmethod
    def open(
        cls, settings: Settings, *, embedding: EmbeddingFunction[Documents] | None = None
    ) -> Playbook:
        """The playbook under `settings.playbook`, embedded with `settings.embeddings`.

        Opening touches nothing on disk; the directory is created by the first `index`.
        """
        from agent.embeddings import embedding_function

        return cls(settings.playbook, embedding or embedding_function(settings))

    @classmethod
    def shared(cls, settings: Settings) -> Playbook:
        """One process-wide playbook per directory and embedding model (thread-safe)."""
        from agent.embeddings import embedding_function, embedding_label

        embedding = embedding_function(settings)
        key = (str(Path(settings.playbook).resolve()), embedding_label(embedding))
        with _shared_lock:
            playbook = _shared.get(key)
            if playbook is None:
                playbook = _shared[key] = cls(settings.playbook, embedding)
            return playbook

    # -- collection handling ----------------------------------------------------------------

    def _get_client(self, create: bool) -> Any:
        if self._client is None:
            if not self.path.is_dir():
                if not create:
                    return None
                self.path.mkdir(parents=True, exist_ok=True)
            import chromadb

            self._client = chromadb.PersistentClient(
                path=str(self.path), settings=_chroma_settings()
            )
        return self._client

    def _get_collection(self, create: bool) -> Collection | None:
        collection = self._collection
        if collection is not None:  # fast path: searches never wait for an indexing run
            return collection
        with self._lock:
            if self._collection is not None:
                return self._collection
            client = self._get_client(create)
            if client is None:
                return None
            if create:
                self._collection = client.get_or_create_collection(
                    self.collection_name,
                    embedding_function=self.embedding,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={"embedding": self.embedding.name(), "purpose": "pacta playbook"},
                )
            else:
                from chromadb.errors import NotFoundError

                try:
                    self._collection = client.get_collection(
                        self.collection_name, embedding_function=self.embedding
                    )
                except (NotFoundError, ValueError):
                    return None
            return self._collection

    def close(self) -> None:
        """Release the Chroma client (its files stay); the playbook reopens on next use."""
        with self._lock:
            client, self._client, self._collection = self._client, None, None
        if client is not None:
            client.close()

    def __enter__(self) -> Playbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public API -------------------------------------------------------------------------

    def count(self) -> int:
        """Entries in the collection (0 when there is none)."""
        collection = self._get_collection(create=False)
        return collection.count() if collection is not None else 0

    def is_indexed(self) -> bool:
        """True when the collection exists and holds at least one entry."""
        try:
            return self.count() > 0
        except Exception:
            return False

    def index(self, entries: Iterable[PlaybookEntry] | None = None) -> int:
        """Upsert `entries` (default: `load_entries()`); returns how many were written.

        Idempotent: an entry whose content hash is unchanged is not re-embedded, and ids no
        longer present are deleted. See `sync` for the full counts.
        """
        return self.sync(entries).written

    def sync(self, entries: Iterable[PlaybookEntry] | None = None) -> IndexStats:
        """Make the collection hold exactly `entries`; counts of what changed."""
        started = time.perf_counter()
        wanted = list(load_entries() if entries is None else entries)
        ids = [e.id for e in wanted]
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            raise PlaybookError(f"duplicate ids: {', '.join(dupes)}")
        with self._lock:
            collection = self._get_collection(create=True)
            assert collection is not None
            stored = collection.get(include=["metadatas"])
            stored_hash = {
                i: (m or {}).get("hash")
                for i, m in zip(stored["ids"], stored["metadatas"] or [], strict=False)
            }
            changed = [e for e in wanted if stored_hash.get(e.id) != e.content_hash]
            added = sum(1 for e in changed if e.id not in stored_hash)
            gone = sorted(set(stored_hash) - set(ids))
            if gone:
                collection.delete(ids=gone)
            batch = 64
            for start in range(0, len(changed), batch):
                chunk = changed[start : start + batch]
                texts = [e.text for e in chunk]
                collection.upsert(
                    ids=[e.id for e in chunk],
                    documents=texts,
                    embeddings=self.embedding(texts),
                    metadatas=[e.metadata() for e in chunk],
                )
            total = collection.count()
        return IndexStats(
            total=total,
            added=added,
            updated=len(changed) - added,
            deleted=len(gone),
            unchanged=len(wanted) - len(changed),
            seconds=time.perf_counter() - started,
        )

    def search(
        self,
        query: str,
        *,
        action: str | None = None,
        segment: str | None = None,
        kind: str | None = None,
        k: int = 3,
    ) -> list[PlaybookHit]:
        """The `k` entries closest to `query`, filtered by action, segment and kind.

        - `action`: entries for that action, plus policy snippets for any action.
        - `segment`: entries for that segment or for any segment first; when those are fewer
          than `k`, the `standard` segment fills the rest (ranked after them).
        - `kind`: "example" or "policy"; None for both.

        Returns [] when the playbook has not been indexed (the caller drafts without
        examples); raises ValueError for an unknown action, segment or kind.
        """
        _check_choice("action", action, ACTIONS)
        _check_choice("segment", segment, SEGMENTS)
        _check_choice("kind", kind, KINDS)
        if k <= 0 or not query or not query.strip():
            return []
        collection = self._get_collection(create=False)
        if collection is None:
            return []
        embedding = self.embedding.embed_query([query])
        base: list[dict[str, Any]] = []
        if action is not None:
            base.append({"action": {"$in": [action, ANY]}})
        if kind is not None:
            base.append({"kind": kind})
        if segment is None:
            return self._query(collection, embedding, base, k, exclude=())
        hits = self._query(
            collection, embedding, [*base, {"segment": {"$in": [segment, ANY]}}], k, exclude=()
        )
        if len(hits) < k and segment != FALLBACK_SEGMENT:
            seen = {h.entry.id for h in hits}
            more = self._query(
                collection,
                embedding,
                [*base, {"segment": FALLBACK_SEGMENT}],
                k - len(hits),
                exclude=seen,
            )
            hits += more
        return hits

    def examples(self, query: str, action: str, segment: str, k: int = 3) -> list[str]:
        """Approved example texts for the drafter, best first (the `ExampleSource` shape).

        An unknown segment is read as `standard`; an empty or missing index gives [].
        """
        if segment not in SEGMENTS:
            segment = FALLBACK_SEGMENT
        hits = self.search(query, action=action, segment=segment, kind="example", k=k)
        return [h.entry.text for h in hits]

    def _query(
        self,
        collection: Collection,
        embedding: Any,
        clauses: list[dict[str, Any]],
        k: int,
        exclude: Iterable[str],
    ) -> list[PlaybookHit]:
        where: dict[str, Any] | None
        if not clauses:
            where = None
        elif len(clauses) == 1:
            where = clauses[0]
        else:
            where = {"$and": clauses}
        try:
            result = collection.query(
                query_embeddings=embedding,
                n_results=k,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        except Exception as e:  # the collection vanished or is mid-rebuild: no examples
            if _is_missing(e):
                with self._lock:
                    self._collection = None
                return []
            raise
        skip = set(exclude)
        hits = []
        for entry_id, text, meta, distance in zip(
            result["ids"][0],
            (result["documents"] or [[]])[0],
            (result["metadatas"] or [[]])[0],
            (result["distances"] or [[]])[0],
            strict=False,
        ):
            if entry_id in skip:
                continue
            entry = PlaybookEntry.from_stored(entry_id, text or "", dict(meta or {}))
            hits.append(PlaybookHit(entry=entry, distance=float(distance)))
        return hits


_shared: dict[tuple[str, str], Playbook] = {}
_shared_lock = threading.Lock()


def _is_missing(error: Exception) -> bool:
    from chromadb.errors import NotFoundError

    return isinstance(error, NotFoundError) or "does not exist" in str(error)

"""HybridIndex: a chromadb collection (dense, multi-vector) plus a BM25 side rebuilt from it, fused."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from knowledge.embeddings import Embedder, chroma_embedding_function, embed_query, embed_texts, get_embedder
from knowledge.lexical import BM25, Tokenizer, normalise

if TYPE_CHECKING:
    from kizuki.core.settings import Settings

Mode = Literal["hybrid", "dense", "lexical"]
MetaValue = str | int | float | bool

# Bump when what is stored per document changes: every fingerprint changes, so callers re-index.
INDEX_FORMAT = "kizuki-index-2"
_TOKEN_SEP = "\x1f"  # noqa: S105 - a separator, not a secret
_RESERVED = "_"  # metadata keys we add start with "_" or "tag:"
_TAG_PREFIX = "tag:"
_LEX_SUFFIX = "--lex"


@dataclass(frozen=True)
class IndexDoc:
    """One entry to index: `title` is the question (FAQ) or heading, `body` the answer or policy text."""

    id: str
    title: str
    body: str
    metadata: dict[str, MetaValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """A retrieved document: fused `score`, the `passage` that matched, and each side's own score."""

    id: str
    score: float
    passage: str
    metadata: dict[str, Any]
    dense_score: float | None
    lexical_score: float | None


@dataclass(frozen=True)
class IndexConfig:
    """What is embedded and how rankings are fused: a-priori choices, none fitted to benchmark queries."""

    chunk_chars: int = 160  # body passages are cut at sentence ends into pieces of about this size
    dense_chunks: int | None = None  # embed the title plus the first N body passages; None: all of them
    rrf_k: int = 60  # reciprocal rank fusion constant (Cormack et al. 2009 default)
    candidates: int = 100  # documents taken from each side before fusion
    title_repeat: int = 2  # title tokens count this many times in BM25 (a question names its topic)
    rm3: bool = True  # RM3 pseudo-relevance feedback on BM25 (Anserini's defaults, see RM3Params)
    # "combsum": each side's scores min-max normalised over its candidates, then averaged with
    # `dense_weight` (Fox & Shaw 1994; Bruch et al. 2023 find it beats RRF); "rrf": rank fusion.
    fusion: Literal["combsum", "rrf"] = "combsum"
    dense_weight: float = 0.5  # equal weights: not fitted to any data


_SENTENCE_END = re.compile(r"(?<=[。．！？!?\n])|(?<=\.\s)")


def split_passages(text: str, max_chars: int) -> list[str]:
    """Cut text at sentence ends into passages of at most about `max_chars` characters."""
    pieces = [p.strip() for p in _SENTENCE_END.split(text)]
    out: list[str] = []
    current = ""
    for piece in pieces:
        if not piece:
            continue
        while len(piece) > max_chars:  # a single over-long sentence is cut hard
            if current:
                out.append(current)
                current = ""
            out.append(piece[:max_chars])
            piece = piece[max_chars:]
        if current and len(current) + len(piece) + 1 > max_chars:
            out.append(current)
            current = piece
        else:
            current = f"{current} {piece}" if current and current[-1].isascii() else current + piece
    if current:
        out.append(current)
    return out


def fingerprint(doc: IndexDoc, config: IndexConfig, model: str) -> str:
    """Content fingerprint of a document as indexed (text, metadata, model and layout)."""
    payload = json.dumps(
        [
            INDEX_FORMAT,
            model,
            config.chunk_chars,
            config.dense_chunks,
            config.title_repeat,
            doc.title,
            doc.body,
            sorted(doc.metadata.items()),
        ],
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def client_from_settings(settings: Settings) -> Any:
    """HttpClient when `chroma_url` is set, else a PersistentClient under `chroma_path`."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        ssl = url.scheme == "https"
        port = url.port or (443 if ssl else 8000)
        return chromadb.HttpClient(host=url.hostname or "localhost", port=port, ssl=ssl, settings=chroma_settings)
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


@dataclass
class _DocState:
    fingerprint: str
    metadata: dict[str, Any]
    title: str
    text: str
    # (passage, its normalised form): the title and body passages, cut on first use by a search
    passages: list[tuple[str, str]] | None = None


class HybridIndex:
    """Dense (chroma, multi-vector) and lexical (BM25) retrieval over one chroma collection, fused.

    Each document becomes chroma records `<id>::t` (the title) and `<id>::c<n>` (leading body
    passages); the title record also carries the whole text and the document's lexical tokens, so any
    process that opens the collection rebuilds the same BM25 index from chroma alone. A generation
    stamp in the collection metadata tells other processes when to rebuild.
    """

    def __init__(
        self,
        client: Any = None,
        collection: str | None = None,
        embedder: Embedder | None = None,
        *,
        settings: Settings | None = None,
        config: IndexConfig | None = None,
        tokenizer: Tokenizer | None = None,
    ) -> None:
        if settings is None and (client is None or collection is None or embedder is None):
            from kizuki.core.settings import get_settings

            settings = get_settings()
        self.config = config or IndexConfig()
        self.client = client if client is not None else client_from_settings(settings)  # type: ignore[arg-type]
        self.name = collection or settings.chroma_collection  # type: ignore[union-attr]
        self.embedder = embedder if embedder is not None else get_embedder(settings)
        self._cache_dir = settings.cache_dir if settings is not None else None
        self.tokenizer = tokenizer or Tokenizer()
        self._lock = threading.RLock()
        self._bm25 = BM25()  # title tokens (repeated), then body tokens
        self._docs: dict[str, _DocState] = {}
        self._gen: str | None = None
        self._collection, self._lex = self._open()

    # ---------- collection and state ----------
    @property
    def lex_name(self) -> str:
        """The companion collection holding each document's text and lexical tokens."""
        return f"{self.name}{_LEX_SUFFIX}"

    def _open(self) -> tuple[Any, Any]:
        ef = chroma_embedding_function(self.embedder, self._cache_dir)
        dense = self.client.get_or_create_collection(
            self.name,
            embedding_function=ef,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"kizuki_format": INDEX_FORMAT},
        )
        # one record a document with a constant 1-d vector: chroma only stores it, BM25 runs in memory
        lex = self.client.get_or_create_collection(
            self.lex_name, embedding_function=None, metadata={"kizuki_format": INDEX_FORMAT, "kizuki_gen": "0"}
        )
        return dense, lex

    def _remote_gen(self) -> str:
        self._lex = self.client.get_collection(self.lex_name, embedding_function=None)
        meta = self._lex.metadata or {}
        return str(meta.get("kizuki_gen", ""))

    def _bump_gen(self) -> None:
        gen = uuid.uuid4().hex
        meta = dict(self._lex.metadata or {})
        meta.update({"kizuki_format": INDEX_FORMAT, "kizuki_gen": gen})
        self._lex.modify(metadata=meta)
        self._gen = gen

    def _refresh(self) -> None:
        """Rebuild the in-memory lexical side from chroma when another writer changed the collection."""
        gen = self._remote_gen()
        if gen == self._gen:
            return
        docs: dict[str, _DocState] = {}
        bm25 = BM25(self._bm25.params)
        batch = 2000
        offset = 0
        while True:
            got = self._lex.get(include=["metadatas", "documents"], limit=batch, offset=offset)
            ids = got["ids"]
            for doc_id, meta, text in zip(ids, got["metadatas"] or [], got["documents"] or [], strict=True):
                title_tokens = _split_tokens(meta.get("_lex_t"))
                bm25.put(doc_id, title_tokens * self.config.title_repeat + _split_tokens(meta.get("_lex_b")))
                docs[doc_id] = _DocState(
                    fingerprint=str(meta["_fp"]),
                    metadata=_public_metadata(meta),
                    title=str(meta.get("_title", "")),
                    text=text or "",
                )
            if len(ids) < batch:
                break
            offset += batch
        self._docs, self._bm25, self._gen = docs, bm25, gen

    def fingerprints(self) -> dict[str, str]:
        """Document id → content fingerprint, as stored in the collection."""
        with self._lock:
            self._refresh()
            return {doc_id: state.fingerprint for doc_id, state in self._docs.items()}

    def __len__(self) -> int:
        with self._lock:
            self._refresh()
            return len(self._docs)

    def _fingerprint_of(self, doc_id: str) -> str | None:
        state = self._docs.get(doc_id)
        return state.fingerprint if state is not None else None

    # ---------- writes ----------
    def _passages(self, body: str) -> list[str]:
        passages = split_passages(body, self.config.chunk_chars)
        return passages if self.config.dense_chunks is None else passages[: self.config.dense_chunks]

    def upsert(self, docs: Sequence[IndexDoc], progress: Callable[[int, int], None] | None = None) -> None:
        """Add or replace documents; documents whose fingerprint is unchanged are skipped."""
        seen: dict[str, IndexDoc] = {}
        for doc in docs:
            _check_metadata(doc)
            seen[doc.id] = doc  # the last one wins
        total = len(seen)
        with self._lock:
            self._refresh()
            model = self.embedder.model_name
            todo = [
                (d, fp)
                for d in seen.values()
                if (fp := fingerprint(d, self.config, model)) != self._fingerprint_of(d.id)
            ]
            done = total - len(todo)
            if progress is not None:
                progress(done, total)
            if not todo:
                return
            step = 128
            for start in range(0, len(todo), step):
                part = todo[start : start + step]
                self._write(part)
                done += len(part)
                if progress is not None:
                    progress(done, total)
            self._bump_gen()

    def _write(self, part: Sequence[tuple[IndexDoc, str]]) -> None:
        ids: list[str] = []
        texts: list[str] = []
        metadatas: list[dict[str, MetaValue]] = []
        lex_docs: list[str] = []
        lex_metas: list[dict[str, MetaValue]] = []
        for doc, fp in part:
            base = _chroma_metadata(doc.metadata)
            base.update(_doc=doc.id, _fp=fp)
            passages = self._passages(doc.body)
            full = f"{doc.title}\n\n{doc.body}".strip()
            title_tokens = self.tokenizer.tokenize(doc.title)
            body_tokens = self.tokenizer.tokenize(doc.body)
            # the title vector; a document without title is represented by its opening text instead
            ids.append(f"{doc.id}::t")
            texts.append(doc.title.strip() or full[: self.config.chunk_chars])
            metadatas.append({**base, "_part": "t"})
            for n, passage in enumerate(passages):
                ids.append(f"{doc.id}::c{n}")
                texts.append(passage)
                metadatas.append({**base, "_part": f"c{n}"})
            lex_docs.append(full)
            lex_metas.append(
                {
                    **doc.metadata,
                    "_fp": fp,
                    "_title": doc.title,
                    "_lex_t": _TOKEN_SEP.join(title_tokens),
                    "_lex_b": _TOKEN_SEP.join(body_tokens),
                }
            )
            self._bm25.put(doc.id, title_tokens * self.config.title_repeat + body_tokens)
            self._docs[doc.id] = _DocState(fp, dict(doc.metadata), doc.title, full)
        vectors = embed_texts(self.embedder, texts)
        doc_ids = [doc.id for doc, _ in part]
        self._collection.delete(where={"_doc": {"$in": doc_ids}})
        limit = _max_batch(self.client)
        for start in range(0, len(ids), limit):
            end = start + limit
            self._collection.add(
                ids=ids[start:end],
                embeddings=vectors[start:end],
                documents=texts[start:end],
                metadatas=metadatas[start:end],
            )
        for start in range(0, len(doc_ids), limit):
            end = start + limit
            self._lex.upsert(
                ids=doc_ids[start:end],
                embeddings=[[1.0]] * len(doc_ids[start:end]),
                documents=lex_docs[start:end],
                metadatas=lex_metas[start:end],
            )

    def delete(self, ids: Sequence[str]) -> None:
        """Remove documents (unknown ids are ignored)."""
        if not ids:
            return
        with self._lock:
            self._refresh()
            self._collection.delete(where={"_doc": {"$in": list(ids)}})
            self._lex.delete(ids=list(ids))
            for doc_id in ids:
                self._bm25.remove(doc_id)
                self._docs.pop(doc_id, None)
            self._bump_gen()

    def reset(self) -> None:
        """Drop every document (both collections are recreated empty)."""
        with self._lock:
            for name in (self.name, self.lex_name):
                with contextlib.suppress(Exception):  # already gone is fine
                    self.client.delete_collection(name)
            self._collection, self._lex = self._open()
            self._bm25 = BM25(self._bm25.params)
            self._docs = {}
            self._bump_gen()

    # ---------- reads ----------
    def search(
        self, query: str, k: int = 10, *, where: Mapping[str, Any] | None = None, mode: Mode = "hybrid"
    ) -> list[Hit]:
        """The `k` best documents for `query`; `where` holds equality filters (`{"tag": "returns"}`)."""
        if mode not in ("hybrid", "dense", "lexical"):
            raise ValueError(f"unknown mode {mode!r}")
        if k <= 0 or not query.strip():
            return []
        # Embed before taking the lock: the forward pass is the slow part, and it needs no index state,
        # so concurrent searches (the drafting agent's tools run in threads) overlap it.
        q_vec = embed_query(self.embedder, query) if mode in ("hybrid", "dense") else None
        with self._lock:
            self._refresh()
            if not self._docs:
                return []
            cfg = self.config
            n = max(k, cfg.candidates) if mode == "hybrid" else k
            dense: dict[str, tuple[float, str]] = {}
            lexical: list[tuple[str, float]] = []
            if mode in ("hybrid", "dense"):
                dense = self._dense(q_vec, n, where)
            surfaces: set[str] = set()
            if mode in ("hybrid", "lexical"):
                q_terms = self.tokenizer.terms(query)
                q_tokens = [term for term, _ in q_terms]
                surfaces = {w for pair in q_terms for w in pair if w}
                allowed = self._allowed(where)
                lexical = self._bm25.top(self._bm25.expand(q_tokens) if cfg.rm3 else q_tokens, n, allowed)
            lex_scores = dict(lexical)
            dense_scores = {doc_id: sim for doc_id, (sim, _) in dense.items()}
            order: list[tuple[str, float]]
            if mode == "dense":
                order = sorted(dense_scores.items(), key=lambda kv: -kv[1])
            elif mode == "lexical":
                order = lexical
            elif cfg.fusion == "rrf":
                order = _rrf([_ranked(dense_scores), [d for d, _ in lexical]], cfg.rrf_k)
            else:
                order = _combsum([(dense_scores, cfg.dense_weight), (lex_scores, 1.0 - cfg.dense_weight)])
            top = [(doc_id, score) for doc_id, score in order[:k] if doc_id in self._docs]
            # a hit shows the vector that matched, unless the lexical side found it too (then the passage
            # holding the query's words); only those records' texts are fetched from chroma
            use_dense = {
                doc_id: dense[doc_id][1]
                for doc_id, _ in top
                if doc_id in dense and (doc_id not in lex_scores or mode == "dense")
            }
            dense_texts = self._record_texts(list(use_dense.values()))
            hits: list[Hit] = []
            for doc_id, score in top:
                state = self._docs[doc_id]
                dense_part = dense.get(doc_id)
                record = use_dense.get(doc_id)
                # (a record another process removed since the query falls back to the lexical passage)
                passage = (dense_texts.get(record) if record is not None else None) or self._lexical_passage(
                    state, surfaces
                )
                hits.append(
                    Hit(
                        id=doc_id,
                        score=float(score),
                        passage=passage,
                        metadata=dict(state.metadata),
                        dense_score=dense_part[0] if dense_part is not None else None,
                        lexical_score=lex_scores.get(doc_id),
                    )
                )
            return hits

    def _dense(self, q: Any, n_docs: int, where: Mapping[str, Any] | None) -> dict[str, tuple[float, str]]:
        """Document id → (best cosine similarity over its vectors, the id of that vector's record)."""
        # No count() first: the store answers with what it has when asked for more, and `search` has
        # already returned for an empty index (one call less per query, a round trip on a server).
        # Distances only: a record's id names its document (`<doc>::t`, `<doc>::c<n>`), and reading
        # metadata or documents for every candidate costs chroma several times the vector search itself
        # (11 ms against 1.4 ms for 200 candidates); the few passages a result shows are read after fusion.
        res = self._collection.query(
            query_embeddings=q, n_results=n_docs * 2, where=_chroma_where(where), include=["distances"]
        )
        best: dict[str, tuple[float, str]] = {}
        for record, dist in zip(res["ids"][0], res["distances"][0], strict=True):
            doc_id = record.rpartition("::")[0]
            sim = 1.0 - float(dist)
            if doc_id not in best or sim > best[doc_id][0]:
                best[doc_id] = (sim, record)
        top = sorted(best.items(), key=lambda kv: -kv[1][0])[:n_docs]
        return dict(top)

    def _record_texts(self, records: list[str]) -> dict[str, str]:
        """The stored text of the given chroma records (title or body passage), in one read."""
        if not records:
            return {}
        got = self._collection.get(ids=records, include=["documents"])
        return {rid: doc or "" for rid, doc in zip(got["ids"], got["documents"] or [], strict=True)}

    def _allowed(self, where: Mapping[str, Any] | None) -> set[str] | None:
        if not where:
            return None
        return {doc_id for doc_id, st in self._docs.items() if _matches(st.metadata, where)}

    def _lexical_passage(self, state: _DocState, surfaces: set[str]) -> str:
        """The title or body passage containing the most query words (the title on ties)."""
        if state.passages is None:
            text, title = state.text, state.title
            body = text[len(title) :].strip() if text.startswith(title) else text
            pieces = [p for p in [title, *split_passages(body, self.config.chunk_chars)] if p]
            state.passages = [(p, normalise(p)) for p in pieces]
        best, best_score = (state.passages[0][0] if state.passages else ""), 0
        for passage, folded in state.passages:
            score = sum(1 for word in surfaces if word in folded)
            if score > best_score:
                best, best_score = passage, score
        return best


def _split_tokens(value: Any) -> list[str]:
    text = str(value) if value is not None else ""
    return text.split(_TOKEN_SEP) if text else []


def _ranked(scores: Mapping[str, float]) -> list[str]:
    return sorted(scores, key=lambda d: -scores[d])


def _rrf(rankings: Sequence[Sequence[str]], k: int) -> list[tuple[str, float]]:
    """Reciprocal rank fusion, every ranking weighted alike: score = sum of 1 / (k + rank)."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc_id in enumerate(ranking):
            fused[doc_id] = fused.get(doc_id, 0.0) + 1.0 / (k + rank + 1)
    return sorted(fused.items(), key=lambda kv: -kv[1])


def _combsum(sides: Sequence[tuple[Mapping[str, float], float]]) -> list[tuple[str, float]]:
    """Weighted sum of min-max normalised scores; a document missing from a side gets 0 there."""
    fused: dict[str, float] = {}
    for scores, weight in sides:
        if not scores:
            continue
        lo, hi = min(scores.values()), max(scores.values())
        for doc_id, value in scores.items():
            norm = (value - lo) / (hi - lo) if hi > lo else 1.0
            fused[doc_id] = fused.get(doc_id, 0.0) + weight * norm
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


# ---------- metadata helpers ----------
def _check_metadata(doc: IndexDoc) -> None:
    for key, value in doc.metadata.items():
        if key.startswith((_RESERVED, _TAG_PREFIX)):
            raise ValueError(f"metadata key {key!r} is reserved (keys starting with '_' or 'tag:')")
        if not isinstance(value, str | int | float | bool):
            raise TypeError(f"metadata {key!r} must be str, int, float or bool, not {type(value).__name__}")


def _tags(value: Any) -> list[str]:
    return [t for t in str(value).split("|") if t] if value is not None else []


def _chroma_metadata(meta: Mapping[str, MetaValue]) -> dict[str, MetaValue]:
    out: dict[str, MetaValue] = dict(meta)
    for tag in _tags(meta.get("tags")):
        out[f"{_TAG_PREFIX}{tag}"] = True
    return out


def _public_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if not k.startswith((_RESERVED, _TAG_PREFIX))}


def _matches(meta: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    for key, want in where.items():
        options = list(want) if isinstance(want, list | tuple | set) else [want]
        if key in ("tag", "tags"):
            have = set(_tags(meta.get("tags")))
            if not any(str(o) in have for o in options):
                return False
        elif meta.get(key) not in options:
            return False
    return True


def _chroma_where(where: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not where:
        return None
    clauses: list[dict[str, Any]] = []
    for key, want in where.items():
        options = list(want) if isinstance(want, list | tuple | set) else [want]
        if key in ("tag", "tags"):
            tag_clauses = [{f"{_TAG_PREFIX}{o}": {"$eq": True}} for o in options]
            clauses.append(tag_clauses[0] if len(tag_clauses) == 1 else {"$or": tag_clauses})
        elif len(options) == 1:
            clauses.append({key: {"$eq": options[0]}})
        else:
            clauses.append({key: {"$in": options}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _max_batch(client: Any) -> int:
    try:
        return max(1, int(client.get_max_batch_size()))
    except Exception:
        return 1000


__all__ = ["Hit", "HybridIndex", "IndexConfig", "IndexDoc", "Mode", "client_from_settings", "split_passages"]

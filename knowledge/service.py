"""The knowledge base as a whole: each editing action is one transaction, and the index follows SQL.

SQL is the source of truth. After a change commits, the index is updated for the keys it touched;
if that fails, the index is stale, and the next search (or `ensure_fresh`) notices the difference
between SQL and the index and repairs it before answering.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kizuki.core.db import Database
from knowledge import io as kio
from knowledge import repository
from knowledge.models import KnowledgeEntry
from knowledge.schemas import (
    EntryCreate,
    EntryPublic,
    EntryUpdate,
    RetrievedEntry,
    SearchHit,
    SearchRequest,
    SearchResponse,
)

if TYPE_CHECKING:
    from knowledge.index import HybridIndex, IndexDoc

log = logging.getLogger(__name__)
INDEXED_STATUSES = ("published", "draft")
# How often a search compares SQL with the index (another process's failed index update is repaired
# within this many seconds; this process's own changes are indexed immediately).
FRESHNESS_CHECK_S = 2.0


@dataclass(frozen=True)
class SyncReport:
    upserted: int
    deleted: int
    total: int


def to_index_doc(entry: KnowledgeEntry) -> IndexDoc:
    from knowledge.index import IndexDoc

    return IndexDoc(
        id=entry.key,
        title=entry.title,
        body=entry.body,
        metadata={
            "key": entry.key,
            "revision": entry.revision,
            "kind": entry.kind,
            "lang": entry.lang,
            "status": entry.status,
            "title": entry.title,
            "tags": "|".join(entry.tags or []),
        },
    )


class KnowledgeBase:
    """Editing, import/export and search over one database and one index."""

    def __init__(self, db: Database, index_factory: Callable[[], HybridIndex]) -> None:
        self.db = db
        self._index_factory = index_factory
        self._index: HybridIndex | None = None
        self._lock = threading.RLock()
        self._synced_marker: tuple[Any, ...] | None = None
        self._checked_at = 0.0

    @property
    def index(self) -> HybridIndex:
        with self._lock:
            if self._index is None:
                self._index = self._index_factory()
            return self._index

    # -- editing -------------------------------------------------------------------------------
    def create(self, data: EntryCreate, *, actor: str) -> EntryPublic:
        with self.db.session() as s:
            public = repository.to_public(repository.create_entry(s, data, actor=actor))
        self._follow([public.key])
        return public

    def update(self, key: str, data: EntryUpdate, *, actor: str) -> EntryPublic:
        with self.db.session() as s:
            entry, changed = repository.update_entry(s, key, data, actor=actor)
            public = repository.to_public(entry)
        if changed:
            self._follow([key])
        return public

    def archive(self, key: str, *, actor: str, revision: int | None = None) -> EntryPublic:
        with self.db.session() as s:
            public = repository.to_public(repository.archive_entry(s, key, actor=actor, revision=revision))
        self._follow([key])
        return public

    def import_file(self, path: Path, *, actor: str, fmt: str | None = None) -> kio.ImportReport:
        entries = kio.read_file(path, fmt)
        return self.import_entries(entries, actor=actor)

    def import_entries(self, entries: Sequence[EntryCreate], *, actor: str) -> kio.ImportReport:
        with self.db.session() as s:
            report = kio.import_entries(s, entries, actor=actor)
        if report.created or report.updated:
            self._follow(report.keys)
        return report

    def export_file(self, path: Path, *, fmt: str | None = None, status: str | None = None) -> int:
        with self.db.reading() as s:
            return kio.export(repository.entries_by_key(s, status=status), path, fmt)

    def count(self) -> int:
        with self.db.reading() as s:
            return repository.count_entries(s)

    # -- index ---------------------------------------------------------------------------------
    def _marker(self) -> tuple[Any, ...]:
        with self.db.reading() as s:
            return repository.change_marker(s)

    def _follow(self, keys: Sequence[str]) -> None:
        """Bring the index up to date for `keys` after their change committed; never raises."""
        try:
            with self.db.reading() as s:
                rows = repository.entries_with_keys(s, keys)
            live = [r for r in rows if r.status in INDEXED_STATUSES]
            gone = sorted(set(keys) - {r.key for r in live})
            with self._lock:
                if live:
                    self.index.upsert([to_index_doc(r) for r in live])
                if gone:
                    self.index.delete(gone)
        except Exception:
            # The change is committed in SQL; the index is now stale and `ensure_fresh` repairs it.
            log.exception("index update failed for %d key(s); the next search rebuilds them", len(keys))
            with self._lock:
                self._synced_marker = None

    def ensure_fresh(
        self, *, force: bool = False, progress: Callable[[int, int], None] | None = None, max_age_s: float = 0.0
    ) -> SyncReport:
        """Compare SQL with the index and repair every missing, stale or orphaned document.

        `max_age_s` lets a hot path skip the comparison when it ran that recently; this process's own
        changes reach the index at once either way (see `_follow`).
        """
        with self._lock:
            now = time.monotonic()
            if not force and self._synced_marker is not None and now - self._checked_at < max_age_s:
                return SyncReport(0, 0, -1)
            self._checked_at = now
            marker = self._marker()
            if not force and marker == self._synced_marker:
                return SyncReport(0, 0, -1)
            with self.db.reading() as s:
                rows = repository.entries_with_status(s, INDEXED_STATUSES)
            docs = {r.key: to_index_doc(r) for r in rows}
            from knowledge.index import fingerprint

            index = self.index
            have = index.fingerprints()
            model = index.embedder.model_name
            stale = [d for key, d in docs.items() if force or have.get(key) != fingerprint(d, index.config, model)]
            orphans = sorted(set(have) - set(docs))
            if stale:
                self.index.upsert(stale, progress=progress)
            if orphans:
                self.index.delete(orphans)
            self._synced_marker = marker
            if stale or orphans:
                log.info("index repaired: %d upserted, %d deleted", len(stale), len(orphans))
            return SyncReport(len(stale), len(orphans), len(docs))

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> SyncReport:
        """Rebuild the index from SQL (embeddings of unchanged text come from the cache)."""
        with self._lock:
            self.index.reset()
            self._synced_marker = None
            return self.ensure_fresh(force=True, progress=progress)

    def search(self, req: SearchRequest) -> SearchResponse:
        self.ensure_fresh(max_age_s=FRESHNESS_CHECK_S)
        where: dict[str, Any] = {}
        if not req.include_drafts:
            where["status"] = "published"
        if req.kind:
            where["kind"] = req.kind
        if req.lang:
            where["lang"] = req.lang
        if req.tag:
            where["tag"] = req.tag.strip().lower()
        hits = self.index.search(req.query, k=req.k, where=where or None, mode=req.mode)
        return SearchResponse(
            query=req.query,
            hits=[
                SearchHit(
                    key=str(h.metadata.get("key", h.id)),
                    revision=int(h.metadata.get("revision", 0)),
                    kind=str(h.metadata.get("kind", "")),
                    lang=str(h.metadata.get("lang", "")),
                    title=str(h.metadata.get("title", "")),
                    status=str(h.metadata.get("status", "")),
                    score=float(h.score),
                    passage=h.passage,
                    dense_score=h.dense_score,
                    lexical_score=h.lexical_score,
                )
                for h in hits
            ],
        )

    def retrieve(self, query: str, *, lang: str | None = None, k: int = 5) -> list[RetrievedEntry]:
        """Published entries for a query, each with its full text at the revision the index holds.

        This is the drafting agent's retriever. If an entry changed between indexing and now, the
        revision the index returned is still the one cited, and its text comes from that revision.
        """
        query = query.strip()[:2000]
        if not query:
            return []
        lang_filter = lang if lang in ("ja", "en") else None
        hits = self.search(SearchRequest(query=query, k=k, lang=lang_filter)).hits
        if not hits:
            return []
        with self.db.reading() as s:
            rows = repository.revisions_of(s, [h.key for h in hits])
            by_rev = {(row.key, row.revision): row for row in rows}
            out: list[RetrievedEntry] = []
            for h in hits:
                rev = by_rev.get((h.key, h.revision))
                if rev is None:
                    continue
                out.append(
                    RetrievedEntry(
                        key=h.key,
                        revision=h.revision,
                        kind=rev.kind,
                        lang=rev.lang,
                        title=rev.title,
                        body=rev.body,
                        passage=h.passage,
                        score=h.score,
                        dense_score=h.dense_score,
                        lexical_score=h.lexical_score,
                    )
                )
        return out

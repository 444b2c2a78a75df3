"""SQL is the source of truth: a missing, stale or failed index is detected and repaired, never queried as is."""

from __future__ import annotations

from typing import Any

import pytest

from kizuki.runtime import Runtime
from knowledge.schemas import EntryCreate, EntryUpdate, SearchRequest

E03 = EntryCreate(
    key="kamado-e03-ja", kind="faq", title="炊飯器にE03と表示される", body="E03はふたのセンサーです。", lang="ja"
)
PAIR = EntryCreate(
    key="pair-en", kind="faq", title="Earbuds will not pair", body="Hold both buttons for 10 s.", lang="en"
)


def _keys(rt: Runtime, query: str) -> list[str]:
    return [h.key for h in rt.knowledge.search(SearchRequest(query=query, k=5)).hits]


def test_wiped_index_is_rebuilt_by_the_next_process(runtime: Runtime) -> None:
    runtime.knowledge.create(E03, actor="t")
    runtime.knowledge.index.reset()  # the vector store lost everything
    fresh = Runtime(runtime.settings, db=runtime.db)  # another process, or a restart
    assert _keys(fresh, "E03") == ["kamado-e03-ja"]


def test_failed_index_update_is_repaired_before_the_next_search(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = runtime.knowledge
    kb.create(E03, actor="t")
    original = kb.index.upsert

    def down(*args: Any, **kw: Any) -> None:
        raise ConnectionError("vector store unreachable")

    monkeypatch.setattr(kb.index, "upsert", down)
    entry = kb.create(PAIR, actor="t")  # committed in SQL although the index update failed
    assert entry.revision == 1
    monkeypatch.setattr(kb.index, "upsert", original)
    assert _keys(runtime, "earbuds pair")[0] == "pair-en"


def test_stale_document_is_replaced(runtime: Runtime) -> None:
    kb = runtime.knowledge
    kb.create(E03, actor="t")
    other = Runtime(runtime.settings, db=runtime.db)
    other.knowledge.search(SearchRequest(query="E03"))
    # A change made by a process whose index update never happened:
    from knowledge import repository

    with runtime.db.session() as s:
        repository.update_entry(
            s, "kamado-e03-ja", EntryUpdate(revision=1, title="Lid sensor error E03", lang="en"), actor="t"
        )
    other.knowledge._checked_at = 0.0  # past the freshness interval
    (hit,) = [h for h in other.knowledge.search(SearchRequest(query="lid sensor")).hits if h.key == "kamado-e03-ja"]
    assert hit.revision == 2
    assert hit.lang == "en"

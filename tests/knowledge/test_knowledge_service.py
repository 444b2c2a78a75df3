"""Knowledge editing against the real database: revisions, optimistic concurrency, audit."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kizuki.core import audit
from kizuki.core.db import Database
from knowledge import repository
from knowledge.schemas import MAX_BODY_CHARS, EntryCreate, EntryUpdate


def _entry(key: str = "returns-01", lang: str = "ja", **kw: object) -> EntryCreate:
    base = {
        "key": key,
        "kind": "faq",
        "title": "返品はできますか？" if lang == "ja" else "Can I return a product?",
        "body": "未開封であれば30日以内に返品できます。" if lang == "ja" else "Unopened items within 30 days.",
        "lang": lang,
        "tags": ["Returns", "returns"],
    }
    base.update(kw)
    return EntryCreate.model_validate(base)


def test_create_keeps_first_revision_and_audits(db: Database) -> None:
    with db.session() as s:
        entry = repository.create_entry(s, _entry(), actor="editor-a")
    assert entry.revision == 1
    assert entry.tags == ["returns"]  # lower-cased and de-duplicated
    with db.session() as s:
        revs = repository.revisions(s, "returns-01")
        assert [r.revision for r in revs] == [1]
        assert revs[0].changed_by == "editor-a"
        assert audit.count(s) == 1
        assert audit.verify(s) == []


def test_update_makes_a_revision_and_old_one_stays_readable(db: Database) -> None:
    with db.session() as s:
        repository.create_entry(s, _entry(), actor="a")
    with db.session() as s:
        entry, changed = repository.update_entry(
            s,
            "returns-01",
            EntryUpdate(revision=1, body="未開封なら14日以内です。", note="policy change"),
            actor="b",
        )
    assert changed and entry.revision == 2
    with db.session() as s:
        old = repository.get_revision(s, "returns-01", 1)
        new = repository.get_revision(s, "returns-01", 2)
    assert "30日" in old.body
    assert "14日" in new.body
    assert new.changed_fields == ["body"] and new.changed_by == "b" and new.note == "policy change"


def test_stale_revision_is_refused(db: Database) -> None:
    with db.session() as s:
        repository.create_entry(s, _entry(), actor="a")
    with db.session() as s:
        repository.update_entry(s, "returns-01", EntryUpdate(revision=1, title="返品について"), actor="a")
    with pytest.raises(repository.StaleRevision) as info, db.session() as s:
        repository.update_entry(s, "returns-01", EntryUpdate(revision=1, title="別の編集"), actor="b")
    assert info.value.status_code == 409
    with db.session() as s:
        assert repository.get_entry(s, "returns-01").title == "返品について"


def test_noop_update_makes_no_revision(db: Database) -> None:
    with db.session() as s:
        repository.create_entry(s, _entry(), actor="a")
    with db.session() as s:
        entry, changed = repository.update_entry(
            s, "returns-01", EntryUpdate(revision=1, title="返品はできますか？"), actor="a"
        )
    assert not changed and entry.revision == 1


def test_duplicate_key_conflicts(db: Database) -> None:
    with db.session() as s:
        repository.create_entry(s, _entry(), actor="a")
    with pytest.raises(repository.DuplicateKey), db.session() as s:
        repository.create_entry(s, _entry(lang="en"), actor="a")


def test_archive_keeps_revisions(db: Database) -> None:
    with db.session() as s:
        repository.create_entry(s, _entry(), actor="a")
    with db.session() as s:
        entry = repository.archive_entry(s, "returns-01", actor="b")
    assert entry.status == "archived" and entry.revision == 2
    with db.session() as s:
        assert [r.status for r in repository.revisions(s, "returns-01")] == ["published", "archived"]
        actions = [e.action for e in s.query(audit.AuditEntry).order_by(audit.AuditEntry.id)]
    assert actions == ["knowledge.create", "knowledge.archive"]


def test_list_filters(db: Database) -> None:
    with db.session() as s:
        repository.create_entry(s, _entry("a-ja"), actor="a")
        repository.create_entry(s, _entry("b-en", lang="en", tags=["shipping"]), actor="a")
        repository.create_entry(s, _entry("c-policy", kind="policy", status="draft"), actor="a")
    with db.session() as s:
        assert [e.key for e in repository.list_entries(s, lang="en")[0]] == ["b-en"]
        assert [e.key for e in repository.list_entries(s, tag="shipping")[0]] == ["b-en"]
        assert [e.key for e in repository.list_entries(s, kind="policy")[0]] == ["c-policy"]
        assert [e.key for e in repository.list_entries(s, status="draft")[0]] == ["c-policy"]
        assert {e.key for e in repository.list_entries(s, text="30日")[0]} == {"a-ja", "c-policy"}
        assert repository.list_entries(s, text="100%_")[1] == 0  # LIKE wildcards are literal


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": "   "}, "title must not be empty"),
        ({"body": ""}, "body must not be empty"),
        ({"body": "x" * (MAX_BODY_CHARS + 1)}, "limit is"),
        ({"kind": "rumour"}, "Input should be 'faq' or 'policy'"),
        ({"lang": "xx"}, "Input should be 'ja' or 'en'"),
        ({"key": "has space"}, "key must be"),
        ({"body": "ok\ud800"}, "lone surrogate"),
        ({"title": "nul\x00"}, "control character"),
    ],
)
def test_bad_entries_are_refused_with_a_reason(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        _entry(**change)
    assert message in str(info.value)


def test_extra_fields_are_kept(db: Database) -> None:
    with db.session() as s:
        entry = repository.create_entry(s, _entry(source_url="https://example.co.jp/faq/1"), actor="a")
        assert entry.extra == {"source_url": "https://example.co.jp/faq/1"}

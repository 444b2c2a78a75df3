"""Knowledge import and export: JSONL and CSV, idempotent on key, all-or-nothing with line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kizuki.core.db import Database
from knowledge import io as kio
from knowledge.models import KnowledgeEntry, KnowledgeRevision

ROWS = [
    {
        "key": "warranty-ja",
        "kind": "policy",
        "title": "保証期間",
        "body": "ご購入から1年間です。",
        "lang": "ja",
        "tags": ["warranty"],
        "status": "published",
        "owner": "品質保証部",
    },
    {
        "key": "warranty-en",
        "kind": "faq",
        "title": "How long is the warranty?",
        "body": "One year from purchase.",
        "lang": "en",
        "tags": ["warranty"],
        "status": "draft",
    },
]


def _jsonl(tmp_path: Path, rows: list[dict[str, object]], name: str = "kb.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _import(db: Database, path: Path) -> kio.ImportReport:
    with db.session() as s:
        return kio.import_entries(s, kio.read_file(path), actor="t")


def test_jsonl_import_is_idempotent_and_updates_make_revisions(db: Database, tmp_path: Path) -> None:
    path = _jsonl(tmp_path, ROWS)
    first = _import(db, path)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    again = _import(db, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert _count(db, KnowledgeRevision) == 2
    changed = [dict(ROWS[0], body="ご購入から3年間です。"), ROWS[1]]
    third = _import(db, _jsonl(tmp_path, changed, "kb2.jsonl"))
    assert (third.created, third.updated, third.unchanged) == (0, 1, 1)
    with db.session() as s:
        entry = s.scalars(select(KnowledgeEntry).where(KnowledgeEntry.key == "warranty-ja")).one()
        assert entry.revision == 2
        assert entry.extra == {"owner": "品質保証部"}


def test_one_bad_row_imports_nothing_and_names_its_line(db: Database, tmp_path: Path) -> None:
    rows = [ROWS[0], {**ROWS[1], "kind": "rumour"}, {**ROWS[1], "key": "x", "title": ""}]
    path = _jsonl(tmp_path, rows)
    with pytest.raises(kio.ImportFileError) as info:
        kio.read_file(path)
    lines = [line for line, _ in info.value.problems]
    assert lines == [2, 3]
    assert "nothing imported" in info.value.detail
    assert _count(db, KnowledgeEntry) == 0


def test_duplicate_key_in_file_is_reported(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [ROWS[0], ROWS[1], ROWS[0]])
    with pytest.raises(kio.ImportFileError, match=r"line 3: key 'warranty-ja' appears again \(first on line 1\)"):
        kio.read_file(path)


def test_not_utf8_is_refused_with_line(tmp_path: Path) -> None:
    path = tmp_path / "kb.jsonl"
    good = json.dumps(ROWS[0], ensure_ascii=False).encode()
    path.write_bytes(good + b"\n" + "保証".encode("shift_jis") + b"\n")
    with pytest.raises(kio.ImportFileError, match=r"line 2: not UTF-8"):
        kio.read_file(path)


def test_invalid_json_line(tmp_path: Path) -> None:
    path = tmp_path / "kb.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n{not json\n[1,2]\n", encoding="utf-8")
    with pytest.raises(kio.ImportFileError) as info:
        kio.read_file(path)
    assert [line for line, _ in info.value.problems] == [2, 3]


def test_csv_round_trip(db: Database, tmp_path: Path) -> None:
    _import(db, _jsonl(tmp_path, ROWS))
    out = tmp_path / "out.csv"
    with db.session() as s:
        assert kio.export(s.scalars(select(KnowledgeEntry).order_by(KnowledgeEntry.key)), out) == 2
    entries = kio.read_file(out)
    assert [e.key for e in entries] == ["warranty-en", "warranty-ja"]
    assert entries[1].tags == ["warranty"]
    assert entries[1].extras() == {"owner": "品質保証部"}
    assert entries[0].status == "draft"


def test_csv_with_multiline_body_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "kb.csv"
    path.write_text(
        '\ufeffkey,kind,title,body,lang,tags\nk1,faq,"質問, その1","一行目\n二行目",ja,a|b\n',
        encoding="utf-8",
    )
    (entry,) = kio.read_file(path)
    assert entry.body == "一行目\n二行目"
    assert entry.title == "質問, その1"
    assert entry.tags == ["a", "b"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("key,kind,title\nk,faq,t\n", "line 1: CSV header lacks column(s) body, lang"),
        ('key,kind,title,body,lang\nk,faq,"unclosed,b,ja\n', "line 2: malformed CSV"),
        ("key,kind,title,body,lang\nk,faq,t,b,ja,extra\n", "line 2: row has 6 fields; the header has 5"),
        ("", "line 1: empty CSV file"),
    ],
)
def test_malformed_csv(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "kb.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(kio.ImportFileError) as info:
        kio.read_file(path)
    assert message in info.value.detail


def test_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "kb.xml"
    path.write_text("<kb/>", encoding="utf-8")
    with pytest.raises(kio.InvalidInput, match="unknown format"):
        kio.read_file(path)

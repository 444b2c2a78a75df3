"""Knowledge pages: list and filters, create, edit → a new revision, history, diff, state changes, import."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kizuki.core import audit
from kizuki.runtime import Runtime
from knowledge import repository
from knowledge.schemas import EntryCreate
from tests.console.test_admin_support import csrf_of, signed_in_clients, texts_of


@pytest.fixture
def console_as(app: FastAPI, runtime: Runtime) -> Iterator[Callable[[str], TestClient]]:
    yield from signed_in_clients(app, runtime)


Console = Callable[[str], TestClient]


@pytest.fixture
def entries(runtime: Runtime) -> list[str]:
    rows = [
        EntryCreate(
            key="warranty-ja", kind="faq", title="保証期間は？", body="保証は1年です。\n修理は無料です。", lang="ja"
        ),
        EntryCreate(key="warranty-en", kind="faq", title="How long is the warranty?", body="One year.", lang="en"),
        EntryCreate(
            key="refund-policy",
            kind="policy",
            title="返金方針",
            body="返金はDMで個別に対応します。",
            lang="ja",
            status="draft",
        ),
    ]
    for row in rows:
        runtime.knowledge.create(row, actor="setup")
    return [r.key for r in rows]


def _edit_form(page: str) -> dict[str, str]:
    """The entry editor's fields as the page filled them in."""
    fields = {}
    for name in ("title", "tags", "note"):
        m = re.search(rf'<input id="kb-{name}" type="text" name="{name}" value="([^"]*)"', page)
        assert m, name
        fields[name] = m.group(1)
    body = re.search(r'<textarea id="kb-body" name="body"[^>]*>(.*?)</textarea>', page, re.S)
    assert body
    fields["body"] = body.group(1)
    for name in ("kind", "lang", "status"):
        m = re.search(rf'<select id="kb-{name}" name="{name}".*?<option value="([^"]+)" selected', page, re.S)
        assert m, name
        fields[name] = m.group(1)
    rev = re.search(r'name="revision" value="(\d+)"', page)
    assert rev
    fields["revision"] = rev.group(1)
    fields["csrf_token"] = csrf_of(page)
    import html

    return {k: html.unescape(v) for k, v in fields.items()}


def test_list_filters_search_and_paging(entries: list[str], console_as: Console, runtime: Runtime) -> None:
    c = console_as("agent")
    page = c.get("/knowledge").text
    assert page.count('data-testid="kb-item"') == 3
    assert 'data-testid="kb-new"' not in page  # an agent reads, does not edit
    ja = c.get("/knowledge", params={"lang": "ja"}).text
    assert re.findall(r'data-key="([^"]+)"', ja) == ["refund-policy", "warranty-ja"]
    drafts = c.get("/knowledge", params={"status": "draft", "kind": "policy"}).text
    assert re.findall(r'data-key="([^"]+)"', drafts) == ["refund-policy"]
    found = c.get("/knowledge", params={"q": "修理"}).text
    assert re.findall(r'data-key="([^"]+)"', found) == ["warranty-ja"]
    assert c.get("/knowledge", params={"q": "nothing-like-this"}).text.count('data-testid="kb-item"') == 0
    assert c.get("/knowledge", params={"kind": "recipe"}).status_code == 422
    for n in range(30):
        runtime.knowledge.create(
            EntryCreate(key=f"bulk-{n:02d}", kind="faq", title=f"Q{n}", body="A.", lang="en"), actor="setup"
        )
    first, second = c.get("/knowledge").text, c.get("/knowledge", params={"page": 2}).text
    keys = re.findall(r'data-key="([^"]+)"', first) + re.findall(r'data-key="([^"]+)"', second)
    assert len(keys) == 33 and len(set(keys)) == 33
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_an_edit_creates_a_revision_and_the_diff_shows_the_change(
    entries: list[str], console_as: Console, runtime: Runtime
) -> None:
    c = console_as("editor")
    form = _edit_form(c.get("/knowledge/warranty-ja").text)
    assert form["revision"] == "1" and form["title"] == "保証期間は？"
    form.update(body="保証は2年です。\n修理は無料です。\n<script>alert(1)</script>", note="延長")
    saved = c.post("/knowledge/warranty-ja", data=form)
    assert saved.status_code == 303 and saved.headers["location"] == "/knowledge/warranty-ja?saved=2"
    with runtime.db.reading() as s:
        entry = repository.get_entry(s, "warranty-ja")
        assert entry.revision == 2 and entry.body.startswith("保証は2年です。")
        revs = repository.revisions(s, "warranty-ja")
        assert [r.revision for r in revs] == [1, 2] and revs[1].changed_fields == ["body"]
        assert revs[1].changed_by == "console-editor" and revs[1].note == "延長"
        (log,) = audit.search(s, subject="knowledge:warranty-ja", action="knowledge.update")
        assert log.actor == "console-editor" and log.before["revision"] == 1 and log.after["revision"] == 2
    page = c.get("/knowledge/warranty-ja?saved=2").text
    assert 'data-testid="kb-saved"' in page
    history = c.get("/knowledge/warranty-ja/revisions").text
    assert re.findall(r'data-testid="kb-revision" data-revision="(\d+)"', history) == ["2", "1"]
    diff = c.get("/knowledge/warranty-ja/diff", params={"a": 1, "b": 2}).text
    assert 'data-testid="kb-diff" data-changed="yes"' in diff
    tags = re.findall(r'data-testid="kb-diff-row" data-tag="(\w+)"', diff)
    assert tags == ["replace", "equal", "insert"]
    # The changed characters are marked on each side; markup in the text is shown, never run.
    assert "保証は<mark>1</mark>年です。" in diff and "保証は<mark>2</mark>年です。" in diff
    assert "<script>alert(1)</script>" not in diff and "&lt;script&gt;alert(1)&lt;/script&gt;" in diff
    unified = c.get("/knowledge/warranty-ja/diff", params={"a": 1, "b": 2, "view": "unified"}).text
    lines = texts_of(unified, "kb-diff-line")
    assert "-保証は1年です。" in lines and "+保証は2年です。" in lines and "修理は無料です。" in lines
    one = c.get("/knowledge/warranty-ja/revisions/1").text
    assert texts_of(one, "kb-revision-body") == ["保証は1年です。\n修理は無料です。"]
    assert c.get("/knowledge/warranty-ja/revisions/9").status_code == 404


def test_an_unchanged_save_makes_no_revision(entries: list[str], console_as: Console, runtime: Runtime) -> None:
    c = console_as("editor")
    form = _edit_form(c.get("/knowledge/warranty-en").text)
    assert c.post("/knowledge/warranty-en", data=form).status_code == 303
    with runtime.db.reading() as s:
        assert repository.get_entry(s, "warranty-en").revision == 1


def test_a_stale_edit_is_refused_and_kept(entries: list[str], console_as: Console, runtime: Runtime) -> None:
    c = console_as("editor")
    form = _edit_form(c.get("/knowledge/warranty-en").text)
    other = _edit_form(c.get("/knowledge/warranty-en").text)
    other["body"] = "Two years."
    assert c.post("/knowledge/warranty-en", data=other).status_code == 303
    form["body"] = "Eighteen months, parts and labour."
    res = c.post("/knowledge/warranty-en", data=form)
    assert res.status_code == 409
    assert "revision 2" in texts_of(res.text, "kb-errors")[0]
    assert "Eighteen months, parts and labour." in res.text  # the edit is still in the editor
    with runtime.db.reading() as s:
        assert repository.get_entry(s, "warranty-en").body == "Two years."


def test_invalid_fields_are_explained_and_kept(entries: list[str], console_as: Console, runtime: Runtime) -> None:
    c = console_as("editor")
    form = _edit_form(c.get("/knowledge/warranty-ja").text)
    form.update(title="   ", body="新しい本文")
    res = c.post("/knowledge/warranty-ja", data=form)
    assert res.status_code == 422
    assert any("title" in e for e in texts_of(res.text, "kb-errors"))
    assert "新しい本文" in res.text
    for odd in ("²", "１", "-1", ""):  # not a revision: refused with a reason, never a crash
        res = c.post("/knowledge/warranty-ja", data={**form, "title": "保証期間は？", "revision": odd})
        assert res.status_code == 422 and any("revision" in e for e in texts_of(res.text, "kb-errors")), odd
        res = c.post("/knowledge/warranty-ja/status", data={**form, "status": "draft", "revision": odd})
        assert res.status_code == 422, odd
    with runtime.db.reading() as s:
        assert repository.get_entry(s, "warranty-ja").revision == 1


def test_create_and_duplicate_key(entries: list[str], console_as: Console, runtime: Runtime) -> None:
    c = console_as("editor")
    token = csrf_of(c.get("/knowledge/-/new").text)
    data = {
        "csrf_token": token,
        "key": "shipping-01",
        "kind": "faq",
        "title": "送料はかかりますか？",
        "body": "全国一律500円です。",
        "lang": "ja",
        "tags": "shipping, 送料",
        "status": "draft",
    }
    res = c.post("/knowledge/-/new", data=data)
    assert res.status_code == 303 and res.headers["location"] == "/knowledge/shipping-01?saved=1"
    with runtime.db.reading() as s:
        entry = repository.get_entry(s, "shipping-01")
        assert entry.status == "draft" and entry.tags == ["shipping", "送料"] and entry.created_by == "console-editor"
    again = c.post("/knowledge/-/new", data={**data, "title": "別の質問"})
    assert again.status_code == 409 and "別の質問" in again.text
    bad = c.post("/knowledge/-/new", data={**data, "key": "-bad key"})
    assert bad.status_code == 422 and any("key" in e for e in texts_of(bad.text, "kb-errors"))


def test_publish_unpublish_and_archive_are_revisions(entries: list[str], console_as: Console, runtime: Runtime) -> None:
    c = console_as("editor")
    token = csrf_of(c.get("/knowledge/refund-policy").text)
    steps = [("published", 2), ("draft", 3), ("archived", 4)]
    for status, rev in steps:
        res = c.post(
            "/knowledge/refund-policy/status", data={"csrf_token": token, "status": status, "revision": rev - 1}
        )
        assert res.status_code == 303, res.text
    with runtime.db.reading() as s:
        assert [r.status for r in repository.revisions(s, "refund-policy")] == [
            "draft",
            "published",
            "draft",
            "archived",
        ]
        assert [e.action for e in audit.search(s, subject="knowledge:refund-policy")][-1] == "knowledge.archive"
    stale = c.post("/knowledge/refund-policy/status", data={"csrf_token": token, "status": "published", "revision": 1})
    assert stale.status_code == 409
    page = c.get("/knowledge", params={"status": "archived"}).text
    assert re.findall(r'data-key="([^"]+)"', page) == ["refund-policy"]


def test_import_lists_every_bad_line_and_imports_nothing(
    entries: list[str], console_as: Console, runtime: Runtime
) -> None:
    c = console_as("editor")
    token = csrf_of(c.get("/knowledge/-/import").text)
    bad_csv = (
        "key,kind,title,body,lang,tags,status\n"
        "ok-1,faq,返品は？,30日以内です。,ja,returns,published\n"
        "bad-1,recipe,Q,A,en,,\n"
        "ok-2,faq,,本文だけ,ja,,\n"
    ).encode()
    res = c.post("/knowledge/-/import", data={"csrf_token": token}, files={"file": ("kb.csv", bad_csv, "text/csv")})
    assert res.status_code == 422
    problems = texts_of(res.text, "kb-import-problem")
    assert len(problems) == 2 and problems[0].startswith("3") and problems[1].startswith("4")
    with runtime.db.reading() as s:
        assert repository.count_entries(s) == 3
    good = (
        '{"key": "ok-1", "kind": "faq", "title": "返品は？", "body": "30日以内です。", "lang": "ja"}\n'
        '{"key": "warranty-en", "kind": "faq", "title": "How long is the warranty?", '
        '"body": "One year.", "lang": "en"}\n'
    ).encode()
    res = c.post("/knowledge/-/import", data={"csrf_token": token}, files={"file": ("kb.jsonl", good)})
    assert res.status_code == 200
    assert texts_of(res.text, "kb-import-report") == ["kb.jsonl: 1 created, 0 updated, 1 unchanged."]
    not_utf8 = c.post(
        "/knowledge/-/import", data={"csrf_token": token}, files={"file": ("x.csv", "key\n返品".encode("shift_jis"))}
    )
    assert not_utf8.status_code == 422 and "UTF-8" in not_utf8.text
    other = c.post("/knowledge/-/import", data={"csrf_token": token}, files={"file": ("x.xlsx", b"PK")})
    assert other.status_code == 422 and 'data-testid="kb-import-error"' in other.text


def test_japanese_pages_follow_the_browser(entries: list[str], console_as: Console) -> None:
    c = console_as("editor")
    ja = c.get("/knowledge", headers={"Accept-Language": "ja,en;q=0.5"}).text
    assert "<h1>ナレッジ</h1>" in ja and "3 件" in ja
    en = c.get("/knowledge", headers={"Accept-Language": "en"}).text
    assert "<h1>Knowledge</h1>" in en and "3 entries" in en


def test_ranked_search_uses_the_retrieval_of_replies(entries: list[str], console_as: Console) -> None:
    c = console_as("agent")
    ja = c.get("/knowledge", params={"q": "保証の期間を教えてください", "ranked": "1"}).text
    keys = re.findall(r'data-key="([^"]+)"', ja)
    assert keys[0] == "warranty-ja"
    drafts_too = c.get("/knowledge", params={"q": "返金", "ranked": "1"}).text
    assert re.findall(r'data-key="([^"]+)"', drafts_too)[0] == "refund-policy"  # a draft entry, found
    published = c.get("/knowledge", params={"q": "返金", "ranked": "1", "status": "published"}).text
    assert "refund-policy" not in re.findall(r'data-key="([^"]+)"', published)
    en = c.get("/knowledge", params={"q": "warranty length", "ranked": "1", "lang": "en"}).text
    assert re.findall(r'data-key="([^"]+)"', en) == ["warranty-en"]

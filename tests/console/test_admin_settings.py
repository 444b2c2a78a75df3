"""Watch rules and organisation profile pages: the YAML in force, validated edits as new versions, old versions."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent.intake import service as watch_service
from agent.org import service as org_service
from kizuki.core import audit
from kizuki.runtime import Runtime
from tests.console.test_admin_support import csrf_of, signed_in_clients, texts_of


@pytest.fixture
def console_as(app: FastAPI, runtime: Runtime) -> Iterator[Callable[[str], TestClient]]:
    yield from signed_in_clients(app, runtime)


Console = Callable[[str], TestClient]

WATCH = """require: brand
brand:
  - 森野ベーカリー
  - Morino Bakery
problem:
  - 焦げた
  - stale bread
"""
PROFILE = """name: Morino Bakery
names: [森野ベーカリー, もりのベーカリー]
handles:
  x: "@morino_help"
products:
  - name: 食パン
    aliases: [しょくぱん]
contacts: ["0120-123-456"]
markets: [JP]
"""


def _textarea(page: str, doc: str) -> str:
    m = re.search(rf'<textarea id="{doc}-yaml" name="yaml"[^>]*>(.*?)</textarea>', page, re.S)
    assert m, "no editor on the page"
    return html.unescape(m.group(1))


def test_watch_rules_show_the_version_in_force(console_as: Console, runtime: Runtime) -> None:
    page = console_as("agent").get("/watch-rules").text
    assert texts_of(page, "watch-version") == ["Version 1"]
    assert 'name="yaml"' not in page  # read only for an agent
    assert "brand:" in texts_of(page, "watch-yaml")[0]


def test_watch_rules_edit_saves_a_new_version(console_as: Console, runtime: Runtime) -> None:
    c = console_as("editor")
    page = c.get("/watch-rules").text
    assert "brand:" in _textarea(page, "watch")
    res = c.post("/watch-rules", data={"csrf_token": csrf_of(page), "version": "1", "yaml": WATCH, "note": "新店舗"})
    assert res.status_code == 303 and res.headers["location"] == "/watch-rules?saved=2"
    with runtime.db.reading() as s:
        version, rules = runtime.watch_rules.current(s)
        assert version == 2 and rules.brand == ["森野ベーカリー", "Morino Bakery"]
        (entry,) = audit.search(s, subject="watch_rules", actor="console-editor")
        assert entry.action == "watch_rules.update" and entry.after["version"] == 2 and entry.note == "新店舗"
    page = c.get("/watch-rules?saved=2").text
    assert texts_of(page, "watch-version") == ["Version 2"] and 'data-testid="watch-saved"' in page
    assert re.findall(r'data-testid="watch-version-item" data-version="(\d+)"', page) == ["2", "1"]
    old = c.get("/watch-rules", params={"version": 1}).text
    assert "Morino Bakery" not in texts_of(old, "watch-shown")[0]
    assert c.get("/watch-rules", params={"version": 7}).status_code == 404


def test_invalid_watch_rules_show_the_error_and_keep_the_text(console_as: Console, runtime: Runtime) -> None:
    c = console_as("editor")
    token = csrf_of(c.get("/watch-rules").text)
    broken = WATCH + "exclude: [流星群\n"
    res = c.post("/watch-rules", data={"csrf_token": token, "version": "1", "yaml": broken})
    assert res.status_code == 422
    (error,) = texts_of(res.text, "watch-error")
    assert "not valid YAML" in error and "watch rules:" in error
    assert _textarea(res.text, "watch") == broken  # the edit is kept, exactly
    unknown = WATCH + "requires: brand_and_problem\n"
    res = c.post("/watch-rules", data={"csrf_token": token, "version": "1", "yaml": unknown})
    assert res.status_code == 422
    (error,) = texts_of(res.text, "watch-error")
    assert "watch rules:8: requires: Extra inputs are not permitted" in error
    wrong_type = "require: everything\nbrand: [x]\n"
    res = c.post("/watch-rules", data={"csrf_token": token, "version": "1", "yaml": wrong_type})
    assert res.status_code == 422 and "watch rules:1: require" in texts_of(res.text, "watch-error")[0]
    with runtime.db.reading() as s:
        assert len(watch_service.watch_rule_versions(s)) == 1


def test_a_stale_watch_rules_edit_is_refused_and_kept(console_as: Console, runtime: Runtime) -> None:
    c = console_as("editor")
    token = csrf_of(c.get("/watch-rules").text)
    assert c.post("/watch-rules", data={"csrf_token": token, "version": "1", "yaml": WATCH}).status_code == 303
    mine = WATCH.replace("焦げた", "カビ")
    res = c.post("/watch-rules", data={"csrf_token": token, "version": "1", "yaml": mine})
    assert res.status_code == 409
    assert "version 2" in texts_of(res.text, "watch-error")[0]
    assert _textarea(res.text, "watch") == mine


def test_profile_from_none_to_a_version_with_errors_named(console_as: Console, runtime: Runtime) -> None:
    c = console_as("editor")
    page = c.get("/profile").text
    assert texts_of(page, "profile-version") == ["No profile saved yet."]
    token = csrf_of(page)
    bad = PROFILE.replace("markets: [JP]", "markets: [Narnia]")
    res = c.post("/profile", data={"csrf_token": token, "version": "0", "yaml": bad})
    assert res.status_code == 422
    (error,) = texts_of(res.text, "profile-error")
    assert "profile:9: markets:" in error and "unknown market" in error
    assert _textarea(res.text, "profile") == bad
    res = c.post("/profile", data={"csrf_token": token, "version": "0", "yaml": PROFILE})
    assert res.status_code == 303 and res.headers["location"] == "/profile?saved=1"
    with runtime.db.reading() as s:
        version, profile = runtime.org.current(s)
        assert version == 1 and profile is not None and profile.handles == {"x": "@morino_help"}
        assert [e.action for e in audit.search(s, subject="org")] == ["org.update"]
    page = console_as("agent").get("/profile").text
    assert texts_of(page, "profile-version") == ["Version 1"] and "森野ベーカリー" in page
    stale = c.post("/profile", data={"csrf_token": token, "version": "0", "yaml": PROFILE})
    assert stale.status_code == 409
    with runtime.db.reading() as s:
        assert len(org_service.versions(s)) == 1


def test_settings_pages_in_japanese(console_as: Console) -> None:
    c = console_as("editor")
    page = c.get("/watch-rules", headers={"Accept-Language": "ja"}).text
    assert "<h1>監視ルール</h1>" in page and "バージョン 1" in page
    assert "<h1>組織プロフィール</h1>" in c.get("/profile", headers={"Accept-Language": "ja"}).text

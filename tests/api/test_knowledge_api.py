"""Knowledge over REST: CRUD, optimistic concurrency, revisions, search following every change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kizuki.core.settings import Settings
from kizuki.runtime import Runtime

E03_JA = {
    "key": "kamado-e03-ja",
    "kind": "faq",
    "title": "炊飯器にE03と表示されて炊けません",
    "body": "E03はふたのセンサーの異常です。ふたを一度開けて、パッキンの汚れを拭き取ってから閉め直してください。",
    "lang": "ja",
    "tags": ["kamado", "error"],
}
PAIRING_EN = {
    "key": "sorabuds-pairing-en",
    "kind": "faq",
    "title": "My earbuds will not pair with my phone",
    "body": "Put both earbuds in the case and hold the two buttons for 10 seconds to reset pairing.",
    "lang": "en",
    "tags": ["sorabuds"],
}


def _create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    res = client.post("/v1/knowledge", json=body)
    assert res.status_code == 201, res.text
    return dict(res.json())


def _search(client: TestClient, query: str, **kw: Any) -> list[str]:
    res = client.post("/v1/knowledge/search", json={"query": query, **kw})
    assert res.status_code == 200, res.text
    return [h["key"] for h in res.json()["hits"]]


def test_healthz_openapi_and_docs_without_a_cdn(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "cdn.jsdelivr" not in docs.text  # works on a closed network
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    assert "HTTPBearer" in client.get("/openapi.json").json()["components"]["securitySchemes"]
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/knowledge", "/v1/knowledge/{key}", "/v1/knowledge/{key}/revisions", "/v1/knowledge/search"} <= set(
        paths
    )


def test_crud_and_revisions(client: TestClient) -> None:
    created = _create(client, E03_JA)
    assert created["revision"] == 1
    res = client.put("/v1/knowledge/kamado-e03-ja", json={"revision": 1, "body": "E03はふたのセンサーです。"})
    assert res.status_code == 200
    assert res.json()["revision"] == 2
    stale = client.put("/v1/knowledge/kamado-e03-ja", json={"revision": 1, "title": "古い編集"})
    assert stale.status_code == 409
    assert stale.json()["error"] == "StaleRevision"
    assert stale.json()["current_revision"] == 2
    revs = client.get("/v1/knowledge/kamado-e03-ja/revisions").json()
    assert [r["revision"] for r in revs] == [1, 2]
    assert "パッキン" in client.get("/v1/knowledge/kamado-e03-ja/revisions/1").json()["body"]
    assert client.get("/v1/knowledge/kamado-e03-ja/revisions/9").status_code == 404
    archived = client.delete("/v1/knowledge/kamado-e03-ja")
    assert archived.json()["status"] == "archived"
    assert client.get("/v1/knowledge", params={"status": "archived"}).json()["total"] == 1


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({**E03_JA, "title": ""}, 422, "ValidationError"),
        ({**E03_JA, "body": "x" * 10_001}, 422, "ValidationError"),
        ({**E03_JA, "kind": "rumour"}, 422, "ValidationError"),
        ({**E03_JA, "lang": "tlh"}, 422, "ValidationError"),
        ({k: v for k, v in E03_JA.items() if k != "body"}, 422, "ValidationError"),
    ],
)
def test_bad_input_is_4xx_with_reason(client: TestClient, body: dict[str, Any], status: int, error: str) -> None:
    res = client.post("/v1/knowledge", json=body)
    assert res.status_code == status
    assert res.json()["error"] == error
    assert res.json()["detail"]


def test_nul_in_an_extra_field_name_is_422(client: TestClient) -> None:
    """Extra fields are kept as JSON; a NUL in a field *name* is refused like one in a value."""
    res = client.post("/v1/knowledge", json={**E03_JA, "key": "nul-key", "note\u0000": {"x": 1}})
    assert res.status_code == 422 and "cannot be stored" in res.json()["detail"]
    assert client.get("/v1/knowledge/nul-key").status_code == 404


def test_duplicate_key_and_unknown_key(client: TestClient) -> None:
    _create(client, E03_JA)
    dup = client.post("/v1/knowledge", json=E03_JA)
    assert dup.status_code == 409
    assert dup.json()["error"] == "DuplicateKey"
    missing = client.get("/v1/knowledge/nope")
    assert missing.status_code == 404
    assert missing.json() == {"error": "EntryNotFound", "detail": "no knowledge entry with key 'nope'"}


def test_malformed_json_and_oversized_body(client: TestClient) -> None:
    res = client.post("/v1/knowledge", content=b"{not json", headers={"content-type": "application/json"})
    assert res.status_code == 422
    big = client.post("/v1/knowledge", content=b"x" * 1_000_001, headers={"content-type": "application/json"})
    assert big.status_code == 413
    assert big.json()["error"] == "PayloadTooLarge"


def test_search_follows_publish_update_and_archive(client: TestClient) -> None:
    _create(client, E03_JA)
    _create(client, {**PAIRING_EN, "status": "draft"})
    assert _search(client, "ＫＡＭＡＤＯでＥ０３が出た")[0] == "kamado-e03-ja"  # full-width query
    assert "sorabuds-pairing-en" not in _search(client, "earbuds pairing reset")  # drafts are not replies
    assert _search(client, "earbuds pairing reset", include_drafts=True)[0] == "sorabuds-pairing-en"
    client.put("/v1/knowledge/sorabuds-pairing-en", json={"revision": 1, "status": "published"})
    hits = client.post("/v1/knowledge/search", json={"query": "earbuds pairing reset"}).json()["hits"]
    assert hits[0]["key"] == "sorabuds-pairing-en"
    assert hits[0]["revision"] == 2
    assert hits[0]["passage"]
    client.delete("/v1/knowledge/sorabuds-pairing-en")
    assert "sorabuds-pairing-en" not in _search(client, "earbuds pairing reset", include_drafts=True)


def test_search_filters(client: TestClient) -> None:
    _create(client, E03_JA)
    _create(client, PAIRING_EN)
    assert _search(client, "reset", lang="ja") == ["kamado-e03-ja"]
    assert _search(client, "reset", tag="sorabuds") == ["sorabuds-pairing-en"]
    assert _search(client, "reset", kind="policy") == []
    assert client.post("/v1/knowledge/search", json={"query": ""}).status_code == 422


def test_served_app_warms_up_before_the_first_request(runtime: Runtime, tmp_path: Path) -> None:
    """The served app opens its connection pool and builds the checker at startup, not on the
    first burst of reviewers; on a database that is not migrated yet it still starts."""
    from sqlalchemy.pool import QueuePool

    from api.app import create_app

    assert runtime._checker is None
    with TestClient(create_app(runtime, warm=True)) as c:
        assert runtime._checker is not None
        pool = runtime.db.engine.pool
        if isinstance(pool, QueuePool):
            assert pool.checkedin() >= pool.size()
        assert c.get("/healthz").status_code == 200

    fresh = Runtime(Settings(home=tmp_path / "fresh", database_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    try:
        with TestClient(create_app(fresh, warm=True)) as c:
            assert c.get("/healthz").status_code == 200
    finally:
        fresh.close()

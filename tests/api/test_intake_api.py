"""Posts, watch rules, do-not-engage and checks over REST."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from kizuki.runtime import Runtime
from tests.conftest import make_token


def _post(i: int, text: str, **kw: Any) -> dict[str, Any]:
    return {
        "source": "x",
        "external_id": f"api-{i}",
        "author": {"handle": kw.pop("handle", "hana")},
        "text": text,
        **kw,
    }


def test_posts_one_or_many_idempotent(client: TestClient) -> None:
    one = client.post("/v1/posts", json=_post(1, "KAMADOでE03が出る"))
    assert one.status_code == 202
    assert one.json()["items"][0]["outcome"] == "queued"
    many = client.post("/v1/posts", json=[_post(1, "KAMADOでE03が出る"), _post(2, "流星群と星空がきれい")])
    assert [i["outcome"] for i in many.json()["items"]] == ["duplicate", "dropped"]
    post_id = one.json()["items"][0]["post_id"]
    got = client.get(f"/v1/posts/{post_id}").json()
    assert got["status"] == "queued"
    assert got["triage"]["language"] == "ja"
    assert got["watch"]["keep"] is True
    assert client.get("/v1/posts/999999").status_code == 404


def test_posts_bad_input(client: TestClient) -> None:
    assert client.post("/v1/posts", json=[]).status_code == 422
    assert client.post("/v1/posts", json=_post(3, "")).status_code == 422
    too_many = [_post(100 + i, "KAMADO") for i in range(501)]
    assert client.post("/v1/posts", json=too_many).status_code == 422
    nul = client.post("/v1/posts", json=_post(4, "KAMADO", url="https://x.example/\u0000"))
    assert nul.status_code == 422
    assert nul.json()["error"] in ("ValidationError", "InvalidInput")
    # counts beyond a 32-bit column are refused at the edge (they once reached the database and failed there: 500)
    huge = _post(5, "KAMADO")
    huge["author"] = {"handle": "big", "followers": 2**70}
    assert client.post("/v1/posts", json=huge).status_code == 422
    huge = _post(6, "KAMADO")
    huge["metrics"] = {"reposts": 2**63}
    assert client.post("/v1/posts", json=huge).status_code == 422


def test_watch_rules_are_versioned_and_take_effect(client: TestClient) -> None:
    current = client.get("/v1/watch-rules").json()
    assert current["version"] == 1  # the demo company's, stored by the fixture
    before = client.post("/v1/posts", json=_post(9, "HoshiCamのレンズが曇って使えない")).json()["items"][0]
    assert before["outcome"] == "dropped"  # not a product the rules know yet
    rules = current["rules"]
    rules["brand"] = [*rules.get("brand", []), "HoshiCam"]
    stale = client.put("/v1/watch-rules", json={"version": 5, "rules": rules})
    assert stale.status_code == 409
    saved = client.put("/v1/watch-rules", json={"version": 1, "rules": rules, "note": "campaign noise"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 2
    res = client.post("/v1/posts", json=_post(10, "HoshiCamのレンズが曇って使えない"))
    item = res.json()["items"][0]
    assert item["outcome"] == "queued"
    post = client.get(f"/v1/posts/{item['post_id']}").json()
    assert "HoshiCam" in post["watch"]["matched"]["brand"]
    assert [v["version"] for v in client.get("/v1/watch-rules/versions").json()] == [1, 2]
    bad = client.put("/v1/watch-rules", json={"version": 2, "rules": {"brand": "not a list"}})
    assert bad.status_code == 422


def test_do_not_engage_round_trip(client: TestClient) -> None:
    res = client.post("/v1/do-not-engage", json={"handle": "@Troll_99", "reason": "harassment"})
    assert res.status_code == 201
    assert res.json()["handle"] == "troll_99"
    item = client.post("/v1/posts", json=_post(20, "KAMADO壊れた", handle="troll_99")).json()["items"][0]
    assert item["outcome"] == "no_engage"
    assert client.delete("/v1/do-not-engage/TROLL_99").status_code == 204
    assert client.delete("/v1/do-not-engage/troll_99").status_code == 404
    naive = client.post("/v1/do-not-engage", json={"handle": "x", "reason": "r", "expires_at": "2030-01-01T00:00:00"})
    assert naive.status_code == 422
    too_early = {"handle": "x", "reason": "r", "expires_at": "0001-01-01T00:00:00+00:01"}
    early = client.post("/v1/do-not-engage", json=too_early)
    assert early.status_code == 422 and "out of range" in early.json()["detail"]
    audit = client.get("/v1/audit", params={"since": "0001-01-01T00:00:00+00:01"})  # the same date as a filter
    assert audit.status_code == 422 and "out of range" in audit.json()["detail"]
    created = client.post("/v1/posts", json={**_post(21, "KAMADO壊れた"), "created_at": "0001-01-01T00:00:00+09:00"})
    assert created.status_code == 422


def test_checks_endpoint(client: TestClient) -> None:
    ok = client.post("/v1/checks", json={"text": ""})
    assert ok.json() == {"verdict": "pass", "findings": []}
    res = client.post("/v1/checks", json={"text": "お電話番号は090-1234-5678ですね", "post_text": "090-1234-5678です"})
    cats = {f["category"] for f in res.json()["findings"]}
    assert {"pii", "pii_echo"} <= cats
    assert res.json()["verdict"] == "block"
    phone = next(f for f in res.json()["findings"] if f["category"] == "pii")
    assert "お電話番号は090-1234-5678ですね"[phone["start"] : phone["end"]] == "090-1234-5678"  # original offsets
    big = client.post("/v1/checks", json={"text": "あ" * 20_001})
    assert big.status_code == 413
    assert big.json()["error"] == "PayloadTooLarge"
    assert client.post("/v1/checks", json={"text": "hi", "channel": "fax"}).status_code == 422


def test_a_fresh_installation_says_what_to_set_instead_of_dropping_every_post(bare_runtime: Runtime) -> None:
    from api.app import create_app

    with TestClient(create_app(bare_runtime)) as c:
        c.headers["Authorization"] = f"Bearer {make_token(bare_runtime, 'admin')}"
        res = c.post("/v1/posts", json=_post(30, "Acme Cloudの請求書が届かない"))
        assert res.status_code == 409
        assert res.json()["error"] == "WatchRulesNotSet"
        assert "kizuki watch set" in res.json()["detail"] and "/v1/watch-rules" in res.json()["detail"]
        saved = c.put("/v1/watch-rules", json={"version": 0, "rules": {"brand": ["Acme Cloud"]}})
        assert saved.status_code == 200, saved.text
        item = c.post("/v1/posts", json=_post(30, "Acme Cloudの請求書が届かない")).json()["items"][0]
        assert item["outcome"] == "queued"


def test_the_organisation_profile_is_versioned_and_validated(client: TestClient) -> None:
    assert client.get("/v1/org").json() == {
        "version": 0,
        "profile": None,
        "created_at": None,
        "created_by": None,
        "note": "no profile set",
    }
    profile = {
        "name": "さくらベーカリー",
        "names": ["Sakura Bakery"],
        "handles": {"x": "sakura_bakery_help"},
        "products": [{"name": "食パン", "aliases": ["shokupan"]}],
        "contacts": ["0120-555-010"],
        "loyalty_programme": "Sakura Points",  # extra fields are kept
    }
    saved = client.put("/v1/org", json={"version": 0, "profile": profile})
    assert saved.status_code == 200, saved.text
    got = client.get("/v1/org").json()
    assert got["version"] == 1
    assert got["profile"]["handles"] == {"x": "@sakura_bakery_help"}
    assert got["profile"]["names"] == ["さくらベーカリー", "Sakura Bakery"]
    assert got["profile"]["loyalty_programme"] == "Sakura Points"
    assert client.put("/v1/org", json={"version": 0, "profile": profile}).status_code == 409
    bad = client.put("/v1/org", json={"version": 1, "profile": {"name": " ", "handles": {"x": "not a handle!"}}})
    assert bad.status_code == 422
    assert [v["version"] for v in client.get("/v1/org/versions").json()] == [1]

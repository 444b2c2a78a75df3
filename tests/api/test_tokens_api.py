"""Tokens over REST: listing without secrets, immediate revocation, expiry, unique names, the last admin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Annotated

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from api.deps import Actor, requires
from api.models import ApiToken
from kizuki.core.orm import utcnow
from kizuki.runtime import Runtime
from tests.conftest import make_token


def _token_id(runtime: Runtime, name: str) -> int:
    with runtime.db.reading() as s:
        return int(s.scalars(select(ApiToken.id).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))).one())


def test_list_shows_prefixes_never_secrets_and_hides_revoked(client: TestClient) -> None:
    made = client.post("/v1/tokens", json={"name": "佐藤 花子", "role": "agent", "expires_in_days": 90})
    assert made.status_code == 201, made.text
    secret, token_id = made.json()["token"], made.json()["id"]
    assert secret.startswith("kz_") and made.json()["prefix"] == secret[:8]
    expires = made.json()["expires_at"]
    assert expires is not None
    listed = client.get("/v1/tokens")
    assert listed.status_code == 200
    assert secret not in listed.text and "token_hash" not in listed.text
    mine = next(t for t in listed.json() if t["id"] == token_id)
    assert mine["name"] == "佐藤 花子" and mine["prefix"] == secret[:8] and mine["active"] is True
    assert mine["expires_at"] == expires
    assert client.delete(f"/v1/tokens/{token_id}").status_code == 200
    assert token_id not in {t["id"] for t in client.get("/v1/tokens").json()}
    every = client.get("/v1/tokens", params={"include_inactive": True}).json()
    gone = next(t for t in every if t["id"] == token_id)
    assert gone["active"] is False and gone["revoked_at"] and gone["revoked_by"] == "test-admin"


def test_a_revoked_token_is_refused_on_the_next_request_in_every_process(runtime: Runtime, app: FastAPI) -> None:
    """Before, each process kept a token it had seen for 10 s: the CLI revoked, the server still served."""
    secret = make_token(runtime, "agent", "鈴木")
    other = Runtime(runtime.settings)  # another server process: its own engine and app, the same database
    headers = {"Authorization": f"Bearer {secret}"}
    with TestClient(app) as a, TestClient(create_app(other)) as b:
        assert a.get("/v1/drafts", headers=headers).status_code == 200
        assert b.get("/v1/drafts", headers=headers).status_code == 200
        # revoked by a third process (the CLI): the row changes, neither app is told
        with runtime.db.session() as s:
            s.execute(update(ApiToken).where(ApiToken.name == "鈴木").values(revoked_at=utcnow()))
        for c in (a, b):
            res = c.get("/v1/drafts", headers=headers)
            assert res.status_code == 401, res.text
            assert "revoked" in res.json()["detail"]
    other.db.dispose()


def test_revoking_over_rest_takes_effect_at_once_and_is_audited(
    runtime: Runtime, client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    agent = client_as("agent", "Ken Tanaka")
    assert agent.get("/v1/drafts").status_code == 200
    res = client.delete(f"/v1/tokens/{_token_id(runtime, 'Ken Tanaka')}")
    assert res.status_code == 200 and res.json()["active"] is False
    refused = agent.get("/v1/drafts")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    again = client.delete(f"/v1/tokens/{res.json()['id']}")  # idempotent, not audited twice
    assert again.status_code == 200
    audit = client.get("/v1/audit", params={"subject": f"token:{res.json()['id']}"}).json()
    assert [e["action"] for e in audit].count("token.revoke") == 1
    assert next(e for e in audit if e["action"] == "token.revoke")["actor"] == "test-admin"
    assert client.delete("/v1/tokens/999999").status_code == 404


def test_an_expired_token_is_refused_with_the_reason(runtime: Runtime, client: TestClient) -> None:
    made = client.post("/v1/tokens", json={"name": "期限付き", "role": "agent", "expires_in_days": 1}).json()
    headers = {"Authorization": f"Bearer {made['token']}"}
    assert client.get("/v1/drafts", headers=headers).status_code == 200
    with runtime.db.session() as s:
        s.execute(update(ApiToken).where(ApiToken.id == made["id"]).values(expires_at=utcnow() - timedelta(seconds=1)))
    res = client.get("/v1/drafts", headers=headers)
    assert res.status_code == 401
    assert res.json()["error"] == "Unauthorized" and "expired at" in res.json()["detail"]
    assert made["id"] not in {t["id"] for t in client.get("/v1/tokens").json()}  # the list shows working ones
    for bad in (0, -1, 3651, "soon"):
        refused = client.post("/v1/tokens", json={"name": f"x{bad}", "role": "agent", "expires_in_days": bad})
        assert refused.status_code == 422, bad


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Ｓａｔｏ", "sato "),  # full width and case
        ("Hana  Suzuki", "hana suzuki"),  # inner spaces
        ("佐藤\u3000花子", "佐藤 花子"),  # an ideographic space
        ("ｻﾄｳ", "サトウ"),  # half-width kana
    ],
)
def test_names_are_unique_after_normalisation(client: TestClient, first: str, second: str) -> None:
    assert client.post("/v1/tokens", json={"name": first, "role": "agent"}).status_code == 201
    dup = client.post("/v1/tokens", json={"name": second, "role": "editor"})
    assert dup.status_code == 409, dup.text
    assert dup.json()["error"] == "Conflict" and "taken by token" in dup.json()["detail"]


def test_a_name_is_free_again_after_revocation_and_keeps_its_first_spelling(
    runtime: Runtime, client: TestClient
) -> None:
    """The two-person rule compares approvers by name: one person must stay one name across tokens."""
    first = client.post("/v1/tokens", json={"name": "Ｓａｔｏ", "role": "agent"}).json()
    assert first["name"] == "Sato"  # stored NFKC
    assert client.delete(f"/v1/tokens/{first['id']}").status_code == 200
    second = client.post("/v1/tokens", json={"name": "sato", "role": "agent"})
    assert second.status_code == 201 and second.json()["name"] == "Sato"


def test_an_expired_token_gives_up_its_name(runtime: Runtime, client: TestClient) -> None:
    old = client.post("/v1/tokens", json={"name": "rotating-bot", "role": "agent", "expires_in_days": 1}).json()
    with runtime.db.session() as s:
        s.execute(update(ApiToken).where(ApiToken.id == old["id"]).values(expires_at=utcnow() - timedelta(hours=1)))
    new = client.post("/v1/tokens", json={"name": "Rotating-Bot", "role": "agent"})
    assert new.status_code == 201
    every = {t["id"]: t for t in client.get("/v1/tokens", params={"include_inactive": True}).json()}
    assert every[old["id"]]["revoked_at"] is not None


def test_the_last_admin_token_is_not_revoked_over_rest_without_force(runtime: Runtime, client: TestClient) -> None:
    admin_id = _token_id(runtime, "test-admin")
    refused = client.delete(f"/v1/tokens/{admin_id}")
    assert refused.status_code == 409 and "last admin token" in refused.json()["detail"]
    assert client.get("/v1/tokens").status_code == 200  # still works
    second = client.post("/v1/tokens", json={"name": "second admin", "role": "admin"}).json()
    other = client.post("/v1/tokens", json={"name": "third admin", "role": "admin"}).json()
    assert client.delete(f"/v1/tokens/{other['id']}").status_code == 200  # another admin works: allowed
    second_client = {"Authorization": f"Bearer {second['token']}"}
    assert client.delete(f"/v1/tokens/{admin_id}").status_code == 200
    assert client.get("/v1/tokens").status_code == 401
    assert client.delete(f"/v1/tokens/{second['id']}", headers=second_client).status_code == 409
    forced = client.delete(f"/v1/tokens/{second['id']}", headers=second_client, params={"force": True})
    assert forced.status_code == 200
    assert client.get("/v1/tokens", headers=second_client).status_code == 401


def test_last_use_is_recorded_without_a_write_per_request(runtime: Runtime, client: TestClient) -> None:
    admin_id = _token_id(runtime, "test-admin")

    def last_used() -> object:
        with runtime.db.reading() as s:
            return s.scalar(select(ApiToken.last_used_at).where(ApiToken.id == admin_id))

    assert last_used() is None
    client.get("/v1/tokens")
    first = last_used()
    assert first is not None
    for _ in range(3):
        client.get("/v1/tokens")
    assert last_used() == first  # within LAST_USED_EVERY: no more writes
    with runtime.db.session() as s:
        s.execute(update(ApiToken).where(ApiToken.id == admin_id).values(last_used_at=utcnow() - timedelta(hours=1)))
    client.get("/v1/tokens")
    latest = last_used()
    assert isinstance(latest, type(first)) and latest > first  # type: ignore[operator]


@pytest.fixture
def whoami(runtime: Runtime) -> Iterator[TestClient]:
    app = FastAPI()
    app.state.runtime = runtime

    @app.get("/whoami")
    def _whoami(actor: Annotated[Actor, requires("agent")]) -> dict[str, object]:
        return {"name": actor.name, "role": actor.role, "token_id": actor.token_id}

    with TestClient(app) as c:
        yield c


def test_the_actor_carries_the_token_id(runtime: Runtime, whoami: TestClient) -> None:
    secret = make_token(runtime, "agent", "山田")
    res = whoami.get("/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert res.json() == {"name": "山田", "role": "agent", "token_id": _token_id(runtime, "山田")}

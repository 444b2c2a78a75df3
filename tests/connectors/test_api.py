"""REST: connectors are admin-only; secrets in the document are a 422 with the reason; status and runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import respx
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kizuki.cli import app as cli_app
from kizuki.core.settings import get_settings
from kizuki.runtime import Runtime
from tests.connectors.test_mastodon import BASE, status

MASTODON = {"name": "masto", "kind": "mastodon", "base_url": BASE, "options": {"hashtags": ["kamado"], "search": []}}


def test_only_admins_see_or_change_connectors(client_as: Callable[..., TestClient]) -> None:
    for role in ("agent", "editor", "evaluator"):
        c = client_as(role)
        assert c.get("/v1/connectors").status_code == 403
        assert c.put("/v1/connectors", json={"connectors": [], "version": 0}).status_code == 403
        assert c.get("/v1/connectors/status").status_code == 403
        assert c.post("/v1/connectors/masto/run").status_code == 403


def test_put_get_versions_and_conflicts(client: TestClient) -> None:
    assert client.get("/v1/connectors").json() == {
        "version": 0,
        "connectors": [],
        "created_at": None,
        "created_by": None,
        "note": None,
    }
    res = client.put("/v1/connectors", json={"connectors": [MASTODON], "version": 0, "note": "まずは Mastodon"})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["version"] == 1 and body["created_by"] == "test-admin" and body["connectors"][0]["interval_s"] == 300
    stale = client.put("/v1/connectors", json={"connectors": [], "version": 0})
    assert stale.status_code == 409 and stale.json()["error"] == "Conflict"
    assert client.get("/v1/connectors").json()["connectors"][0]["name"] == "masto"


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({**MASTODON, "token": "abc"}, "secrets never go"),
        ({**MASTODON, "options": {"password": "x"}}, "secrets never go"),
        ({**MASTODON, "kind": "friendster"}, "kind"),
        ({**MASTODON, "options": {"hashtags": "kamado"}}, "options.hashtags"),
    ],
)
def test_bad_documents_are_422_with_the_reason(client: TestClient, entry: dict[str, object], error: str) -> None:
    res = client.put("/v1/connectors", json={"connectors": [entry], "version": 0})
    assert res.status_code == 422
    assert error in res.json()["detail"]
    assert client.get("/v1/connectors").json()["version"] == 0


@respx.mock
def test_run_now_and_status(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    respx.route(host="testserver").pass_through()
    monkeypatch.setenv("KIZUKI_CONNECTOR_MASTO_TOKEN", "tok")
    client.put("/v1/connectors", json={"connectors": [MASTODON], "version": 0})
    respx.get(f"{BASE}/api/v1/timelines/tag/kamado").respond(json=[status(3, "<p>KAMADOが動かない</p>")])
    res = client.post("/v1/connectors/masto/run")
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "ok" and res.json()["ingested"] == 1
    assert client.post("/v1/connectors/nope/run").status_code == 404
    (st,) = client.get("/v1/connectors/status").json()
    assert st["name"] == "masto" and st["last_fetched"] == 1 and st["budget"]["reads"] == 1
    assert client.get("/v1/connectors/sent", params={"draft_id": 1}).json() == []


def test_cli_refuses_secrets_and_bad_files(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIZUKI_DATABASE_URL", runtime.db.url)
    get_settings.cache_clear()
    runner = CliRunner()
    leaky = tmp_path / "c.yaml"
    leaky.write_text(f"- name: masto\n  kind: mastodon\n  base_url: {BASE}\n  access_token: abc\n", encoding="utf-8")
    res = runner.invoke(cli_app, ["connectors", "set", str(leaky)])
    assert res.exit_code == 2 and "secrets never go" in res.stderr and "access_token" in res.stderr
    res = runner.invoke(cli_app, ["connectors", "set", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 2 and "cannot read" in res.stderr
    res = runner.invoke(cli_app, ["connectors", "show", "--json"])
    assert res.exit_code == 0 and res.stdout.strip() == '{"version": 0, "connectors": []}'
    res = runner.invoke(cli_app, ["connectors", "status"])
    assert res.exit_code == 0 and "no connectors set" in res.stdout


def test_unstorable_text_is_a_422_not_a_database_error(client: TestClient) -> None:
    nul = {**MASTODON, "options": {"hashtags": ["ka\x00mado"]}}
    res = client.put("/v1/connectors", json={"connectors": [nul], "version": 0})
    assert res.status_code == 422 and "control character U+0000" in res.json()["detail"], res.text
    # a lone surrogate in a key, as JSON escapes it
    body = '{"version": 0, "connectors": [{"name": "m", "kind": "rss", "options": {"x\\ud800": 1}}]}'
    res = client.put("/v1/connectors", content=body, headers={"content-type": "application/json"})
    assert res.status_code == 422, res.text
    assert client.get("/v1/connectors").json()["version"] == 0


def test_fuzzed_connector_requests_never_get_a_server_error(runtime: Runtime) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    from api.app import create_app
    from tests.conftest import make_token

    app = create_app(runtime)
    headers = {"Authorization": f"Bearer {make_token(runtime, 'admin', 'fuzzer')}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith("/v1/connectors"):
            continue
        tried += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
        )
        def call(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.text[:300]}"

        call()
    assert tried == 5

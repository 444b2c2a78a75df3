"""`kizuki token create/list/revoke` on a real SQLite database, and a server that honours a revocation at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from kizuki.cli import app, bootstrap_token
from kizuki.core.settings import get_settings
from kizuki.runtime import Runtime

runner = CliRunner()


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIZUKI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KIZUKI_ACTOR", "cli:ops")
    get_settings.cache_clear()


def _run(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args))
    return res.exit_code, res.stdout, res.stderr


def _create(name: str, role: str = "agent", *extra: str) -> str:
    code, out, err = _run("token", "create", "--name", name, "--role", role, *extra)
    assert code == 0, err
    return out.strip()


def _listed(*extra: str) -> list[dict[str, object]]:
    code, out, err = _run("token", "list", "--json", *extra)
    assert code == 0, err
    return list(json.loads(out))


def test_list_never_shows_secrets_and_revoke_by_id_prefix_or_name() -> None:
    secrets = [_create("佐藤 花子"), _create("ken", "editor"), _create("bot", "agent", "--expires-in", "90d")]
    items = _listed()
    assert [i["name"] for i in items] == ["佐藤 花子", "ken", "bot"]
    for item, secret in zip(items, secrets, strict=True):
        assert item["prefix"] == secret[:8]
        assert secret not in json.dumps(items)
    assert items[2]["expires_at"] is not None and items[0]["expires_at"] is None
    code, table, _ = _run("token", "list")
    assert code == 0 and "佐藤 花子" in table and secrets[0][:8] in table and secrets[0] not in table

    code, out, _ = _run("token", "revoke", str(items[1]["id"]))
    assert code == 0 and "revoked token" in out
    code, out, _ = _run("token", "revoke", str(items[0]["prefix"]))
    assert code == 0 and "佐藤 花子" in out
    code, out, _ = _run("token", "revoke", "BOT ", "--reason", "rotated")  # by name, normalised
    assert code == 0 and "bot" in out
    leaked = _create("ci-bot", "agent")
    code, out, _ = _run("token", "revoke", leaked)  # the whole secret, as found where it leaked
    assert code == 0 and "ci-bot" in out and leaked not in out
    assert _listed() == []
    assert {i["name"] for i in _listed("--all") if not i["active"]} == {"佐藤 花子", "ken", "bot", "ci-bot"}
    code, _, err = _run("token", "revoke", "nobody")
    assert code != 0 and "no token named" in err


def test_duplicate_names_and_bad_expiry_are_refused() -> None:
    _create("Ｓａｔｏ")
    code, _, err = _run("token", "create", "--name", "sato ", "--role", "agent")
    assert code != 0 and "taken by token" in err
    for bad in ("0d", "soon", "99999d"):
        code, _, err = _run("token", "create", "--name", f"x-{bad}", "--role", "agent", "--expires-in", bad)
        assert code != 0 and "--expires-in" in err, bad


def test_a_running_server_refuses_a_token_the_command_line_revoked() -> None:
    secret = _create("reviewer-1")
    rt = Runtime()
    with TestClient(create_app(rt)) as c:
        c.headers["Authorization"] = f"Bearer {secret}"
        assert c.get("/v1/drafts").status_code == 200
        code, _, _ = _run("token", "revoke", "reviewer-1")
        assert code == 0
        res = c.get("/v1/drafts")
        assert res.status_code == 401 and "revoked" in res.json()["detail"]
    rt.db.dispose()


def test_the_bootstrap_admin_can_be_revoked_and_is_not_printed_again(capsys: pytest.CaptureFixture[str]) -> None:
    rt = Runtime()
    rt.db.migrate()
    bootstrap_token(rt)
    assert "First start" in capsys.readouterr().out
    code, out, _ = _run("token", "revoke", "bootstrap-admin")
    assert code == 0 and "revoked" in out
    bootstrap_token(rt)  # the next `kizuki up`: no new secret on the console, a hint instead
    printed = capsys.readouterr()
    assert "First start" not in printed.out and "kz_" not in printed.out
    rt.db.dispose()

"""`kizuki audit keygen | checkpoint | verify` on a real SQLite home: tampering exits 1 with a clear report."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kizuki.cli import app
from kizuki.core.settings import get_settings

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KIZUKI_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    return tmp_path / "home"


def _run(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args))
    return res.exit_code, res.stdout, res.stderr


def _entries(n: int, start: int = 0) -> None:
    for i in range(start, start + n):  # each token creation is one audited commit
        code, _, err = _run("token", "create", "--name", f"花子-{i}", "--role", "agent")
        assert code == 0, err


def _tamper(home: Path, sql: str) -> None:
    con = sqlite3.connect(home / "kizuki.db")
    con.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    con.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    con.execute(sql)
    con.commit()
    con.close()


def test_keygen_sign_checkpoint_and_verify(home: Path) -> None:
    code, out, _ = _run("audit", "keygen")
    assert code == 0 and "audit key written to" in out
    key_file = home / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    code, _, err = _run("audit", "keygen")
    assert code == 2 and "never overwritten" in err
    _entries(3)
    assert len((home / "audit-checkpoints.jsonl").read_text(encoding="utf-8").splitlines()) == 3
    code, out, err = _run("audit", "verify")
    assert code == 0, err
    assert "audit chain intact: 3 entries (signed)" in out
    assert "consistent with 3 checkpoint(s)" in out and "the newest: entry #3" in out
    assert err == ""
    code, out, _ = _run("audit", "checkpoint")
    assert code == 0 and "checkpoint of entry #3 (3 entries), signed" in out
    code, out, _ = _run("audit", "verify", "--json")
    report = json.loads(out)
    assert report["ok"] and report["signed"] and report["checkpoints"] == 4


def test_deleting_the_newest_entry_exits_1(home: Path) -> None:
    _run("audit", "keygen")
    _entries(2)
    _tamper(home, "DELETE FROM audit_log WHERE id = 2")
    code, out, err = _run("audit", "verify")
    assert code == 1
    assert "truncated: entries after #1 were deleted" in err
    assert "1 problem(s) among 1 entries" in err
    code, out, _ = _run("audit", "verify", "--json")
    assert code == 1
    report = json.loads(out)
    assert not report["ok"] and report["problems"][0]["entry_id"] == 1


def test_a_forged_checkpoint_file_exits_1(home: Path, tmp_path: Path) -> None:
    _run("audit", "keygen")
    _entries(1)
    line = json.loads((home / "audit-checkpoints.jsonl").read_text(encoding="utf-8"))
    forged = tmp_path / "copy.jsonl"
    forged.write_text(json.dumps({**line, "mac": "cd" * 32}) + "\n", encoding="utf-8")
    code, _, err = _run("audit", "verify", "--checkpoints", str(forged))
    assert code == 1 and "invalid signature" in err
    code, _, err = _run("audit", "verify", "--checkpoints", str(tmp_path / "missing.jsonl"))
    assert code == 1 and "does not exist" in err


def test_without_a_key_verify_warns_but_passes(home: Path) -> None:
    _entries(1)
    code, out, err = _run("audit", "verify")
    assert code == 0
    assert "audit chain intact: 1 entries (unsigned)" in out
    assert "detects accidental changes only" in err and "kizuki audit keygen" in err


def test_an_unusable_key_is_a_clear_error(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIZUKI_AUDIT_KEY", "short")
    get_settings.cache_clear()
    code, _, err = _run("audit", "verify")
    assert code == 2 and "at least 16 characters" in err
    code, _, err = _run("audit", "keygen")
    assert code == 2 and "takes precedence" in err


def test_keygen_will_not_orphan_signed_entries(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _run("audit", "keygen")
    _entries(1)
    old_key = (home / "audit.key").read_text(encoding="utf-8").strip()
    (home / "audit.key").unlink()  # lost, or moved away to rotate
    code, _, err = _run("audit", "keygen")
    assert code == 2 and "1 entries are signed with a key this file would not hold" in err
    monkeypatch.setenv("KIZUKI_AUDIT_OLD_KEYS", json.dumps([old_key]))
    get_settings.cache_clear()
    code, _, err = _run("audit", "keygen", "--force")
    assert code == 0, err
    _entries(1, start=1)
    code, out, err = _run("audit", "verify")
    assert code == 0, err
    assert "audit chain intact: 2 entries (signed)" in out

"""Private modes: the data folder 0700, the SQLite database and its -wal/-shm/-journal 0600, harvest output 0600,
whatever the umask; files an older version left readable are narrowed."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.posts.models import Draft
from kizuki.core.db import Database
from kizuki.core.private import write_private
from kizuki.core.settings import Settings, get_settings
from kizuki.runtime import Runtime
from tests.privacy.conftest import JA_TEXT, add_post


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _open_umask() -> Iterator[None]:
    """The usual umask (022) would let group and others read what is created without an explicit mode."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_data_folder_and_sqlite_files_are_private(tmp_path: Path) -> None:
    home = tmp_path / "a" / "home"
    rt = Runtime(Settings(home=home))
    try:
        rt.db.migrate()
        with rt.db.session() as s:
            add_post(s, "1", JA_TEXT)
        db_file = home / "kizuki.db"
        assert mode(home) == 0o700 and mode(tmp_path / "a") == 0o700
        assert mode(db_file) == 0o600
        wal = [db_file.with_name(db_file.name + suffix) for suffix in ("-wal", "-shm")]
        assert all(p.exists() for p in wal)
        assert [mode(p) for p in wal] == [0o600, 0o600]
    finally:
        rt.close()


def test_an_existing_readable_database_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    Database(f"sqlite:///{path}").migrate()
    for p in (path, path.with_name("old.db-wal"), path.with_name("old.db-journal")):
        p.touch()
        p.chmod(0o644)
    db = Database(f"sqlite:///{path}")
    try:
        assert mode(path) == 0o600
        assert mode(path.with_name("old.db-wal")) == 0o600 and mode(path.with_name("old.db-journal")) == 0o600
    finally:
        db.dispose()


def test_write_private_creates_and_narrows(tmp_path: Path) -> None:
    fresh = tmp_path / "out" / "report.yaml"
    write_private(fresh, "電話 090-0000-0000\n")
    assert mode(fresh) == 0o600 and mode(fresh.parent) == 0o700
    old = tmp_path / "old.yaml"
    old.write_text("x" * 100)
    old.chmod(0o644)
    write_private(old, "短い")
    assert mode(old) == 0o600 and old.read_text(encoding="utf-8") == "短い"


def test_harvest_output_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kizuki.cli import app

    monkeypatch.setenv("KIZUKI_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    rt = Runtime()
    rt.db.migrate()
    with rt.db.session() as s:
        post = add_post(s, "1", JA_TEXT)
        s.add(
            Draft(
                post_id=post.id,
                generation=1,
                status="rejected",
                text="返金します",
                original_text="返金します",
                channel="x",
                model="offline",
                prompt_version="draft-v3",
                decision_reason="policy",
            )
        )
    rt.close()
    out = tmp_path / "suites" / "harvested.yaml"
    res = CliRunner().invoke(app, ["eval", "harvest", "--out", str(out)])
    assert res.exit_code == 0, res.stderr
    assert mode(out) == 0o600
    assert "090-1234-5678" not in out.read_text(encoding="utf-8")

"""Migration 0007 on a database that already has tokens, some with names that now count as one."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from kizuki.core.db import Database


def test_existing_tokens_keep_working_and_colliding_names_are_told_apart(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'k.db'}")
    try:
        db.migrate("0006")
        rows = [
            (1, "Ｓａｔｏ", "h1", None),
            (2, "sato ", "h2", None),  # the same name once normalised, also working
            (3, "sato", "h3", "2026-12-01 00:00:00"),  # revoked: may share the name
            (4, "佐藤\u3000花子", "h4", None),
        ]
        with db.session() as s:
            for token_id, name, token_hash, revoked_at in rows:
                s.execute(
                    text(
                        "INSERT INTO api_tokens (id, name, role, token_hash, prefix, created_at, created_by, "
                        "revoked_at) VALUES (:id, :name, 'agent', :h, 'kz_x', '2026-11-01 00:00:00', 't', :r)"
                    ),
                    {"id": token_id, "name": name, "h": token_hash, "r": revoked_at},
                )
        db.migrate()
        with db.reading() as s:
            got = {r[0]: (r[1], r[2]) for r in s.execute(text("SELECT id, name, name_key FROM api_tokens"))}
        assert got == {
            1: ("Sato", "sato"),
            2: ("sato #2", "sato #2"),
            3: ("sato", "sato"),
            4: ("佐藤 花子", "佐藤 花子"),
        }
    finally:
        db.dispose()

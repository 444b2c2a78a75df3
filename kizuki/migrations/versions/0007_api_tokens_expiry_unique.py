"""tokens: expiry, unique names, last use

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 12:30:00.000000

Token names become unique among tokens that are not revoked, compared after normalisation (NFKC,
case-folded, trimmed, inner whitespace collapsed). Existing tokens whose names collide keep working: the
oldest keeps its name, each later one is renamed "<name> #<id>" (visible in `kizuki token list`).
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

import kizuki.core.orm

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("revoked_at IS NULL")
_SPACE = re.compile(r"\s+")


def _display(name: str) -> str:
    # Frozen copy of api.auth.normalise_name's display form (a migration must not change with the code).
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", name)).strip()


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("name_key", sa.String(length=600), nullable=True))
        batch.add_column(sa.Column("revoked_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("expires_at", kizuki.core.orm.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_used_at", kizuki.core.orm.UTCDateTime(timezone=True), nullable=True))

    conn = op.get_bind()
    tokens = sa.table(
        "api_tokens",
        sa.column("id", sa.Integer()),
        sa.column("name", sa.String()),
        sa.column("name_key", sa.String()),
        sa.column("revoked_at", sa.DateTime()),
    )
    taken: set[str] = set()
    rows = conn.execute(sa.select(tokens.c.id, tokens.c.name, tokens.c.revoked_at).order_by(tokens.c.id)).all()
    for token_id, name, revoked_at in rows:
        display = (_display(name) or f"token #{token_id}")[:200]  # NFKC can lengthen a name
        key = display.casefold()
        if revoked_at is None:
            base, suffix = display[:180], 0
            while key in taken:  # "NAME #ID", and "NAME #ID-2" should someone be named that already
                suffix += 1
                display = f"{base} #{token_id}" + (f"-{suffix}" if suffix > 1 else "")
                key = display.casefold()
            taken.add(key)
        conn.execute(sa.update(tokens).where(tokens.c.id == token_id).values(name=display, name_key=key))

    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("name_key", existing_type=sa.String(length=600), nullable=False)
    op.create_index(
        "uq_api_tokens_active_name_key",
        "api_tokens",
        ["name_key"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_api_tokens_active_name_key", table_name="api_tokens")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
        batch.drop_column("revoked_by")
        batch.drop_column("name_key")

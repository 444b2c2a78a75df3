"""console sessions: sign-out ends a session on the server, not only in the browser

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 15:40:00.000000

A console cookie names a row here; signing out sets `ended_at`, so a copied cookie stops working at once.
Cookies issued before this migration name no row and are signed out (their holders sign in again).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kizuki.core.orm

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

WHEN = kizuki.core.orm.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_seen_at", WHEN, nullable=False),
        sa.Column("ended_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_console_sessions_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
    )
    op.create_index("ix_console_sessions_token_id", "console_sessions", ["token_id"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_token_id", table_name="console_sessions")
    op.drop_table("console_sessions")

"""drafts.created_at index (the recent-replies read before every draft)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 08:40:00.000000

Before every draft the pipeline reads the newest 50 pending, approved or sent replies
(`ORDER BY created_at DESC LIMIT 50`). Without this index both databases sort every matching draft.
`python -m benchmarks.recent_replies` at 200,000 drafts: 119 ms on SQLite and 99 ms on PostgreSQL
without it, 0.2 and 0.8 ms with it.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_drafts_created_at", "drafts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_drafts_created_at", table_name="drafts")

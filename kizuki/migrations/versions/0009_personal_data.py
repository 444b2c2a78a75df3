"""personal data at rest: redaction and erasure bookkeeping

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 12:30:00.000000

`posts.redacted_at`: when retention redacted the post's personal data (NULL: not yet). `posts.author_key`: set
at that moment, a keyed hash of (source, handle) that replaces the handle, so that an erasure request still
finds the author's redacted posts without the database keeping the handle.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kizuki.core.orm

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("posts", sa.Column("redacted_at", kizuki.core.orm.UTCDateTime(timezone=True), nullable=True))
    op.add_column("posts", sa.Column("author_key", sa.String(length=64), nullable=True))
    op.create_index("ix_posts_author_key", "posts", ["author_key"])


def downgrade() -> None:
    op.drop_index("ix_posts_author_key", table_name="posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("author_key")
        batch.drop_column("redacted_at")

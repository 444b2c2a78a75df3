"""alerts: surge and fast-spreading-post alerts (reports/alerts.py)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 15:40:00.000000

One row per alert: what was detected (kind, scope, subject, window, count, baseline, score), what explains it
(top terms, sentiment split, redacted example posts), the posts behind it, and each channel's sending state.
`dedupe_key` is unique: two scans of the same hour never store the same alert twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import kizuki.core.orm

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dedupe_key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("window_start", kizuki.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_end", kizuki.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("preset", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("repeat_of", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("explanation", _JSON, nullable=False),
        sa.Column("post_ids", _JSON, nullable=False),
        sa.Column("deliveries", _JSON, nullable=False),
        sa.Column("send_lease_until", kizuki.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("detected_at", kizuki.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kizuki.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_alerts_dedupe_key")),
    )
    op.create_index("ix_alerts_subject_window", "alerts", ["kind", "scope", "subject", "window_start"])
    op.create_index(op.f("ix_alerts_window_start"), "alerts", ["window_start"])
    op.create_index(op.f("ix_alerts_status"), "alerts", ["status"])
    op.create_index(op.f("ix_alerts_detected_at"), "alerts", ["detected_at"])


def downgrade() -> None:
    op.drop_table("alerts")

"""connectors: configuration versions, cursors and status, monthly usage, sent replies

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import kizuki.core.orm

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WHEN = kizuki.core.orm.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "connector_configs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("connectors", JSON, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_configs")),
        sa.UniqueConstraint("version", name=op.f("uq_connector_configs_version")),
    )
    op.create_table(
        "connector_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("cursor", JSON, nullable=False),
        sa.Column("last_run_at", WHEN, nullable=True),
        sa.Column("last_ok_at", WHEN, nullable=True),
        sa.Column("last_fetched", sa.Integer(), nullable=False),
        sa.Column("last_ingested", sa.Integer(), nullable=False),
        sa.Column("last_skipped", sa.Integer(), nullable=False),
        sa.Column("fetched_total", sa.Integer(), nullable=False),
        sa.Column("errors_total", sa.Integer(), nullable=False),
        sa.Column("consecutive_errors", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("paused_until", WHEN, nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_connector_state")),
    )
    op.create_table(
        "connector_usage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("reads", sa.Integer(), nullable=False),
        sa.Column("writes", sa.Integer(), nullable=False),
        sa.Column("usd", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_usage")),
        sa.UniqueConstraint("name", "month", name="uq_connector_usage_name_month"),
    )
    op.create_table(
        "connector_sent",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("sent_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.id"], name=op.f("fk_connector_sent_draft_id_drafts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_sent")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_connector_sent_idempotency_key")),
    )
    op.create_index("ix_connector_sent_draft_id", "connector_sent", ["draft_id"])


def downgrade() -> None:
    op.drop_index("ix_connector_sent_draft_id", table_name="connector_sent")
    op.drop_table("connector_sent")
    op.drop_table("connector_usage")
    op.drop_table("connector_state")
    op.drop_table("connector_configs")

"""indexes for the reports: posts by the time they were written, drafts by the department they escalate to

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 15:40:00.000000

Every report, aggregate and export reads a window of `coalesce(posted_at, received_at)` (the post's time:
written, or received when the network gave no date; `reports.explore.POST_TIME`). Without an index on that
expression each of them reads the whole posts table; with it, only the window. Both SQLite and PostgreSQL use
an index on an expression when the query spells the expression the same way.

`ix_drafts_escalate_to` serves the per-department digest (pending drafts escalated to a department).
`python -m benchmarks.aggregates` prints the aggregate queries' p95 (docs/reports.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_posts_post_time", "posts", [sa.text("coalesce(posted_at, received_at)")])
    op.create_index("ix_drafts_escalate_to", "drafts", ["escalate_to", "status"])


def downgrade() -> None:
    op.drop_index("ix_drafts_escalate_to", table_name="drafts")
    op.drop_index("ix_posts_post_time", table_name="posts")

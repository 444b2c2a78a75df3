"""Tables of the connectors: their configuration (versioned), cursors and status, monthly usage, what was sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuki.core.orm import Base, JSONType, utcnow


class ConnectorConfigSet(Base):
    """A version of the connectors YAML (a list of connector entries, no secrets); the highest is in force."""

    __tablename__ = "connector_configs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    connectors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class ConnectorState(Base):
    """Where a connector is (its cursor, stored only after the posts it covers) and how its runs went."""

    __tablename__ = "connector_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    last_run_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_fetched: Mapped[int] = mapped_column(Integer, default=0)
    last_ingested: Mapped[int] = mapped_column(Integer, default=0)
    last_skipped: Mapped[int] = mapped_column(Integer, default=0)
    fetched_total: Mapped[int] = mapped_column(Integer, default=0)
    errors_total: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    paused_until: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConnectorUsage(Base):
    """Reads and writes of one connector in one calendar month (UTC), and what they cost."""

    __tablename__ = "connector_usage"
    __table_args__ = (UniqueConstraint("name", "month", name="uq_connector_usage_name_month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(32))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    reads: Mapped[int] = mapped_column(Integer, default=0)
    writes: Mapped[int] = mapped_column(Integer, default=0)
    usd: Mapped[float] = mapped_column(Float, default=0.0)


class ConnectorSent(Base):
    """One reply, like or DM a connector sent for a draft: never sent twice under its idempotency key."""

    __tablename__ = "connector_sent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    connector: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(8))
    external_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

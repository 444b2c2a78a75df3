"""Tables of the service layer: API tokens (stored hashed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kizuki.core.orm import Base, utcnow

# A name belongs to one person among the tokens not revoked: the two-person rule tells approvers apart by it.
_ACTIVE = text("revoked_at IS NULL")


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (
        Index("uq_api_tokens_active_name_key", "name_key", unique=True, sqlite_where=_ACTIVE, postgresql_where=_ACTIVE),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    # `name` normalised (NFKC, case-folded, trimmed, inner whitespace collapsed): 「Ｓａｔｏ」 and "sato " are one name.
    name_key: Mapped[str] = mapped_column(String(600))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Written at most once per `auth.LAST_USED_EVERY` per token, not on every request.
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)

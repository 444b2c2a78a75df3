"""Console sessions kept on the server, so that signing out (or an idle or old session) ends a copied cookie too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kizuki.core.orm import Base, utcnow


class ConsoleSessionRow(Base):
    """One signed-in browser: the cookie names it by its nonce (stored hashed), and it ends once `ended_at` is set."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_token_id", "token_id"),)

    # SHA-256 of the cookie's nonce: the table alone cannot be turned back into cookies (they need the HMAC key too).
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(Integer, ForeignKey("api_tokens.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Written at most once per `auth.SEEN_EVERY`, not on every request.
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)

"""Do-not-engage entries: handle matching and expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from agent.intake.donotengage import DoNotEngage, canonical_handle, is_blocked

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def entry(handle: str, expires_at: datetime | None = None) -> DoNotEngage:
    return DoNotEngage(handle=handle, reason="harassment of staff", expires_at=expires_at, added_by="sato")


@pytest.mark.parametrize("asked", ["Troll_42", "@troll_42", "TROLL_42", "＠ＴＲＯＬＬ＿４２", "  @troll_42 "])
def test_handle_compared_case_insensitively_without_at(asked: str) -> None:
    e = entry("@troll_42")
    assert is_blocked(asked, [e], NOW) is e


def test_japanese_handle() -> None:
    e = entry("@星空アンチ")
    assert is_blocked("星空アンチ", [e], NOW) is e
    assert is_blocked("星空ファン", [e], NOW) is None


def test_other_handles_not_blocked() -> None:
    assert is_blocked("troll_43", [entry("troll_42")], NOW) is None
    assert is_blocked("troll_42", [], NOW) is None
    assert is_blocked("@", [entry("troll_42")], NOW) is None


def test_expired_entries_ignored() -> None:
    expired = entry("troll_42", NOW - timedelta(seconds=1))
    at_expiry = entry("troll_42", NOW)
    future = entry("troll_42", NOW + timedelta(days=1))
    assert is_blocked("troll_42", [expired], NOW) is None
    assert is_blocked("troll_42", [at_expiry], NOW) is None
    assert is_blocked("troll_42", [expired, future], NOW) is future


def test_no_expiry_means_forever() -> None:
    assert is_blocked("troll_42", [entry("troll_42")], NOW + timedelta(days=3650)) is not None


def test_naive_datetimes_are_utc() -> None:
    e = entry("troll_42", datetime(2026, 11, 20, 13, 0))
    assert e.expires_at is not None
    assert e.expires_at.tzinfo is not None
    assert is_blocked("troll_42", [e], datetime(2026, 11, 20, 12, 59)) is e
    assert is_blocked("troll_42", [e], datetime(2026, 11, 20, 13, 1)) is None


def test_default_now_is_the_clock() -> None:
    assert is_blocked("troll_42", [entry("troll_42", datetime.now(UTC) + timedelta(hours=1))]) is not None
    assert is_blocked("troll_42", [entry("troll_42", datetime.now(UTC) - timedelta(hours=1))]) is None


def test_blank_handle_refused() -> None:
    with pytest.raises(ValidationError):
        entry("@ ")
    assert canonical_handle(" ＠Ｔａｒｏ ") == "taro"

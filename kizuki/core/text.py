"""Text hygiene shared by every edge: what a stored string may contain, and Unicode normalisation."""

from __future__ import annotations

import unicodedata

# Characters that break storage or display: NUL (PostgreSQL refuses it) and the other C0 controls
# except tab, newline and carriage return.
_FORBIDDEN_CONTROLS = {chr(c) for c in range(0x20)} - {"\t", "\n", "\r"}


def check_storable(value: str, field: str = "text") -> str:
    """Refuse strings that cannot be stored or shown faithfully (lone surrogates, NUL, controls)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{field} is not valid Unicode (lone surrogate at position {exc.start})") from None
    for i, ch in enumerate(value):
        if ch in _FORBIDDEN_CONTROLS:
            raise ValueError(f"{field} contains control character U+{ord(ch):04X} at position {i}")
    return value


def nfkc(value: str) -> str:
    """NFKC: full-width ASCII to half width, half-width kana to full width, compatibility forms folded."""
    return unicodedata.normalize("NFKC", value)

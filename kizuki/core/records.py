"""Reading record files line by line: JSON Lines with line numbers, so a bad row can be named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def jsonl_records(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, object) for each non-blank line, or (line number, reason) for a bad one."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"invalid JSON: {exc.msg} (column {exc.colno})"
            continue
        yield number, value if isinstance(value, dict) else "each line must be a JSON object"

"""Reading posts from JSONL or CSV files: every row validated, bad rows reported with their line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.schemas import PostIn
from kizuki.core.errors import InvalidInput
from kizuki.core.records import jsonl_records

MAX_FILE_BYTES = 100 * 1024 * 1024
CSV_AUTHOR = {
    "handle": "handle",
    "author_handle": "handle",
    "name": "name",
    "author_name": "name",
    "followers": "followers",
    "author_followers": "followers",
}
CSV_METRICS = ("likes", "reposts", "replies")


@dataclass
class PostRow:
    line: int
    post: PostIn | None
    error: str | None


def _explain(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors())


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    line = 2
    try:
        for row in reader:
            if None in row:
                yield line, "row has more fields than the header"
            else:
                record: dict[str, Any] = {"author": {}, "metrics": {}}
                for key, value in row.items():
                    if value is None or value == "":
                        continue
                    if key in CSV_AUTHOR:
                        record["author"][CSV_AUTHOR[key]] = value
                    elif key in CSV_METRICS:
                        record["metrics"][key] = value
                    else:
                        record[key] = value
                yield line, record
            line = reader.line_num + 1
    except csv.Error as exc:
        yield line, f"malformed CSV: {exc}"


def read_posts(path: Path) -> list[PostRow]:
    """Every row of a posts file, valid or not (a bad row never stops the good ones)."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("jsonl", "ndjson", "csv"):
        raise InvalidInput(f"{path}: unknown format {suffix!r}; use .jsonl or .csv")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidInput(f"{path}: {len(raw)} bytes; the limit is {MAX_FILE_BYTES}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInput(f"{path}: line {line}: not UTF-8 (byte offset {exc.start})") from None
    records = _csv_records(text) if suffix == "csv" else jsonl_records(text)
    rows: list[PostRow] = []
    for line, record in records:
        if isinstance(record, str):
            rows.append(PostRow(line, None, record))
            continue
        try:
            rows.append(PostRow(line, PostIn.model_validate(record), None))
        except ValidationError as exc:
            rows.append(PostRow(line, None, _explain(exc)))
    return rows

"""Knowledge import and export in JSONL and CSV: all-or-nothing, idempotent on `key`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from kizuki.core.errors import InvalidInput
from kizuki.core.records import jsonl_records
from knowledge.models import KnowledgeEntry
from knowledge.repository import snapshot, upsert_from_import
from knowledge.schemas import EntryCreate

MAX_IMPORT_BYTES = 50 * 1024 * 1024
CSV_COLUMNS = ["key", "kind", "title", "body", "lang", "tags", "status"]
TAG_SEPARATOR = "|"


class ImportFileError(InvalidInput):
    """A file that cannot be imported; `problems` lists every bad row as (line, message)."""

    def __init__(self, path: str, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        shown = "; ".join(f"line {line}: {msg}" for line, msg in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__(f"{path}: nothing imported. {shown}{more}", extra={"problems": problems})


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    keys: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def _format_of(path: Path, fmt: str | None) -> str:
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if fmt == "csv":
        return "csv"
    raise InvalidInput(f"{path}: unknown format {fmt!r}; use a .jsonl or .csv file (or --format)")


def decode(raw: bytes, name: str) -> str:
    if len(raw) > MAX_IMPORT_BYTES:
        raise InvalidInput(f"{name}: {len(raw)} bytes; the import limit is {MAX_IMPORT_BYTES}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            name, [(line, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})")]
        ) from None


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        yield 1, f"malformed CSV header: {exc}"
        return
    if not header:
        yield 1, "empty CSV file (no header row)"
        return
    missing = [c for c in ("key", "kind", "title", "body", "lang") if c not in header]
    if missing:
        yield 1, f"CSV header lacks column(s) {', '.join(missing)}"
        return
    start = 2
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, f"malformed CSV: {exc}"
            return
        if None in row:
            yield start, f"row has {len(header) + len(row[None])} fields; the header has {len(header)}"
        elif any(v is None for v in row.values()):
            yield start, f"row has fewer fields than the header's {len(header)}"
        else:
            record: dict[str, Any] = {k: v for k, v in row.items() if v != "" or k in CSV_COLUMNS}
            tags = record.get("tags") or ""
            record["tags"] = [t for t in (s.strip() for s in tags.split(TAG_SEPARATOR)) if t]
            if not record.get("status"):
                record.pop("status", None)
            yield start, record
        start = reader.line_num + 1


def parse(text: str, fmt: str, name: str) -> list[EntryCreate]:
    """Validate every row; raise one error listing every bad line, or return all entries."""
    rows = jsonl_records(text) if fmt == "jsonl" else _csv_rows(text)
    problems: list[tuple[int, str]] = []
    entries: list[EntryCreate] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        if isinstance(row, str):
            problems.append((line, row))
            continue
        try:
            entry = EntryCreate.model_validate(row)
            entry.extras()
        except (ValidationError, ValueError) as exc:
            problems.append((line, _explain(exc)))
            continue
        if entry.key in seen:
            problems.append((line, f"key {entry.key!r} appears again (first on line {seen[entry.key]})"))
            continue
        seen[entry.key] = line
        entries.append(entry)
    if problems:
        raise ImportFileError(name, problems)
    return entries


def _explain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "row"
            parts.append(f"{loc}: {err['msg']}")
        return "; ".join(parts)
    return str(exc)


def read_file(path: Path, fmt: str | None = None) -> list[EntryCreate]:
    kind = _format_of(path, fmt)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})") from None
    return parse(decode(raw, str(path)), kind, str(path))


def import_entries(session: Session, entries: Iterable[EntryCreate], *, actor: str) -> ImportReport:
    report = ImportReport()
    for entry in entries:
        outcome = upsert_from_import(session, entry, actor=actor)
        setattr(report, outcome, getattr(report, outcome) + 1)
        report.keys.append(entry.key)
    return report


def _export_record(entry: KnowledgeEntry) -> dict[str, Any]:
    record = snapshot(entry)
    record.pop("revision")
    for k, v in record.pop("extra").items():
        record.setdefault(k, v)
    return record


def export(entries: Iterable[KnowledgeEntry], path: Path, fmt: str | None = None) -> int:
    kind = _format_of(path, fmt)
    records = [_export_record(e) for e in entries]
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    else:
        extra_cols = sorted({k for r in records for k in r} - set(CSV_COLUMNS))
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS + extra_cols)
            writer.writeheader()
            for r in records:
                row = {k: v for k, v in r.items()}
                row["tags"] = TAG_SEPARATOR.join(r["tags"])
                for col in extra_cols:
                    if not isinstance(row.get(col), str) and row.get(col) is not None:
                        row[col] = json.dumps(row[col], ensure_ascii=False)
                writer.writerow(row)
    return len(records)

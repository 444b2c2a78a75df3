"""`kizuki` commands: the daily report, exports of posts, the per-department digest.

`kizuki report daily [--date D] [--lang ja|en] --out DIR [--mail]`, `kizuki export posts [filters] --format csv|jsonl
--out FILE`, `kizuki departments digest [--since] [--until] [--json]`.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from kizuki.commands.output import err_console, fail

if TYPE_CHECKING:
    from kizuki.runtime import Runtime

_out = Console(soft_wrap=True)

report_app = typer.Typer(help="Reports: the daily report (日報).", no_args_is_help=True)
export_app = typer.Typer(help="Exports: posts as CSV or JSONL.", no_args_is_help=True)
departments_app = typer.Typer(help="Departments: what each one should see.", no_args_is_help=True)


def _runtime() -> Runtime:
    from kizuki.core.errors import KizukiError
    from kizuki.core.settings import settings_problems
    from kizuki.runtime import Runtime

    try:
        rt = Runtime()
    except ValidationError as exc:
        fail(settings_problems(exc))
    except KizukiError as exc:
        fail(exc.detail)
    rt.db.migrate()
    return rt


@report_app.command("daily")
def report_daily(
    out: Annotated[Path, typer.Option("--out", help="Directory for daily-DATE-LANG.html, .md and .csv")],
    day: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD, a day in KIZUKI_REPORT_TIMEZONE (default yesterday)")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="ja or en")] = "ja",
    mail: Annotated[
        bool, typer.Option("--mail", help="Also mail it (KIZUKI_SMTP_*; to --to or KIZUKI_SMTP_TO)")
    ] = False,
    to: Annotated[list[str] | None, typer.Option("--to", help="A recipient (repeat for several)")] = None,
    with_personal_data: Annotated[
        bool, typer.Option("--with-personal-data", help="Example posts unredacted (handles, names, texts)")
    ] = False,
) -> None:
    """Write the daily report of one local day as HTML (with charts), Markdown and CSV; optionally mail it."""
    from kizuki.core.errors import KizukiError
    from kizuki.core.orm import utcnow
    from reports.daily import build_daily, mail_daily, render, report_zone

    if lang not in ("ja", "en"):
        fail("--lang must be ja or en")
    rt = _runtime()
    try:
        tz = report_zone(rt.settings)
        try:
            wanted = date.fromisoformat(day) if day else (utcnow().astimezone(tz) - timedelta(days=1)).date()
        except ValueError:
            fail(f"--date {day!r}: write YYYY-MM-DD")
        redactor = None if with_personal_data else rt.redactor()
        with rt.db.reading() as s:
            _, profile = rt.org.current(s)
            report = build_daily(
                s,
                day=wanted,
                tz=tz,
                dialect=rt.db.dialect,
                profile=profile,
                redactor=redactor,
                lang=lang,  # type: ignore[arg-type]
            )
        out.mkdir(parents=True, exist_ok=True)
        for fmt in ("html", "md", "csv"):
            path = out / f"daily-{wanted.isoformat()}-{lang}.{fmt}"
            path.write_text(render(report, fmt), encoding="utf-8")
            _out.print(str(path), highlight=False)
        if mail:
            message_id = mail_daily(rt.settings, report, list(to) if to else None)
            err_console.print(f"mailed ({message_id})", highlight=False)
    except KizukiError as exc:
        fail(exc.detail)
    finally:
        rt.close()


def _filter(**values: Any) -> Any:
    """A `PostFilter`; dates written without a zone are in KIZUKI_REPORT_TIMEZONE (the reports' days)."""
    from kizuki.core.errors import KizukiError
    from kizuki.core.settings import get_settings
    from reports.daily import report_zone
    from reports.explore import PostFilter, filter_problem

    try:
        tz = report_zone(get_settings())
    except (KizukiError, ValidationError) as exc:
        fail(exc.detail if isinstance(exc, KizukiError) else filter_problem(exc))
    for key in ("since", "until"):
        value = values.get(key)
        if isinstance(value, datetime) and value.tzinfo is None:
            values[key] = value.replace(tzinfo=tz)
    try:
        return PostFilter(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        fail(filter_problem(exc))


@export_app.command("posts")
def export_posts(
    out: Annotated[Path, typer.Option("--out", help="The file to write ('-' for standard output)")],
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            help="From: 2026-11-24 or ISO 8601; no zone = KIZUKI_REPORT_TIMEZONE (default 30 days before --until)",
        ),
    ] = None,
    until: Annotated[datetime | None, typer.Option("--until", help="To, exclusive (default now)")] = None,
    source: Annotated[str | None, typer.Option("--source")] = None,
    lang: Annotated[str | None, typer.Option("--lang")] = None,
    sentiment: Annotated[str | None, typer.Option("--sentiment", help="positive, neutral or negative")] = None,
    intent: Annotated[str | None, typer.Option("--intent")] = None,
    product: Annotated[str | None, typer.Option("--product")] = None,
    topic: Annotated[str | None, typer.Option("--topic")] = None,
    competitor: Annotated[str | None, typer.Option("--competitor")] = None,
    department: Annotated[str | None, typer.Option("--department")] = None,
    kept: Annotated[bool | None, typer.Option("--kept/--dropped", help="Only kept, or only dropped, posts")] = None,
    has_draft: Annotated[bool | None, typer.Option("--has-draft/--no-draft")] = None,
    draft_status: Annotated[str | None, typer.Option("--draft-status")] = None,
    with_personal_data: Annotated[
        bool, typer.Option("--with-personal-data", help="Keep handles, names, URLs and texts as stored")
    ] = False,
) -> None:
    """Export the matching posts, newest first (streamed; redacted unless --with-personal-data)."""
    from kizuki.core.errors import KizukiError
    from reports.explore import RowContext, export_lines, filtered, iter_rows

    if fmt not in ("csv", "jsonl"):
        fail("--format must be csv or jsonl")
    flt = _filter(
        since=since,
        until=until,
        source=source,
        lang=lang,
        sentiment=sentiment,
        intent=intent,
        product=product,
        topic=topic,
        competitor=competitor,
        department=department,
        kept=kept,
        has_draft=has_draft,
        draft_status=draft_status,
    )
    rt = _runtime()
    try:
        with rt.db.reading() as s:
            _, profile = rt.org.current(s)
        filtered(flt, rt.db.dialect, profile=profile)  # an unknown product or department fails before the file opens
        ctx = RowContext(profile, None if with_personal_data else rt.redactor())
        n = 0
        stream = sys.stdout if str(out) == "-" else out.open("w", encoding="utf-8", newline="")
        try:
            for line in export_lines(iter_rows(rt.db, flt, ctx), fmt):  # type: ignore[arg-type]
                stream.write(line)
                n += 1
        finally:
            if stream is not sys.stdout:
                stream.close()
        rows = n - 1 if fmt == "csv" else n
        err_console.print(f"{rows} posts written to {out}", highlight=False)
    except KizukiError as exc:
        fail(exc.detail)
    finally:
        rt.close()


@departments_app.command("digest")
def departments_digest(
    since: Annotated[datetime | None, typer.Option("--since", help="From (default 7 days before --until)")] = None,
    until: Annotated[datetime | None, typer.Option("--until", help="To, exclusive (default now)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Per department: its posts (routing: docs/reports.md), negatives, pending escalations, top topics, examples."""
    from kizuki.core.errors import KizukiError
    from kizuki.core.orm import utcnow
    from reports.departments import digest

    end = until or utcnow()
    flt = _filter(since=since or end - timedelta(days=7), until=end)
    rt = _runtime()
    try:
        s_, u_ = flt.window()
        with rt.db.reading() as s:
            _, profile = rt.org.current(s)
            rows = digest(s, dialect=rt.db.dialect, profile=profile, since=s_, until=u_, redactor=rt.redactor())
    except KizukiError as exc:
        fail(exc.detail)
    finally:
        rt.close()
    if as_json:
        sys.stdout.write(
            json.dumps(
                {"since": s_.isoformat(), "until": u_.isoformat(), "items": [d.as_dict() for d in rows]},
                ensure_ascii=False,
            )
            + "\n"
        )
        return
    _out.print(f"{s_:%Y-%m-%d %H:%M} – {u_:%Y-%m-%d %H:%M} UTC", highlight=False)
    for d in rows:
        topics = ", ".join(f"{t['topic']} {t['count']}" for t in d.as_dict()["top_topics"]) or "-"
        _out.print(
            f"[bold]{d.department}[/]: {d.posts} posts, {d.negative} negative, {d.escalated_pending} escalated "
            f"pending; topics: {topics}",
            highlight=False,
        )
        for ex in d.examples:
            _out.print(f"  #{ex['id']} {ex['text'][:100]}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `kizuki` app."""
    app.add_typer(report_app, name="report")
    app.add_typer(export_app, name="export")
    app.add_typer(departments_app, name="departments")

"""`kizuki` commands: alerts (list surge and spreading-post alerts, scan now, send a test alert)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from kizuki.core.errors import KizukiError
from kizuki.runtime import Runtime

HELP = """Surge and risk alerts: volume or negative volume of the brand, a product or a term well above its
recent baseline and the same hour a day and a week before, and single posts spreading fast.

\b
  kizuki alerts                 # about, or raised in, the last 7 days
  kizuki alerts --since 2026-11-20 --json
  kizuki alerts scan            # look now (the worker does, every 10 min)
  kizuki alerts test-send       # a sample alert through webhook and mail

Method and settings: docs/alerts.md.
"""

_err = Console(stderr=True, soft_wrap=True)
_out = Console(soft_wrap=True)


def _fail(message: str, code: int = 2) -> NoReturn:
    _err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str) + "\n")


@contextmanager
def _runtime() -> Iterator[Runtime]:
    try:
        rt = Runtime()
    except ValidationError as exc:
        from kizuki.core.settings import settings_problems

        _fail(settings_problems(exc))
    try:
        rt.db.migrate()
        yield rt
    except KizukiError as exc:
        _fail(exc.detail)
    finally:
        rt.close()


def _parse_when(value: str | None, default: datetime) -> datetime:
    if value is None:
        return default
    text = value.strip()
    try:
        if text.endswith(("h", "d")) and text[:-1].isdigit():
            amount = int(text[:-1])
            return datetime.now(UTC) - (timedelta(hours=amount) if text.endswith("h") else timedelta(days=amount))
        when = datetime.fromisoformat(text)
    except ValueError:
        _fail(f"--since {value!r}: give a date (2026-11-20), a time (2026-11-20T09:00+09:00) or an age (24h, 7d)")
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def alerts_callback(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Alerts about posts from, or raised since: a date, time or age (24h, 7d); default 7d"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object an alert")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Also repeats suppressed by the cool-down")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
) -> None:
    """List alerts, newest window first."""
    if ctx.invoked_subcommand is not None:
        return
    from reports.alerts import AlertPublic, list_alerts

    start = _parse_when(since, datetime.now(UTC) - timedelta(days=7))
    with _runtime() as rt, rt.db.reading() as s:
        rows = [
            AlertPublic.of(a)
            for a in list_alerts(s, since=start, limit=limit, include_suppressed=show_all, raised_since_too=True)
        ]
    if as_json:
        for a in rows:
            _print_json(a.model_dump(mode="json"))
        return
    if not rows:
        _out.print(f"no alerts since {start:%Y-%m-%d %H:%M} UTC")
        return
    for a in rows:
        terms = ", ".join(str(t["term"]) for t in a.explanation.get("top_terms") or [])
        _out.print(f"#{a.id} [{a.status}] {a.title}" + (f"  terms: {terms}" if terms else ""), highlight=False)


def scan_command(
    since: Annotated[
        str | None,
        typer.Option("--since", help="Look at the hours of posts received since (date, time or age); default 7d"),
    ] = None,
    sensitivity: Annotated[
        str | None, typer.Option(help="3sigma, 4sigma or 5sigma (default KIZUKI_ALERTS_SENSITIVITY)")
    ] = None,
    send: Annotated[bool, typer.Option("--send/--no-send", help="Send what is due afterwards")] = True,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Scan for surges and fast-spreading posts now, store new alerts, and send what is due."""
    from reports.alerts import scan, send_pending
    from reports.surge import PRESETS

    if sensitivity is not None and sensitivity not in PRESETS:
        _fail(f"--sensitivity must be one of {', '.join(PRESETS)}")
    start = _parse_when(since, datetime.now(UTC) - timedelta(days=7))
    with _runtime() as rt:
        report = scan(rt, since=start, preset=PRESETS[sensitivity] if sensitivity else None, actor="cli")
        sent = send_pending(rt.db, rt.settings) if send else None
    out = report.as_dict()
    if sent is not None:
        out |= {"sent": sent.sent, "failed": sent.failed, "retrying": sent.retrying}
    if as_json:
        _print_json(out)
        return
    _out.print(
        f"looked at {report.buckets} hour(s) ({report.posts} posts): {len(report.raised)} new alert(s), "
        f"{len(report.suppressed)} repeat(s) in cool-down, {report.duplicates} already known"
        + (f"; sent {len(sent.sent)}, failed {len(sent.failed)}, retrying {len(sent.retrying)}" if sent else "")
    )


def test_send_command() -> None:
    """Send a sample alert (no customer data) through the configured webhook and mail."""
    from reports.alerts import send_test

    with _runtime() as rt:
        results = send_test(rt.settings)
    if not results:
        _fail("no channel is configured: set KIZUKI_ALERTS_WEBHOOK_URL and/or KIZUKI_SMTP_HOST with recipients")
    for channel, result in results.items():
        _out.print(f"{channel}: {result}", highlight=False)
    if any(r != "sent" for r in results.values()):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `kizuki` app."""
    alerts_app = typer.Typer(help=HELP, invoke_without_command=True, rich_markup_mode=None)
    alerts_app.callback()(alerts_callback)
    alerts_app.command("scan")(scan_command)
    alerts_app.command("test-send")(test_send_command)
    app.add_typer(alerts_app, name="alerts")

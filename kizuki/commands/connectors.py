"""`kizuki` commands: connectors (`connectors set|show|status`) and `listen [--once]`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from kizuki.core.errors import KizukiError
from kizuki.runtime import Runtime

connectors_app = typer.Typer(
    help="Network connectors: where posts come from and replies go (YAML list; each `set` is a new version).",
    no_args_is_help=True,
)


def _actor() -> str:
    return os.environ.get("KIZUKI_ACTOR") or f"cli:{os.environ.get('USER', 'operator')}"


def _fail(message: str, code: int = 2) -> None:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


def _runtime() -> Runtime:
    try:
        rt = Runtime()
    except ValidationError as exc:
        from kizuki.core.settings import settings_problems

        _fail(settings_problems(exc))
        raise
    except KizukiError as exc:
        _fail(exc.detail)
        raise
    rt.db.migrate()
    return rt


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str) + "\n")


def connectors_set(
    file: Annotated[Path, typer.Argument(help="YAML list: name, kind, base_url, options, interval_s, budget")],
    note: Annotated[str | None, typer.Option(help="Why it changed (kept with the version)")] = None,
) -> None:
    """Store a new version of the connectors from a YAML file (secrets are refused: use settings)."""
    from delivery.connectors import service

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}")
        return
    rt = _runtime()
    try:
        configs = service.parse_connectors_yaml(text, str(file))
        with rt.db.session() as s:
            row = service.save(
                s, [c.model_dump(mode="json") for c in configs], edited_version=None, actor=_actor(), note=note
            )
            version = row.version
    except KizukiError as exc:
        _fail(exc.detail)
        return
    finally:
        rt.close()
    enabled = sum(c.enabled for c in configs)
    sys.stdout.write(f"connectors v{version}: {len(configs)} connector(s), {enabled} enabled\n")


def connectors_show(as_json: Annotated[bool, typer.Option("--json", help="JSON instead of YAML")] = False) -> None:
    """The connectors in force, as YAML (what `connectors set` takes)."""
    from delivery.connectors import service
    from kizuki.core.yamlfile import dump_yaml

    rt = _runtime()
    try:
        with rt.db.reading() as s:
            version, configs = service.current(s)
    finally:
        rt.close()
    data = [c.model_dump(mode="json") for c in configs]
    if as_json:
        _print_json({"version": version, "connectors": data})
        return
    header = f"# connectors v{version}" if version else "# no connectors set (kizuki connectors set FILE)"
    sys.stdout.write(header + "\n" + (dump_yaml(data) if data else "[]\n"))


def connectors_status(as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False) -> None:
    """Each connector's last run, posts fetched, errors and the month's budget."""
    from delivery.connectors import service

    rt = _runtime()
    try:
        with rt.db.reading() as s:
            rows = service.statuses(s)
    finally:
        rt.close()
    if as_json:
        for row in rows:
            _print_json(row.model_dump(mode="json"))
        return
    if not rows:
        sys.stdout.write("no connectors set (kizuki connectors set FILE)\n")
    for row in rows:
        b = row.budget
        left = "no cap" if b.reads_left is None else f"{b.reads_left} reads left"
        money = f", ${b.usd:.3f} spent" + (f" of ${b.monthly_usd:g}" if b.monthly_usd is not None else "")
        sys.stdout.write(
            f"{row.name} ({row.kind}{'' if row.enabled else ', disabled'}): last run "
            f"{row.last_run_at.isoformat() if row.last_run_at else 'never'}, fetched {row.last_fetched} "
            f"(total {row.fetched_total}), errors {row.errors_total}"
            f"{' — ' + row.last_error if row.last_error else ''}; budget {b.month}: {left}{money}\n"
        )


def listen(
    once: Annotated[
        bool, typer.Option("--once", help="Poll every enabled connector once, draft, deliver, exit")
    ] = False,
    connector: Annotated[list[str] | None, typer.Option("--connector", "-c", help="Only these (repeatable)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a connector")] = False,
) -> None:
    """Poll the enabled connectors into the pipeline (and send approved replies back through them).

    With --once: queue approved replies to connector posts, poll each connector once, then draft what came in
    and deliver what is due, and exit (1 when a connector failed). Without: run the connectors on their intervals
    with the drafting and delivery jobs until stopped (Ctrl-C)."""
    from delivery.connectors import service
    from kizuki.core.jobs import JobKind
    from kizuki.core.orm import utcnow
    from kizuki.core.worker import Worker

    rt = _runtime()
    try:
        if not once:
            with rt.db.session() as s:
                _, configs = service.current(s)
                for config in configs:
                    if config.enabled:
                        service.schedule(s, config, now=utcnow())
            if not any(c.enabled for c in configs):
                _fail("no enabled connectors (kizuki connectors set FILE)", 1)
            worker = Worker(
                rt,
                kinds=(JobKind.LISTEN, JobKind.DRAFT, JobKind.DELIVER),
                concurrency=rt.settings.worker_concurrency,
            )
            asyncio.run(worker.run_until_signalled())
            return
        service.queue_deliveries(rt.db, rt.settings)
        try:
            reports = asyncio.run(service.listen_once(rt, connector or None))
        except KizukiError as exc:
            _fail(exc.detail)
            return
        worker = Worker(rt, kinds=(JobKind.DRAFT, JobKind.DELIVER), concurrency=rt.settings.worker_concurrency)
        asyncio.run(worker.drain())
    finally:
        rt.close()
    for report in reports:
        if as_json:
            _print_json(report.model_dump(mode="json"))
        else:
            line = (
                f"{report.name}: {report.status}, fetched {report.fetched}, new {report.ingested}, "
                f"duplicates {report.duplicates}, dropped {report.dropped}, skipped {report.skipped}"
            )
            sys.stdout.write(line + (f" — {report.error}" if report.error else "") + "\n")
    if any(r.status == "error" for r in reports):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `kizuki` app."""
    connectors_app.command("set")(connectors_set)
    connectors_app.command("show")(connectors_show)
    connectors_app.command("status")(connectors_status)
    app.add_typer(connectors_app, name="connectors")
    app.command("listen")(listen)

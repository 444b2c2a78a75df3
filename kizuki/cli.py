"""The `kizuki` command line: service, knowledge, checks, benchmarks."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kizuki.commands.output import err_console, fail, print_json
from kizuki.core.errors import KizukiError
from kizuki.core.settings import get_settings
from kizuki.runtime import Runtime

app = typer.Typer(help="Kizuki: find, draft and check replies to customers' posts.", no_args_is_help=True)
kb_app = typer.Typer(help="Knowledge: import, export, search, reindex.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (numbers, not tests).", no_args_is_help=True)
posts_app = typer.Typer(help="Posts: ingest through the whole pipeline.", no_args_is_help=True)
drafts_app = typer.Typer(help="Drafts: the review queue.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
org_app = typer.Typer(
    help='The organisation profile: who "we" are in every reply (YAML; each `set` is a new version).',
    no_args_is_help=True,
)
watch_app = typer.Typer(
    help="Watch rules: which posts are about you and which are noise (YAML; each `set` is a new version).",
    no_args_is_help=True,
)
dne_app = typer.Typer(help="Do-not-engage: authors we record but never draft replies to.", no_args_is_help=True)
privacy_app = typer.Typer(
    help="Personal data at rest: retention (redact old posts) and erasure of one author's data.", no_args_is_help=True
)
app.add_typer(kb_app, name="kb")
app.add_typer(bench_app, name="bench")
app.add_typer(posts_app, name="posts")
app.add_typer(drafts_app, name="drafts")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.add_typer(org_app, name="org")
app.add_typer(watch_app, name="watch")
app.add_typer(dne_app, name="dne")
app.add_typer(privacy_app, name="privacy")


def _register_evals() -> None:
    from evals.cli import eval_app

    app.add_typer(eval_app, name="eval")


_register_evals()


def _register_commands() -> None:
    from kizuki.commands import alerts, connectors, explore, triage

    for module in (triage, connectors, explore, alerts):
        module.register(app)


_register_commands()

console = Console(soft_wrap=True)
CLI_ACTOR = os.environ.get("KIZUKI_ACTOR") or f"cli:{os.environ.get('USER', 'operator')}"


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn expected failures into one clear line and a non-zero exit, never a traceback."""
    try:
        yield
    except KizukiError as exc:
        fail(exc.detail)


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def runtime() -> Runtime:
    try:
        with domain_errors():  # e.g. an audit key that cannot be used: one clear line, exit 2
            rt = Runtime()
    except ValidationError as exc:  # settings that do not work (together): one clear line, exit 2
        from kizuki.core.settings import settings_problems

        fail(settings_problems(exc))
    rt.db.migrate()
    return rt


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    rt = Runtime()
    rt.db.migrate()
    console.print(f"database at head ({rt.db.dialect})")


def load_demo(rt: Runtime) -> None:
    """The demo company (profile, watch rules, rules, knowledge, posts), into an empty database only."""
    from agent.postfile import read_posts
    from agent.posts.repository import count_posts
    from kizuki.seed import demo, load_company

    company = demo()
    with rt.db.reading() as s:
        has_posts = count_posts(s) > 0
    if has_posts or rt.knowledge.count() > 0:
        return  # not an empty database: the demo is never loaded over someone's data
    if rt.settings.effective_rules_file is None:
        local_rules = rt.settings.home / "rules.yaml"
        # The demo company's own contacts and competitors, as an organisation would configure them.
        local_rules.write_text(company.rules_file.read_text(encoding="utf-8"), encoding="utf-8")
        console.print(f"wrote the demo organisation's rules to {local_rules}")
    with progress_bar("indexing demo knowledge") as update:
        report = load_company(rt, company, actor="demo", progress=update)
    console.print(
        f"loaded the demo company: profile v{report.profile_version}, watch rules v{report.watch_rules_version}, "
        f"{report.knowledge_created} knowledge entries"
    )
    posts = [r.post for r in read_posts(company.posts_file) if r.post is not None]
    with console.status(f"drafting replies to {len(posts)} demo posts"):
        outcomes = rt.pipeline.ingest(posts, actor="demo")
    drafted = sum(o.outcome == "drafted" for o in outcomes)
    console.print(f"ingested {len(posts)} demo posts: {drafted} drafted, the rest dropped or held")


def bootstrap_token(rt: Runtime) -> None:
    """On a database that never had a token, make an admin token and show it once.

    Once tokens exist it makes none, even when all are revoked (a new secret would be printed to
    whoever reads the console); it says how to make one instead."""
    from api.auth import count_admins, count_tokens, create_token

    with rt.db.session() as s:
        if count_tokens(s, active_only=False):
            if not count_admins(s):
                err_console.print("no admin token works; make one with: kizuki token create --name N --role admin")
            return
        _, secret = create_token(s, name="bootstrap-admin", role="admin", actor="kizuki up")
    console.print(
        "[bold]First start: an admin token was created (shown once; only its hash is kept):[/]\n"
        f"  {secret}\n  use it as 'Authorization: Bearer <token>' (the Authorize button in /docs)",
        highlight=False,
    )


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    no_demo: Annotated[bool, typer.Option("--no-demo", help="Do not load the demo data")] = False,
) -> None:
    """Migrate, load the demo data into an empty database, and serve the API (docs at /docs)."""
    rt = runtime()
    with domain_errors():
        from kizuki.core import audit

        key_file = audit.first_start_key(rt.db.engine, rt.settings)
        if key_file is not None:
            console.print(f"wrote a new audit key to {key_file}: keep a copy off this machine (see README)")
        if not no_demo:
            load_demo(rt)
        with progress_bar("checking the knowledge index") as update:
            rt.knowledge.ensure_fresh(progress=update)
        bootstrap_token(rt)
    _serve(rt, host, port, worker=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Run no in-process worker")] = False,
) -> None:
    """Serve the API (migrating first), with an in-process worker unless told otherwise."""
    _serve(runtime(), host, port, worker=not no_worker)


def _serve(rt: Runtime, host: str, port: int, *, worker: bool) -> None:
    import uvicorn

    from api.app import create_app
    from kizuki.core.worker import run_in_thread

    label = " (offline: deterministic drafts, no LLM)" if rt.settings.model == "offline" else ""
    console.print(
        f"Kizuki on http://{host}:{port}  (docs: /docs)  database={rt.db.dialect} "
        f"model={rt.settings.model}{label} embeddings={rt.settings.embedding_model}",
        highlight=False,
    )
    _schedule_retention(rt)  # the API process queues the daily run; any worker (in-process or not) runs it
    _schedule_reports(rt)
    thread, stop = None, None
    if worker:
        import signal

        thread, stop = run_in_thread(rt, concurrency=rt.settings.worker_concurrency)
        for sig in (signal.SIGTERM, signal.SIGINT):  # uvicorn re-raises the signal it stopped on: stop the worker
            signal.signal(sig, lambda *_: stop.set())
    try:
        uvicorn.run(create_app(rt, warm=True), host=host, port=port, log_level="info")
    finally:
        if thread is not None and stop is not None:
            stop.set()  # running jobs get KIZUKI_WORKER_GRACE_S, then go back to the queue
            thread.join(timeout=rt.settings.worker_grace_s + 10)


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(help="Jobs in flight at once")] = None,
) -> None:
    """Claim and run drafting and delivery jobs until stopped (run several on PostgreSQL)."""
    import asyncio

    from kizuki.core.worker import Worker

    rt = runtime()
    w = Worker(rt, concurrency=concurrency or rt.settings.worker_concurrency)
    console.print(
        f"worker {w.worker_id} on {rt.db.dialect}; Ctrl-C or SIGTERM stops it (running jobs get "
        f"{w.grace_s:g} s, KIZUKI_WORKER_GRACE_S, then go back to the queue; a second signal at once)",
        highlight=False,
    )
    runner = asyncio.Runner()
    runner.run(w.run_until_signalled())
    console.print(f"stopped after {w.processed} jobs; {w.released} given back to the queue", highlight=False)
    # Every job is finished or given back. A cancelled job's thread may still be busy (loading a model, say);
    # its writes are fenced by the lease, so do not wait for it: leave as a crash would, at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# -- knowledge ---------------------------------------------------------------------------------
@kb_app.command("import")
def kb_import(
    file: Annotated[Path, typer.Argument(help="JSONL or CSV file of entries")],
    fmt: Annotated[str | None, typer.Option("--format", help="jsonl or csv (default: from the suffix)")] = None,
) -> None:
    """Import entries, idempotent on `key`; one bad row and nothing from the file is imported."""
    rt = runtime()
    with domain_errors():
        report = rt.knowledge.import_file(file, actor=CLI_ACTOR, fmt=fmt)
    console.print(f"{file}: {report.created} created, {report.updated} updated, {report.unchanged} unchanged")


@kb_app.command("export")
def kb_export(
    file: Annotated[Path, typer.Argument(help="Destination .jsonl or .csv")],
    fmt: Annotated[str | None, typer.Option("--format", help="jsonl or csv (default: from the suffix)")] = None,
    status: Annotated[str | None, typer.Option(help="Only entries with this status")] = None,
) -> None:
    """Export every entry (or those with one status)."""
    rt = runtime()
    with domain_errors():
        n = rt.knowledge.export_file(file, fmt=fmt, status=status)
    console.print(f"wrote {n} entries to {file}")


@kb_app.command("search")
def kb_search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    k: Annotated[int, typer.Option("-k", help="How many results")] = 5,
    kind: Annotated[str | None, typer.Option(help="faq or policy")] = None,
    lang: Annotated[str | None, typer.Option(help="ja or en")] = None,
    tag: Annotated[str | None, typer.Option(help="Only entries with this tag")] = None,
    drafts: Annotated[bool, typer.Option("--drafts", help="Include draft entries")] = False,
    mode: Annotated[str, typer.Option(help="hybrid, dense or lexical")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Ranked entries with their scores and the passage that matched."""
    from pydantic import ValidationError

    from knowledge.schemas import SearchRequest

    rt = runtime()
    try:
        req = SearchRequest.model_validate(
            {
                "query": query,
                "k": k,
                "kind": kind,
                "lang": lang,
                "tag": tag,
                "include_drafts": drafts,
                "mode": mode,
            }
        )
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        return
    with domain_errors():
        res = rt.knowledge.search(req)
    if as_json:
        print(res.model_dump_json(indent=None))
        return
    table = Table(title=f"kb search: {query}")
    for col in ("#", "key", "rev", "score", "title", "passage"):
        table.add_column(col)
    for i, h in enumerate(res.hits, 1):
        table.add_row(str(i), h.key, str(h.revision), f"{h.score:.3f}", h.title[:40], h.passage[:60])
    console.print(table)


@kb_app.command("reindex")
def kb_reindex() -> None:
    """Rebuild the search index from the database (unchanged texts come from the embedding cache)."""
    rt = runtime()
    with domain_errors(), progress_bar("reindexing") as update:
        report = rt.knowledge.reindex(progress=update)
    console.print(f"indexed {report.total} entries")


# -- benchmarks ---------------------------------------------------------------------------------
@bench_app.command("retrieval")
def bench_retrieval(
    dataset: Annotated[Path, typer.Option("--dataset", help="BEIR-like folder: corpus/queries/qrels.json")],
    k: Annotated[int, typer.Option("-k", help="Cut-off for the metrics")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object instead of a table")] = False,
) -> None:
    """Index a dataset and print Recall@k, nDCG@k, MRR@k, speed and memory for each retrieval mode."""
    from knowledge.bench import run_retrieval_bench

    if not dataset.is_dir():
        fail(f"{dataset} is not a folder")
    run_retrieval_bench(dataset, k=k, as_json=as_json)


# -- posts, drafts, checks, tokens, audit --------------------------------------------------------
@posts_app.command("ingest")
def posts_ingest(
    file: Annotated[Path, typer.Argument(help="JSONL or CSV file of posts")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a post")] = False,
) -> None:
    """Run posts through the whole pipeline and print what happened to each."""
    from agent.postfile import read_posts

    rt = runtime()
    with domain_errors():
        rows = read_posts(file)
    valid = [r for r in rows if r.post is not None]
    with domain_errors(), console.status(f"ingesting {len(valid)} posts"):
        outcomes = iter(rt.pipeline.ingest([r.post for r in valid if r.post is not None], actor=CLI_ACTOR))
    results: list[dict[str, Any]] = []
    for row in rows:
        if row.post is None:
            results.append(
                {"line": row.line, "external_id": None, "outcome": "invalid", "reason": row.error, "draft": None}
            )
        else:
            o = next(outcomes)
            results.append({"line": row.line, **o.model_dump(mode="json")})
    if as_json:
        for r in results:
            print_json(r)
    else:
        table = Table(title=f"posts ingest: {file}")
        for col in ("line", "external_id", "outcome", "reason / reply"):
            table.add_column(col, overflow="fold")
        for r in results:
            draft = r.get("draft") or {}
            table.add_row(
                str(r["line"]),
                str(r.get("external_id")),
                r["outcome"],
                (draft.get("text") or r.get("reason") or "")[:120],
            )
        console.print(table)
    if any(r["outcome"] in ("invalid", "failed") for r in results):
        raise typer.Exit(1)


@drafts_app.command("list")
def drafts_list(
    status: Annotated[
        str | None, typer.Option(help="pending, approved, rejected, sent, failed, delivery_failed (default pending)")
    ] = "pending",
    limit: Annotated[int, typer.Option(help="How many")] = 50,
    department: Annotated[
        str | None, typer.Option(help="Only drafts escalated to it: support, quality, pr, legal or sales")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output (as the API shows it)")] = False,
) -> None:
    """The review queue, highest priority first."""
    from typing import get_args

    from agent.posts.schemas import draft_public
    from agent.schemas import Department
    from review.repository import queue

    if department is not None and department not in get_args(Department):
        err_console.print(f"--department must be one of {', '.join(get_args(Department))}, not {department!r}")
        raise typer.Exit(2)
    rt = runtime()
    with rt.db.reading() as s:
        rows, total = queue(s, status=status, limit=limit, department=department)
        items = [draft_public(d).model_dump(mode="json") for d in rows]
    if as_json:
        print_json({"items": items, "total": total})
        return
    table = Table(title=f"drafts ({status or 'all'}): {total}")
    for col in ("id", "prio", "risk", "lang", "action", "verdict", "model", "text"):
        table.add_column(col, overflow="fold")
    for d in items:
        table.add_row(
            str(d["id"]),
            str(d["priority"]),
            str(d["flame_risk"]),
            d["language"],
            d["action"],
            d["checks"].get("verdict", "-"),
            d["model"],
            d["text"][:80],
        )
    console.print(table)


@drafts_app.command("redeliver")
def drafts_redeliver(
    draft_id: Annotated[int, typer.Argument(help="A draft whose delivery gave up (status delivery_failed)")],
    note: Annotated[str | None, typer.Option(help="Why (kept in the audit log)")] = None,
) -> None:
    """Deliver again a draft whose delivery gave up (same text, same idempotency key for the receiver)."""
    from review.schemas import RedeliverRequest
    from review.service import redeliver

    rt = runtime()
    try:
        with domain_errors():
            draft = redeliver(rt, draft_id, RedeliverRequest(note=note), actor=CLI_ACTOR)
    finally:
        rt.close()
    console.print(f"draft {draft.id}: {draft.status}, delivery {draft.delivery_status}", highlight=False)


@app.command()
def check(
    text: Annotated[str | None, typer.Argument(help="The reply to check")] = None,
    post: Annotated[str | None, typer.Option("--post", help="The post it answers (for echo checks)")] = None,
    jsonl: Annotated[Path | None, typer.Option("--jsonl", help="File of {text, post?, channel?} lines")] = None,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="YAML rules merged with the defaults (default: the organisation's rules file)"),
    ] = None,
    channel: Annotated[str | None, typer.Option(help="x, instagram, facebook, youtube, webhook, generic")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Check a reply (or every line of a JSONL file) against NG-word, privacy and policy rules.

    Without --rules it uses the rules drafts are checked with: `KIZUKI_RULES_FILE`, else
    `KIZUKI_HOME/rules.yaml` when it exists, else the shipped defaults."""
    from agent.checks import RulesError, TextTooLong, checker_for

    try:
        rules = rules or get_settings().effective_rules_file
    except ValidationError as exc:  # a bad KIZUKI_* variable: say which, no traceback
        fail(f"settings: {exc}")
        return
    try:
        checker = checker_for(rules)
    except RulesError as exc:
        fail(str(exc))
        return
    except OSError as exc:
        fail(f"{rules}: {exc.strerror}")
        return

    def run(t: str, p: str | None, c: str | None) -> dict[str, Any]:
        return dict(checker.check(t, post_text=p, channel=c).model_dump())

    if jsonl is not None:
        try:
            lines = jsonl.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"{jsonl}: cannot read as UTF-8 ({exc})")
            return
        bad = 0
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict) or not isinstance(item.get("text", ""), str):
                    raise ValueError("each line must be an object with a string 'text'")
                result = run(item.get("text", ""), item.get("post"), item.get("channel") or channel)
                out = {"line": number, **({"id": item["id"]} if "id" in item else {}), **result}
            except (ValueError, TextTooLong) as exc:
                bad += 1
                out = {"line": number, "error": str(exc)}
            print_json(out)
        if bad:
            raise typer.Exit(1)
        return
    if text is None:
        fail("give a TEXT to check or --jsonl FILE")
        return
    try:
        result = run(text, post, channel)
    except (ValueError, TextTooLong) as exc:
        fail(str(exc))
        return
    if as_json:
        print_json(result)
        return
    console.print(f"verdict: [bold]{result['verdict']}[/]")
    for f in result["findings"]:
        console.print(
            f"  {f['severity']:5} {f['category']:13} [{f['start']}:{f['end']}] {f['match']!r}: "
            f"{f['message']}" + (f"  → {f['suggestion']}" if f.get("suggestion") else ""),
            highlight=False,
        )
    if result["verdict"] == "block":
        raise typer.Exit(1)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses it (unique among working tokens)")],
    role: Annotated[str, typer.Option("--role", help="agent, editor, evaluator or admin")],
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="Refuse it after this long: 90d, 12h, 2w (default: never)")
    ] = None,
) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    from api.auth import create_token, parse_duration
    from kizuki.core.orm import utcnow

    rt = runtime()
    with domain_errors(), rt.db.session() as s:
        expires_at = utcnow() + parse_duration(expires_in) if expires_in else None
        row, secret = create_token(s, name=name, role=role, actor=CLI_ACTOR, expires_at=expires_at)
    until = f", expires {row.expires_at.isoformat(timespec='minutes')}" if row.expires_at else ""
    err_console.print(f"token {row.id} for {row.name} ({row.role}{until}); shown once:", highlight=False)
    print(secret)


@token_app.command("list")
def token_list(
    all_: Annotated[bool, typer.Option("--all", help="Also revoked and expired tokens")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """API tokens: id, prefix, name, role, expiry, last use. Never their secrets."""
    from api.auth import is_active, list_tokens
    from kizuki.core.orm import utcnow

    rt = runtime()
    with rt.db.reading() as s:
        rows = list_tokens(s, include_inactive=all_)
    now = utcnow()

    def when(value: Any) -> str | None:
        return value.isoformat(timespec="seconds") if value is not None else None

    items = [
        {
            "id": r.id,
            "prefix": r.prefix,
            "name": r.name,
            "role": r.role,
            "created_at": when(r.created_at),
            "created_by": r.created_by,
            "expires_at": when(r.expires_at),
            "last_used_at": when(r.last_used_at),
            "revoked_at": when(r.revoked_at),
            "active": is_active(r, now),
        }
        for r in rows
    ]
    if as_json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return
    table = Table("id", "prefix", "name", "role", "expires", "last used", "state")
    for item in items:
        state = "active" if item["active"] else ("revoked" if item["revoked_at"] else "expired")
        table.add_row(
            str(item["id"]),
            f"{item['prefix']}…",
            str(item["name"]),
            str(item["role"]),
            str(item["expires_at"] or "never"),
            str(item["last_used_at"] or "-"),
            state,
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    ref: Annotated[str, typer.Argument(help="The token's id, its prefix (kz_…) or its name")],
    reason: Annotated[str | None, typer.Option("--reason", help="Kept in the audit log")] = None,
) -> None:
    """Revoke a token: a running server refuses it on the next request. The last admin token may be
    revoked here (`token create --role admin` makes a new one), not over REST."""
    from api.auth import count_admins, find_token, revoke_token

    rt = runtime()
    with domain_errors(), rt.db.session() as s:
        row = find_token(s, ref)
        already = row.revoked_at is not None
        revoke_token(s, row, actor=CLI_ACTOR, allow_last_admin=True, note=reason)
        admins = count_admins(s)
    if already:
        console.print(f"token {row.id} ({row.prefix}…, {row.name}) was already revoked", highlight=False)
        return
    console.print(f"revoked token {row.id} ({row.prefix}…, {row.name}, {row.role})", highlight=False)
    if not admins:
        err_console.print("no admin token works now; make one with: kizuki token create --name N --role admin")


@audit_app.command("verify")
def audit_verify(
    checkpoints: Annotated[
        Path | None,
        typer.Option("--checkpoints", help="Checkpoint file to check against (default KIZUKI_AUDIT_CHECKPOINT_FILE)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON")] = False,
) -> None:
    """Check the chain, its signatures and its checkpoints: tampering is reported, and the exit status is 1."""
    from kizuki.core import audit

    rt = runtime()
    with domain_errors():
        guard = audit.guard_from(rt.settings)
        with rt.db.reading() as s:
            report = audit.verify_all(s, guard, checkpoint_file=checkpoints)
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
        if not report.ok:
            raise typer.Exit(1)
        return
    for w in report.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    for p in report.problems:
        where = f"entry {p.entry_id}" if p.entry_id is not None else "checkpoints"
        err_console.print(f"[red]{where}[/]: {p.problem}", highlight=False)
    if not report.ok:
        fail(f"audit log tampered with or damaged: {len(report.problems)} problem(s) among {report.entries} entries", 1)
    signed = "signed" if report.signed else "unsigned"
    console.print(f"audit chain intact: {report.entries} entries ({signed})", highlight=False)
    if report.last_checkpoint is not None:
        last = report.last_checkpoint
        console.print(
            f"consistent with {report.checkpoints} checkpoint(s) in {report.checkpoint_file}; "
            f"the newest: entry #{last.entry_id} at {last.at}",
            highlight=False,
        )


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Append a signed checkpoint of the chain's head to KIZUKI_AUDIT_CHECKPOINT_FILE now."""
    from kizuki.core import audit

    rt = runtime()
    with domain_errors():
        guard = audit.guard_from(rt.settings)
        with rt.db.reading() as s:
            written = audit.checkpoint(s, guard)
    if written is None:
        console.print("the audit log is empty: nothing to checkpoint")
        return
    signed = "signed" if written["mac"] else "unsigned (no audit key)"
    console.print(
        f"checkpoint of entry #{written['entry_id']} ({written['count']} entries), {signed}, "
        f"appended to {guard.checkpoint_file}",
        highlight=False,
    )


@audit_app.command("keygen")
def audit_keygen(
    force: Annotated[
        bool, typer.Option("--force", help="Even though entries signed with another key exist (they stop verifying)")
    ] = False,
) -> None:
    """Write a new random audit key to KIZUKI_AUDIT_KEY_FILE (default KIZUKI_HOME/audit.key), mode 0600."""
    from kizuki.core import audit

    if get_settings().audit_key is not None:
        fail("KIZUKI_AUDIT_KEY is set and takes precedence; unset it to use a key file")
    rt = runtime()
    path = rt.settings.effective_audit_key_file
    if path.exists():
        fail(f"{path} exists; a key is never overwritten (to rotate, see KIZUKI_AUDIT_OLD_KEYS)")
    with rt.db.reading() as s:
        signed = audit.signed_entries(s)
    if signed and not force:
        fail(
            f"{signed} entries are signed with a key this file would not hold: restore that key file, or keep the "
            "old key in KIZUKI_AUDIT_OLD_KEYS and pass --force"
        )
    with domain_errors():
        audit.generate_key_file(path)
    console.print(f"audit key written to {path} (readable by its owner only); new entries are signed with it")
    console.print(
        "restart running Kizuki processes (API, workers) so they sign too; keep a copy of the key somewhere safe",
        highlight=False,
    )


# -- organisation profile, watch rules, do-not-engage ------------------------------------------
@org_app.command("set")
def org_set(
    file: Annotated[Path, typer.Argument(help="The profile as YAML (name, names, handles, products, ...)")],
    note: Annotated[str | None, typer.Option(help="Why it changed (kept with the version)")] = None,
) -> None:
    """Store a new version of the organisation profile from a YAML file (errors name the line)."""
    from agent.org.schemas import OrgProfile
    from agent.org.service import save_profile
    from kizuki.core.yamlfile import load_yaml

    rt = runtime()
    with domain_errors():
        profile = load_yaml(file, OrgProfile)
        with rt.db.session() as s:
            row = save_profile(s, rt.org, profile, edited_version=None, actor=CLI_ACTOR, note=note)
            version = row.version
    console.print(f"organisation profile v{version}: {profile.name}", highlight=False)


@org_app.command("show")
def org_show(as_json: Annotated[bool, typer.Option("--json", help="JSON instead of YAML")] = False) -> None:
    """The organisation profile in force, as YAML (what `org set` takes)."""
    from kizuki.core.yamlfile import dump_yaml

    rt = runtime()
    with rt.db.reading() as s:
        version, profile = rt.org.current(s)
    if profile is None:
        fail("no organisation profile is set: write one (see `kizuki init --help`) and run `kizuki org set FILE`", 1)
        return
    data = profile.model_dump(mode="json")
    if as_json:
        print_json({"version": version, "profile": data})
    else:
        sys.stdout.write(f"# organisation profile v{version}\n" + dump_yaml(data))


@watch_app.command("set")
def watch_set(
    file: Annotated[Path, typer.Argument(help="Watch rules as YAML: brand, problem, competitor, exclude, ...")],
    note: Annotated[str | None, typer.Option(help="Why it changed (kept with the version)")] = None,
) -> None:
    """Store a new version of the watch rules from a YAML file (the REST `rules` object)."""
    from agent.intake.service import save_watch_rules
    from agent.intake.watch import load_rules

    rt = runtime()
    with domain_errors():
        rules = load_rules(file)
        with rt.db.session() as s:
            row = save_watch_rules(
                s, rt.watch_rules, rules.model_dump(), edited_version=None, actor=CLI_ACTOR, note=note
            )
            version = row.version
    console.print(
        f"watch rules v{version}: {len(rules.brand)} brand, {len(rules.problem)} problem, "
        f"{len(rules.competitor)} competitor, {len(rules.exclude)} exclude terms",
        highlight=False,
    )


@watch_app.command("show")
def watch_show(as_json: Annotated[bool, typer.Option("--json", help="JSON instead of YAML")] = False) -> None:
    """The watch rules in force, as YAML (what `watch set` takes)."""
    from kizuki.core.yamlfile import dump_yaml

    rt = runtime()
    with rt.db.reading() as s:
        version, rules = rt.watch_rules.current(s)
    data = rules.model_dump()
    if as_json:
        print_json({"version": version, "rules": data})
    else:
        header = f"# watch rules v{version}" if version else "# no watch rules set (kizuki watch set FILE)"
        sys.stdout.write(header + "\n" + dump_yaml(data))


@dne_app.command("add")
def dne_add(
    handle: Annotated[str, typer.Argument(help="The author's handle, with or without @")],
    reason: Annotated[str, typer.Option(help="Why we never engage (kept, shown to reviewers)")],
    expires: Annotated[str | None, typer.Option(help="Until when, ISO 8601 with a zone (default: never)")] = None,
) -> None:
    """Add (or update) an author on the do-not-engage list."""
    from datetime import datetime

    from agent.intake.service import add_do_not_engage

    rt = runtime()
    with domain_errors():
        try:
            until = datetime.fromisoformat(expires) if expires else None
        except ValueError:
            fail(f"--expires {expires!r} is not an ISO 8601 date and time, e.g. 2027-01-31T00:00:00+09:00")
            return
        with rt.db.session() as s:
            row = add_do_not_engage(s, handle, reason, until, actor=CLI_ACTOR)
            shown = row.handle
    console.print(f"@{shown} is on the do-not-engage list", highlight=False)


@dne_app.command("list")
def dne_list(as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False) -> None:
    """The do-not-engage list."""
    from agent.intake.service import do_not_engage_entries

    rt = runtime()
    with rt.db.reading() as s:
        items = [
            {
                "handle": r.handle,
                "reason": r.reason,
                "expires_at": r.expires_at.isoformat() if r.expires_at else None,
                "added_by": r.added_by,
            }
            for r in do_not_engage_entries(s)
        ]
    if as_json:
        print_json(items)
        return
    table = Table(title=f"do-not-engage: {len(items)}")
    for col in ("handle", "reason", "expires", "added by"):
        table.add_column(col, overflow="fold")
    for i in items:
        table.add_row(f"@{i['handle']}", str(i["reason"]), i["expires_at"] or "never", str(i["added_by"]))
    console.print(table)


@dne_app.command("remove")
def dne_remove(handle: Annotated[str, typer.Argument(help="The author's handle")]) -> None:
    """Take an author off the do-not-engage list."""
    from agent.intake.service import remove_do_not_engage

    rt = runtime()
    with domain_errors(), rt.db.session() as s:
        remove_do_not_engage(s, handle, actor=CLI_ACTOR)
    console.print(f"@{handle.strip().lstrip('@')} is off the do-not-engage list", highlight=False)


# -- personal data ------------------------------------------------------------------------------
def _schedule_retention(rt: Runtime) -> None:
    """Queue today's retention run (`kizuki serve` and `up` do; once a day however many processes start; each run
    queues the next day's)."""
    from agent.posts.privacy import schedule_retention

    schedule_retention(rt.db, rt.settings)


def _schedule_reports(rt: Runtime) -> None:
    """Queue the first alert scan and the next daily report (日報), like retention: once however many processes
    start; each run queues the next."""
    from reports.alerts import schedule_scan
    from reports.daily import schedule_daily_report

    schedule_scan(rt.db, rt.settings)
    schedule_daily_report(rt.db, rt.settings)


@privacy_app.command("redact")
def privacy_redact(
    older_than: Annotated[
        int | None, typer.Option("--older-than", min=1, help="Days (default KIZUKI_RETENTION_DAYS)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be redacted")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Redact personal data (text, handle, name, URL) of posts received more than DAYS ago, and of their drafts."""
    from agent.posts.privacy import privacy_key, redact_old_posts

    days = older_than or get_settings().retention_days
    if not days:
        fail("retention is off (KIZUKI_RETENTION_DAYS=0): pass --older-than DAYS")
        return
    rt = runtime()
    try:
        with domain_errors(), progress_bar("counting posts" if dry_run else "redacting posts") as update:
            report = redact_old_posts(
                rt.db,
                rt.redactor(),
                privacy_key(rt.settings),
                older_than_days=days,
                actor=CLI_ACTOR,
                dry_run=dry_run,
                progress=update,
            )
    finally:
        rt.close()
    if as_json:
        print_json(report.as_dict())
        return
    verb = "would redact" if dry_run else "redacted"
    later = f"; {report.skipped_in_progress} still in review or delivery, left for later"
    console.print(
        f"{verb} {report.posts} posts and {report.drafts} drafts received before {report.cutoff:%Y-%m-%d %H:%M} UTC"
        + (later if report.skipped_in_progress else ""),
        highlight=False,
    )


@privacy_app.command("forget")
def privacy_forget(
    source: Annotated[str, typer.Option("--source", help="The network, e.g. x")],
    author: Annotated[str, typer.Option("--author", help="The author's handle (with or without @)")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Delete one author's posts, drafts and jobs on their request (audited with a keyed hash, not the handle)."""
    from agent.posts.privacy import forget_author, privacy_key

    rt = runtime()
    key = privacy_key(rt.settings)
    try:
        with domain_errors():
            with rt.db.reading() as s:
                planned = forget_author(s, key, source, author, actor=CLI_ACTOR, dry_run=True)
            if planned.posts == 0:
                if as_json:
                    print_json(planned.as_dict())
                else:
                    console.print(f"no posts of that author on {planned.source}; nothing to erase", highlight=False)
                return
            if not yes:
                if not sys.stdin.isatty():
                    fail(f"this erases {planned.posts} posts and {planned.drafts} drafts; pass --yes to confirm")
                typer.confirm(f"Erase {planned.posts} posts and {planned.drafts} drafts of this author?", abort=True)
            with rt.db.session() as s:
                report = forget_author(s, key, source, author, actor=CLI_ACTOR)
    finally:
        rt.close()
    if as_json:
        print_json(report.as_dict())
        return
    console.print(
        f"erased {report.posts} posts, {report.drafts} drafts and {report.jobs} jobs "
        f"(audit subject author:{report.author_key[:12]}…)",
        highlight=False,
    )


@app.command()
def init(
    name: Annotated[str | None, typer.Option(help="The company's name as replies say it")] = None,
    handle: Annotated[str | None, typer.Option(help="Your support account on X, e.g. @acme_help")] = None,
    alias: Annotated[list[str] | None, typer.Option(help="Another way people write the company (repeatable)")] = None,
    product: Annotated[list[str] | None, typer.Option(help="A product name (repeatable)")] = None,
    competitor: Annotated[list[str] | None, typer.Option(help="A competitor's name (repeatable)")] = None,
    contact: Annotated[
        list[str] | None, typer.Option(help="Your own public phone, e-mail or URL (repeatable; never flagged)")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for profile.yaml, watch_rules.yaml and rules.yaml")] = Path("."),
    apply: Annotated[bool, typer.Option("--apply", help="Also store the profile and watch rules now")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist")] = False,
) -> None:
    """Start a new company: write a starter profile, watch rules and rules file (asks for what flags omit)."""
    from agent.intake.service import save_watch_rules, validate_watch_rules
    from agent.org.schemas import OrgProfile, Product
    from agent.org.service import save_profile
    from kizuki.core.yamlfile import dump_yaml

    interactive = sys.stdin.isatty()
    if name is None:
        if not interactive:
            fail("--name is required (the company's name as replies say it)")
        name = typer.prompt("Company name")
    if handle is None and interactive:
        handle = typer.prompt("Support account on X (empty for none)", default="", show_default=False) or None
    if not product and interactive:
        entered = typer.prompt("Product names, comma-separated (empty for none)", default="", show_default=False)
        product = [p.strip() for p in entered.split(",") if p.strip()]
    with domain_errors():
        try:
            profile = OrgProfile(
                name=name,
                names=[name, *(alias or [])],
                handles={"x": handle} if handle else {},
                products=[Product(name=p) for p in product or []],
                competitors=competitor or [],
                contacts=contact or [],
            )
        except ValidationError as exc:
            fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
            return
        brand = profile.brand_terms() + ([handle.lstrip("@")] if handle else [])
        watch = {
            "brand": brand,
            "problem": ["故障", "壊れ", "使えない", "不具合", "返金", "broken", "not working", "refund", "help"],
            "competitor": profile.competitors,
            "exclude": [],
            "override": [profile.name],
            "require": "brand",
        }
        validate_watch_rules(watch)
        rules = {"competitors": profile.competitors, "allow": profile.contacts, "ng_words": []}
        files = {
            "profile.yaml": dump_yaml(profile.model_dump(mode="json", exclude_none=True)),
            "watch_rules.yaml": "# Posts must name one of `brand`; `exclude` drops noise unless `override` matches.\n"
            + dump_yaml(watch),
            "rules.yaml": "# Reply checks: NG words, competitors, your own public contacts (never personal data).\n"
            + dump_yaml(rules),
        }
        out.mkdir(parents=True, exist_ok=True)
        existing = [n for n in files if (out / n).exists()]
        if existing and not force:
            fail(f"{', '.join(existing)} exist in {out}; pass --force to overwrite")
        for filename, text in files.items():
            (out / filename).write_text(text, encoding="utf-8")
            console.print(f"wrote {out / filename}", highlight=False)
        if apply:
            rt = runtime()
            with rt.db.session() as s:
                p = save_profile(s, rt.org, profile, edited_version=None, actor=CLI_ACTOR, note="kizuki init")
                w = save_watch_rules(s, rt.watch_rules, watch, edited_version=None, actor=CLI_ACTOR, note="kizuki init")
                console.print(f"stored profile v{p.version} and watch rules v{w.version}")
    console.print(
        "next: edit the files, then `kizuki org set profile.yaml`, `kizuki watch set watch_rules.yaml`, "
        "KIZUKI_RULES_FILE=rules.yaml, `kizuki kb import FILE`, `kizuki posts ingest FILE`",
        highlight=False,
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()

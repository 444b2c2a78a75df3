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
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kizuki.errors import KizukiError
from kizuki.runtime import Runtime

app = typer.Typer(help="Kizuki: find, draft and check replies to customers' posts.", no_args_is_help=True)
kb_app = typer.Typer(help="Knowledge: import, export, search, reindex.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (numbers, not tests).", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
app.add_typer(bench_app, name="bench")

console = Console()
err_console = Console(stderr=True)
CLI_ACTOR = os.environ.get("KIZUKI_ACTOR") or f"cli:{os.environ.get('USER', 'operator')}"
DEMO_KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge" / "demo" / "knowledge.jsonl"


def fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


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
    rt = Runtime()
    rt.db.migrate()
    return rt


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    rt = Runtime()
    rt.db.migrate()
    console.print(f"database at head ({rt.db.dialect})")


def load_demo(rt: Runtime) -> None:
    if rt.knowledge.count() == 0:
        with progress_bar("indexing demo knowledge") as update:
            report = rt.knowledge.import_file(DEMO_KNOWLEDGE, actor="demo")
            rt.knowledge.ensure_fresh(force=True, progress=update)
        console.print(f"loaded {report.created} demo knowledge entries")


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    no_demo: Annotated[bool, typer.Option("--no-demo", help="Do not load the demo data")] = False,
) -> None:
    """Migrate, load the demo data into an empty database, and serve the API (docs at /docs)."""
    rt = runtime()
    with domain_errors():
        if not no_demo:
            load_demo(rt)
        with progress_bar("checking the knowledge index") as update:
            rt.knowledge.ensure_fresh(progress=update)
    _serve(rt, host, port)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
) -> None:
    """Serve the API on an existing database (migrating it first)."""
    _serve(runtime(), host, port)


def _serve(rt: Runtime, host: str, port: int) -> None:
    import uvicorn

    from api.app import create_app

    console.print(
        f"Kizuki on http://{host}:{port}  (docs: /docs)  database={rt.db.dialect} "
        f"model={rt.settings.model} embeddings={rt.settings.embedding_model}"
    )
    uvicorn.run(create_app(rt), host=host, port=port, log_level="info")


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


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

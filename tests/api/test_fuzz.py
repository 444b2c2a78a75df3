"""Schema fuzzing (schemathesis against /openapi.json): no input, however odd, gets a 5xx."""

from __future__ import annotations

import os
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings

from kizuki.runtime import Runtime
from tests.conftest import make_token

DEMO = Path(__file__).resolve().parents[2] / "demo" / "knowledge.jsonl"
# CI runs the same examples every time (a red build then means the change, not the dice). To hunt for
# new failures, set KIZUKI_FUZZ_RANDOM=1 and raise KIZUKI_FUZZ_EXAMPLES; every 5xx found that way so far
# (ids beyond 64 bits, NUL on PostgreSQL, dates before year 1 in UTC, NUL in JSON keys) became a test.
RANDOM = os.environ.get("KIZUKI_FUZZ_RANDOM") == "1"
EXAMPLES = int(os.environ.get("KIZUKI_FUZZ_EXAMPLES", "25"))
# Running a whole evaluation suite per generated example would only measure the suite.
SKIP = {("POST", "/v1/evals/runs")}


def test_no_server_errors(runtime: Runtime) -> None:
    from api.app import create_app

    runtime.knowledge.import_file(DEMO, actor="fuzz")
    app = create_app(runtime)
    headers = {"Authorization": f"Bearer {make_token(runtime, 'admin', 'fuzzer')}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        tried += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=not RANDOM,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200} -> "
                f"{response.status_code}: {response.text[:300]}"
            )

        call()
    assert tried >= 25

"""Every endpoint × every role × no token: exactly 401, 403 or 2xx, as declared here.

The table below is the access policy. An endpoint missing from it fails the completeness test, so a new
endpoint cannot ship without a decision about who may call it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.posts.models import Draft, Post
from kizuki.runtime import Runtime

ROLES = ("agent", "editor", "evaluator", "admin")
_seq = itertools.count(1)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    allowed: tuple[str, ...]  # besides admin, who may always; () = admin only; None-token handled apart
    ok: int = 200
    public: bool = False


def _post_and_draft(rt: Runtime, status: str = "pending") -> int:
    n = next(_seq)
    with rt.db.session() as s:
        post = Post(
            source="x",
            external_id=f"m-{n}",
            author_handle="u",
            text="KAMADOが壊れた",
            lang="ja",
            channel="x",
            status="drafted",
            metrics={},
            raw={},
        )
        s.add(post)
        s.flush()
        draft = Draft(
            post_id=post.id,
            generation=1,
            status=status,
            text="ご不便をおかけしております。確認いたします。",
            original_text="",
            channel="x",
            model="offline",
            prompt_version="test",
        )
        s.add(draft)
        s.flush()
        return draft.id


def _entry(client: TestClient) -> str:
    key = f"authz-{next(_seq)}"
    res = client.post(
        "/v1/knowledge", json={"key": key, "kind": "faq", "title": "保証は？", "body": "1年です。", "lang": "ja"}
    )
    assert res.status_code == 201, res.text
    return key


Builder = Callable[[Runtime, TestClient], tuple[str, dict[str, Any] | None]]

MATRIX: list[tuple[Call, Builder]] = [
    (Call("GET", "/healthz", (), public=True), lambda rt, c: ("/healthz", None)),
    (Call("GET", "/v1/knowledge", ("agent", "editor")), lambda rt, c: ("/v1/knowledge", None)),
    (
        Call("POST", "/v1/knowledge", ("editor",), ok=201),
        lambda rt, c: (
            "/v1/knowledge",
            {"key": f"k-{next(_seq)}", "kind": "faq", "title": "t", "body": "b", "lang": "en"},
        ),
    ),
    (
        Call("POST", "/v1/knowledge/search", ("agent", "editor")),
        lambda rt, c: ("/v1/knowledge/search", {"query": "保証"}),
    ),
    (Call("GET", "/v1/knowledge/{key}", ("agent", "editor")), lambda rt, c: (f"/v1/knowledge/{_entry(c)}", None)),
    (
        Call("PUT", "/v1/knowledge/{key}", ("editor",)),
        lambda rt, c: (f"/v1/knowledge/{_entry(c)}", {"revision": 1, "body": "2年です。"}),
    ),
    (Call("DELETE", "/v1/knowledge/{key}", ("editor",)), lambda rt, c: (f"/v1/knowledge/{_entry(c)}", None)),
    (
        Call("GET", "/v1/knowledge/{key}/revisions", ("agent", "editor")),
        lambda rt, c: (f"/v1/knowledge/{_entry(c)}/revisions", None),
    ),
    (
        Call("GET", "/v1/knowledge/{key}/revisions/{revision}", ("agent", "editor")),
        lambda rt, c: (f"/v1/knowledge/{_entry(c)}/revisions/1", None),
    ),
    (
        Call("POST", "/v1/posts", ("agent",), ok=202),
        lambda rt, c: (
            "/v1/posts",
            {"source": "x", "external_id": f"p-{next(_seq)}", "author": {"handle": "a"}, "text": "KAMADOのE03が出た"},
        ),
    ),
    (
        Call("GET", "/v1/posts/{post_id}", ("agent",)),
        lambda rt, c: (f"/v1/posts/{_post_id(rt, _post_and_draft(rt))}", None),
    ),
    (Call("GET", "/v1/drafts", ("agent",)), lambda rt, c: ("/v1/drafts", None)),
    (Call("GET", "/v1/drafts/{draft_id}", ("agent",)), lambda rt, c: (f"/v1/drafts/{_post_and_draft(rt)}", None)),
    (
        Call("POST", "/v1/drafts/{draft_id}/approve", ("agent",)),
        lambda rt, c: (f"/v1/drafts/{_post_and_draft(rt)}/approve", {"acknowledge_warnings": True}),
    ),
    (
        Call("POST", "/v1/drafts/{draft_id}/reject", ("agent",)),
        lambda rt, c: (f"/v1/drafts/{_post_and_draft(rt)}/reject", {"reason": "tone"}),
    ),
    (
        Call("POST", "/v1/drafts/{draft_id}/regenerate", ("agent",), ok=202),
        lambda rt, c: (f"/v1/drafts/{_post_and_draft(rt)}/regenerate", {}),
    ),
    (
        Call("POST", "/v1/drafts/{draft_id}/mark-sent", ("agent",)),
        lambda rt, c: (f"/v1/drafts/{_post_and_draft(rt, 'approved')}/mark-sent", {}),
    ),
    (
        Call("POST", "/v1/drafts/{draft_id}/redeliver", ("agent",)),
        lambda rt, c: (f"/v1/drafts/{_post_and_draft(rt, 'delivery_failed')}/redeliver", {}),
    ),
    (
        Call("POST", "/v1/tokens", (), ok=201),
        lambda rt, c: ("/v1/tokens", {"name": f"bot-{next(_seq)}", "role": "agent"}),
    ),
    (Call("GET", "/v1/tokens", ()), lambda rt, c: ("/v1/tokens", None)),
    (Call("DELETE", "/v1/tokens/{token_id}", ()), lambda rt, c: (f"/v1/tokens/{_token_id(rt)}", None)),
    (Call("GET", "/v1/audit", ()), lambda rt, c: ("/v1/audit", None)),
    (Call("GET", "/v1/audit/verify", ()), lambda rt, c: ("/v1/audit/verify", None)),
    (
        Call("POST", "/v1/privacy/erasures", ()),
        lambda rt, c: ("/v1/privacy/erasures", {"source": "x", "handle": "u", "dry_run": True}),
    ),
    (
        Call("POST", "/v1/privacy/redactions", ()),
        lambda rt, c: ("/v1/privacy/redactions", {"older_than_days": 90, "dry_run": True}),
    ),
    (
        Call("POST", "/v1/checks", ("agent", "editor", "evaluator")),
        lambda rt, c: ("/v1/checks", {"text": "ありがとうございます"}),
    ),
    (Call("GET", "/v1/watch-rules", ("agent", "editor")), lambda rt, c: ("/v1/watch-rules", None)),
    (
        Call("PUT", "/v1/watch-rules", ("editor",)),
        lambda rt, c: ("/v1/watch-rules", {"version": _watch_version(c), "rules": _watch_rules(c)}),
    ),
    (Call("GET", "/v1/watch-rules/versions", ("agent", "editor")), lambda rt, c: ("/v1/watch-rules/versions", None)),
    (Call("GET", "/v1/do-not-engage", ("agent", "editor")), lambda rt, c: ("/v1/do-not-engage", None)),
    (Call("GET", "/v1/org", ("agent", "editor")), lambda rt, c: ("/v1/org", None)),
    (
        Call("PUT", "/v1/org", ("editor",)),
        lambda rt, c: ("/v1/org", {"version": _org_version(c), "profile": {"name": f"Org {next(_seq)}"}}),
    ),
    (Call("GET", "/v1/org/versions", ("agent", "editor")), lambda rt, c: ("/v1/org/versions", None)),
    (
        Call("POST", "/v1/do-not-engage", ("agent", "editor"), ok=201),
        lambda rt, c: ("/v1/do-not-engage", {"handle": f"troll{next(_seq)}", "reason": "abuse"}),
    ),
    (
        Call("DELETE", "/v1/do-not-engage/{handle}", ("agent", "editor"), ok=204),
        lambda rt, c: (f"/v1/do-not-engage/{_dne(c)}", None),
    ),
    (
        Call("POST", "/v1/evals/runs", ("evaluator",), ok=201),
        lambda rt, c: ("/v1/evals/runs", {"suite": "adversarial", "model": "offline"}),
    ),
    (
        Call("GET", "/v1/evals/runs/{run_id}", ("evaluator",)),
        lambda rt, c: (f"/v1/evals/runs/{_eval_run(rt)}", None),
    ),
    (
        Call("GET", "/v1/evals/runs/{a}/compare/{b}", ("evaluator",)),
        lambda rt, c: (f"/v1/evals/runs/{_eval_run(rt)}/compare/{_eval_run(rt)}", None),
    ),
    # Exploring posts, aggregates and reports: every reader of the queue; only admins see personal data.
    (Call("GET", "/v1/posts", ("agent",)), lambda rt, c: ("/v1/posts", None)),
    (Call("GET", "/v1/stats/counts", ("agent",)), lambda rt, c: ("/v1/stats/counts", None)),
    (Call("GET", "/v1/stats/totals", ("agent",)), lambda rt, c: ("/v1/stats/totals?dimension=sentiment", None)),
    (Call("GET", "/v1/stats/negative-share", ("agent",)), lambda rt, c: ("/v1/stats/negative-share", None)),
    (Call("GET", "/v1/stats/top-terms", ("agent",)), lambda rt, c: ("/v1/stats/top-terms", None)),
    (Call("GET", "/v1/stats/response-times", ("agent",)), lambda rt, c: ("/v1/stats/response-times", None)),
    (Call("GET", "/v1/reports/daily", ("agent",)), lambda rt, c: ("/v1/reports/daily?date=2026-11-20", None)),
    (Call("GET", "/v1/reports/departments", ("agent",)), lambda rt, c: ("/v1/reports/departments", None)),
    # Alerts: read by agents and editors.
    (Call("GET", "/v1/alerts", ("agent", "editor")), lambda rt, c: ("/v1/alerts", None)),
    (Call("GET", "/v1/alerts/{alert_id}", ("agent", "editor")), lambda rt, c: (f"/v1/alerts/{_alert(rt)}", None)),
    # Connectors: configured by admins; what was sent is part of a draft's story, so agents read it.
    (Call("GET", "/v1/connectors", ()), lambda rt, c: ("/v1/connectors", None)),
    (
        Call("PUT", "/v1/connectors", ()),
        lambda rt, c: ("/v1/connectors", {"connectors": [], "version": _connectors_version(c)}),
    ),
    (Call("GET", "/v1/connectors/status", ()), lambda rt, c: ("/v1/connectors/status", None)),
    (Call("GET", "/v1/connectors/sent", ("agent",)), lambda rt, c: ("/v1/connectors/sent", None)),
    # No connector by that name: an admin passes the role check and is told so (404); others never get that far.
    (Call("POST", "/v1/connectors/{name}/run", (), ok=404), lambda rt, c: ("/v1/connectors/nobody/run", None)),
]


def _alert(rt: Runtime) -> int:
    from tests.reports.alert_fixtures import stored_alert

    return stored_alert(rt)


def _connectors_version(c: TestClient) -> int:
    return int(c.get("/v1/connectors").json()["version"])


def _eval_run(rt: Runtime) -> int:
    """A stored run, written directly (running a suite here would only measure the suite)."""
    from evals import service
    from evals.runner import SuiteRun
    from kizuki.core.orm import utcnow

    run = SuiteRun(
        suite="adversarial",
        model="offline",
        prompt_version="test",
        judge="skipped (offline)",
        started_at=utcnow(),
        duration_s=0.0,
        cases=[],
        metrics={"case_pass_rate": 1.0},
        evaluator_pass_rates={},
        thresholds=[],
    )
    with rt.db.session() as s:
        return service.save_run(s, run, actor="matrix").id


def _token_id(rt: Runtime) -> int:
    from api.auth import create_token

    with rt.db.session() as s:
        return create_token(s, name=f"to-revoke-{next(_seq)}", role="agent", actor="matrix")[0].id


def _post_id(rt: Runtime, draft_id: int) -> int:
    with rt.db.session() as s:
        draft = s.get(Draft, draft_id)
        assert draft is not None
        return draft.post_id


def _watch_version(c: TestClient) -> int:
    return int(c.get("/v1/watch-rules").json()["version"])


def _watch_rules(c: TestClient) -> dict[str, Any]:
    return dict(c.get("/v1/watch-rules").json()["rules"])


def _org_version(c: TestClient) -> int:
    return int(c.get("/v1/org").json()["version"])


def _dne(c: TestClient) -> str:
    handle = f"gone{next(_seq)}"
    assert c.post("/v1/do-not-engage", json={"handle": handle, "reason": "test"}).status_code == 201
    return handle


def test_matrix_covers_every_endpoint(client: TestClient) -> None:
    declared = {(call.method, call.path) for call, _ in MATRIX}
    served = {
        (method.upper(), path) for path, ops in client.get("/openapi.json").json()["paths"].items() for method in ops
    }
    assert served == declared


@pytest.mark.parametrize("role", [*ROLES, None])
def test_matrix(
    role: str | None,
    runtime: Runtime,
    client: TestClient,
    client_as: Callable[..., TestClient],
    anon_client: TestClient,
) -> None:
    """`client` is an admin used to build fixtures; the calls are made with `role`'s token or none."""
    caller = anon_client if role is None else client_as(role, f"matrix-{role}")
    failures = []
    for call, build in MATRIX:
        path, body = build(runtime, client)
        res = caller.request(call.method, path, json=body)
        if call.public:
            expected = call.ok
        elif role is None:
            expected = 401
        elif role == "admin" or role in call.allowed:
            expected = call.ok
        else:
            expected = 403
        if res.status_code != expected:
            failures.append(
                f"{call.method} {call.path} as {role}: {res.status_code} (expected {expected}) {res.text[:120]}"
            )
    assert not failures, "\n".join(failures)


def test_bad_tokens(anon_client: TestClient) -> None:
    for header in ("Bearer nope", "Basic abc", "Bearer ", "kz_only"):
        res = anon_client.get("/v1/drafts", headers={"Authorization": header})
        assert res.status_code == 401
        assert res.json()["error"] == "Unauthorized"

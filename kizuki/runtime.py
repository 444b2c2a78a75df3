"""The process's wiring: settings, database and knowledge base, built lazily and shared."""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

from kizuki.db import Database
from kizuki.settings import Settings, get_settings

log = logging.getLogger(__name__)

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
        self._checker: Any = None
        self._checker_signature: tuple[str, int, int] | None = None

    def _make_index(self) -> HybridIndex:
        from knowledge.index import HybridIndex

        return HybridIndex(settings=self.settings)

    @cached_property
    def knowledge(self) -> KnowledgeBase:
        from knowledge.base import KnowledgeBase

        return KnowledgeBase(self.db, self._make_index)

    @property
    def checker(self) -> Any:
        """The reply checker: shipped rules merged with the organisation's rules file.

        Compiled once per version of the file: an edit to the rules takes effect on the next check, without
        a restart. An edit that does not load (a YAML or rule error) keeps the rules in force and is logged;
        at start-up the same error is raised.
        """
        from agent.checks import checker_for, rules_signature

        path = self.settings.effective_rules_file
        signature = rules_signature(path)  # also remembered for a file that fails, so it is not re-read each time
        with self._lock:
            if self._checker is None or signature != self._checker_signature:
                try:
                    checker = checker_for(path)
                except Exception:
                    if self._checker is None:
                        raise
                    log.exception("rules file %s changed but does not load; the previous rules stay in force", path)
                else:
                    self._checker = checker
                self._checker_signature = signature
            return self._checker

    @cached_property
    def pipeline(self) -> Pipeline:
        from agent.pipeline import Pipeline

        return Pipeline(self)

    def close(self) -> None:
        self.db.dispose()

"""The composition root: the one place that builds the process's parts and wires them together.

Settings and the database come from the core; the knowledge base, the reply checker, the watch rules in
force, the pipeline and the delivery channel from the domains below; the API, the CLI and the workers
use what is built here. Heavy parts (models, index) load on first use.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING

from kizuki.core import audit
from kizuki.core.db import Database
from kizuki.core.private import private_dir
from kizuki.core.settings import Settings, get_settings
from kizuki.core.worker import Handler

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from agent.checks import Checker
    from agent.intake.service import WatchRulesInForce
    from agent.org.schemas import OrgProfile
    from agent.org.service import ProfileInForce
    from agent.pipeline import Pipeline
    from agent.posts.privacy import Redactor
    from delivery.channels import Channel
    from knowledge.index import HybridIndex
    from knowledge.service import KnowledgeBase


class Runtime:
    """What the CLI, the API and the workers share."""

    def __init__(self, settings: Settings | None = None, db: Database | None = None) -> None:
        self.settings = settings or get_settings()
        private_dir(self.settings.home)  # 0700: it holds customers' posts
        self.db = db or Database(self.settings.resolved_database_url)
        audit.configure(self.db.engine, self.settings)  # signed entries and checkpoints, as these settings say
        self._lock = threading.Lock()
        self._checker: Checker | None = None
        self._checker_key: tuple[object, ...] | None = None

    def _make_index(self) -> HybridIndex:
        from knowledge.index import HybridIndex

        return HybridIndex(settings=self.settings)

    @cached_property
    def knowledge(self) -> KnowledgeBase:
        from knowledge.service import KnowledgeBase

        return KnowledgeBase(self.db, self._make_index)

    @property
    def checker(self) -> Checker:
        """The reply checker: shipped rules merged with the organisation's rules file.

        Compiled once per version of the file: an edit to the rules takes effect on the next check, without
        a restart. An edit that does not load (a YAML or rule error) keeps the rules in force and is logged;
        at start-up the same error is raised.
        """
        return self.checker_for(None)

    def checker_for(self, org: OrgProfile | None) -> Checker:
        """`checker`, with the organisation profile's own contacts and handles (never personal data) allowed,
        its competitors named and phone numbers read in its markets' formats (JP and US without a profile)."""
        from agent.checks import checker_with, rules_signature

        path = self.settings.effective_rules_file
        signature = rules_signature(path)  # also remembered for a file that fails, so it is not re-read each time
        allow = (*org.contacts, *org.handles.values()) if org is not None else ()
        competitors = tuple(org.competitors) if org is not None else ()
        regions = tuple(org.phone_regions()) if org is not None else ("JP", "US")
        key = (signature, allow, competitors, regions)
        with self._lock:
            if self._checker is None or key != self._checker_key:
                try:
                    checker = checker_with(path, allow=allow, competitors=competitors, regions=regions)
                except Exception:
                    if self._checker is None:
                        raise
                    log.exception("rules file %s changed but does not load; the previous rules stay in force", path)
                else:
                    self._checker = checker
                self._checker_key = key
            return self._checker

    @cached_property
    def watch_rules(self) -> WatchRulesInForce:
        from agent.intake.service import WatchRulesInForce

        return WatchRulesInForce()

    @cached_property
    def org(self) -> ProfileInForce:
        """The organisation profile in force (who "we" are in every reply)."""
        from agent.org.service import ProfileInForce

        return ProfileInForce()

    @cached_property
    def pipeline(self) -> Pipeline:
        from agent.pipeline import Pipeline

        return Pipeline(self)

    @cached_property
    def channel(self) -> Channel:
        """Where approved replies go (`KIZUKI_DELIVERY`)."""
        from delivery.channels import channel_for

        return channel_for(self.settings)

    def redactor(self) -> Redactor:
        """Personal-data redaction with the rules in force (order-number shapes; our own contacts never redacted)."""
        from agent.posts.privacy import Redactor

        with self.db.reading() as s:
            _, org = self.org.current(s)
        return Redactor.from_rules(self.checker_for(org).rules)

    def job_handlers(self) -> Mapping[str, Handler]:
        """Every job kind's handler, registered by the domain that owns it."""
        from agent.posts.privacy import retention_handlers
        from delivery import tasks as delivery_tasks
        from delivery.connectors import tasks as connector_tasks
        from delivery.connectors.service import ConnectorRouter
        from reports.alerts import alert_handlers
        from reports.daily import daily_report_handlers

        return {
            **self.pipeline.job_handlers(),
            # replies to a connector's posts go back through it; the rest through KIZUKI_DELIVERY's channel
            **delivery_tasks.handlers(self.db, ConnectorRouter(self.db, self.settings, self.channel)),
            **connector_tasks.handlers(self),
            **retention_handlers(self.db, self.settings, self.redactor),
            **daily_report_handlers(self),
            **alert_handlers(self),
        }

    def close(self) -> None:
        audit.unconfigure(self.db.engine)  # a later user of this database brings its own settings
        self.db.dispose()

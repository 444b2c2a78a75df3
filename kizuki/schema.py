"""Every table Kizuki owns, gathered on one MetaData (for migrations and schema checks)."""

from __future__ import annotations

import agent.intake.models
import agent.org.models
import agent.posts.models
import api.console.models
import api.models
import delivery.connectors.models
import evals.models
import kizuki.core.audit
import kizuki.core.jobs
import knowledge.models
import reports.alerts
from kizuki.core.orm import Base

# Imported for their side effect of registering tables on Base.metadata.
_MODULES = (
    kizuki.core.audit,
    kizuki.core.jobs,
    knowledge.models,
    agent.posts.models,
    agent.intake.models,
    agent.org.models,
    api.models,
    api.console.models,
    evals.models,
    delivery.connectors.models,
    reports.alerts,
)

metadata = Base.metadata

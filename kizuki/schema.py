"""Every table Kizuki owns, gathered on one MetaData (for migrations and schema checks)."""

from __future__ import annotations

import agent.models
import api.models
import evals.models
import kizuki.audit
import kizuki.jobs
import knowledge.models
from kizuki.models import Base

# Imported for their side effect of registering tables on Base.metadata.
_MODULES = (kizuki.audit, kizuki.jobs, knowledge.models, agent.models, api.models, evals.models)

metadata = Base.metadata

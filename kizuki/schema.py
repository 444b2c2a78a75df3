"""Every table Kizuki owns, gathered on one MetaData (for migrations and schema checks)."""

from __future__ import annotations

import kizuki.audit
import knowledge.models
from kizuki.models import Base

# Imported for their side effect of registering tables on Base.metadata.
_MODULES = (kizuki.audit, knowledge.models)

metadata = Base.metadata

"""Models for drafting: the deterministic `offline` model and any litellm model id, behind one router."""

from __future__ import annotations

from agent.llm.errors import ModelUnavailable
from agent.llm.offline import OFFLINE_MODEL_NAME
from agent.llm.routing import build_model

__all__ = ["OFFLINE_MODEL_NAME", "ModelUnavailable", "build_model"]

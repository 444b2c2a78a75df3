"""Model routing: a model id from the settings becomes a pydantic-ai model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic_ai.models import Model

from agent.llm.offline import OFFLINE_MODEL_NAME, offline_model

if TYPE_CHECKING:
    from kizuki.core.settings import Settings


def build_model(model_id: str, settings: Settings | None = None) -> Model:
    """``offline`` gives the deterministic offline model; any other id is a litellm model with fallbacks."""
    if model_id == OFFLINE_MODEL_NAME:
        return offline_model()
    from agent.llm.litellm_model import LiteLLMModel

    if settings is None:
        from kizuki.core.settings import get_settings

        settings = get_settings()
    return LiteLLMModel(
        model_id,
        fallback_models=[m for m in settings.fallback_models if m != model_id],
        api_key=settings.api_key.get_secret_value() if settings.api_key else None,
        api_base=settings.api_base,
        timeout_s=settings.model_timeout_s,
        max_retries=settings.model_max_retries,
    )

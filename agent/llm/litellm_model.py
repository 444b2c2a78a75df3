"""An in-process pydantic-ai model that calls `litellm.acompletion`, with retries, fallbacks and cost.

Retries use tenacity rather than litellm's own ``num_retries``: we decide exactly which failures are
retried (429, 5xx, timeouts, connection errors; never 400/401/404), the backoff is exponential with
jitter and testable (a zero base in tests), each attempt is counted in the error we raise, and retries
compose predictably with the fallback list (each model gets its own retry budget, in order). litellm's
internal retries are switched off (``max_retries=0``) so attempts are not multiplied.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_ai._instrumentation import get_instructions
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    ModelResponsePart,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models import Model, ModelRequestParameters, check_allow_model_requests
from pydantic_ai.output import OutputObjectDefinition
from pydantic_ai.profiles import ModelProfile
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import ToolDefinition
from pydantic_ai.usage import RequestUsage
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from agent.llm.errors import ModelUnavailable

__all__ = ["LiteLLMModel", "import_litellm", "is_retryable"]


def import_litellm() -> Any:
    """Import litellm configured for a closed network and for respx: local cost map, httpx transport."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("DISABLE_AIOHTTP_TRANSPORT", "True")
    import litellm

    if not getattr(litellm, "disable_aiohttp_transport", False):
        litellm.disable_aiohttp_transport = True
        litellm.in_memory_llm_clients_cache.flush_cache()  # type: ignore[no-untyped-call]
    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


def is_retryable(exc: BaseException) -> bool:
    """429, 5xx, timeouts and connection failures are worth another try; client errors are not."""
    litellm = import_litellm()
    if isinstance(exc, litellm.Timeout | litellm.APIConnectionError | litellm.RateLimitError):
        return True
    if isinstance(exc, litellm.InternalServerError | litellm.ServiceUnavailableError | litellm.BadGatewayError):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


@dataclass(init=False)
class LiteLLMModel(Model):
    """Any litellm model id (``openai/gpt-4.1-mini``, ``anthropic/...``, ``ollama_chat/...``), in process."""

    def __init__(
        self,
        model: str,
        *,
        fallback_models: Sequence[str] = (),
        api_key: str | None = None,
        api_base: str | None = None,
        timeout_s: float = 30.0,
        max_retries: int = 3,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 8.0,
        settings: ModelSettings | None = None,
    ) -> None:
        # JSON-schema output (`NativeOutput`) is passed on as `response_format`; whether the server honours it
        # is the server's business (llama-server, vLLM and Ollama do, by grammar or guided decoding).
        profile = ModelProfile(supports_json_schema_output=True, supports_json_object_output=True)
        super().__init__(settings=settings, profile=profile)
        self._model = model
        self.fallback_models = list(fallback_models)
        self._api_key = api_key
        self.api_base = api_base
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s

    @property
    def model_name(self) -> str:
        return self._model

    @property
    def system(self) -> str:
        return self._model.split("/", 1)[0] if "/" in self._model else "litellm"

    # --- the request -----------------------------------------------------------------------------------

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        check_allow_model_requests()
        model_settings, params = self.prepare_request(model_settings, model_request_parameters)
        prepared = self.prepare_messages(messages, params)
        wire_messages = self._map_messages(prepared, get_instructions(messages, params))
        tools = [self._map_tool(t) for t in [*params.function_tools, *params.output_tools]]
        kwargs: dict[str, Any] = {"messages": wire_messages, "timeout": self.timeout_s, "max_retries": 0}
        if tools:
            kwargs["tools"] = tools
            kwargs["tool_choice"] = "required" if not params.allow_text_output else "auto"
        if params.output_mode == "native" and params.output_object is not None:
            kwargs["response_format"] = self._response_format(params.output_object)
        for key in ("temperature", "max_tokens", "top_p", "seed"):
            if model_settings and key in model_settings:
                kwargs[key] = model_settings.get(key)
        if self._api_key:
            kwargs["api_key"] = self._api_key
        elif self.api_base:
            # a local OpenAI-compatible server (llama-server, vLLM) needs no key, but the OpenAI client wants one
            kwargs["api_key"] = "no-key"
        if self.api_base:
            kwargs["api_base"] = self.api_base

        attempts = 0
        last: BaseException | None = None
        tried: list[str] = []
        for model_id in [self._model, *self.fallback_models]:
            tried.append(model_id)
            try:
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(self.max_retries + 1),
                    wait=wait_random_exponential(multiplier=self.backoff_base_s, max=self.backoff_max_s),
                    retry=retry_if_exception(is_retryable),
                    reraise=True,
                ):
                    with attempt:
                        attempts += 1
                        raw = await import_litellm().acompletion(model=model_id, **kwargs)
                return self._map_response(raw, model_id)
            except Exception as exc:  # any provider failure moves on to the next model in the list
                last = exc
                continue
        detail = f"all models failed after {attempts} attempts ({', '.join(tried)}): {type(last).__name__}: {last}"
        raise ModelUnavailable(detail, models=tried, attempts=attempts, last_error=repr(last)) from last

    # --- mapping to and from the OpenAI-compatible shape -----------------------------------------------

    @staticmethod
    def _response_format(obj: OutputObjectDefinition) -> dict[str, Any]:
        """The OpenAI `response_format` for a JSON-schema output (litellm translates it for other providers)."""
        schema: dict[str, Any] = {"name": obj.name or "final_result", "schema": obj.json_schema}
        if obj.description:
            schema["description"] = obj.description
        if obj.strict is not None:
            schema["strict"] = obj.strict
        return {"type": "json_schema", "json_schema": schema}

    @staticmethod
    def _map_tool(t: ToolDefinition) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": t.name, "description": t.description or "", "parameters": t.parameters_json_schema},
        }

    @staticmethod
    def _map_messages(messages: list[ModelMessage], instructions: str | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if instructions:
            out.append({"role": "system", "content": instructions})
        for msg in messages:
            if isinstance(msg, ModelRequest):
                for part in msg.parts:
                    if isinstance(part, SystemPromptPart):
                        out.append({"role": "system", "content": part.content})
                    elif isinstance(part, UserPromptPart):
                        content = (
                            part.content
                            if isinstance(part.content, str)
                            else "\n".join(c for c in part.content if isinstance(c, str))
                        )
                        out.append({"role": "user", "content": content})
                    elif isinstance(part, ToolReturnPart):
                        out.append(
                            {"role": "tool", "tool_call_id": part.tool_call_id, "content": part.model_response_str()}
                        )
            elif isinstance(msg, ModelResponse):
                text = "".join(p.content for p in msg.parts if isinstance(p, TextPart))
                calls = [
                    {
                        "id": p.tool_call_id,
                        "type": "function",
                        "function": {"name": p.tool_name, "arguments": p.args_as_json_str()},
                    }
                    for p in msg.parts
                    if isinstance(p, ToolCallPart)
                ]
                entry: dict[str, Any] = {"role": "assistant", "content": text or None}
                if calls:
                    entry["tool_calls"] = calls
                out.append(entry)
        return out

    @staticmethod
    def _map_response(raw: Any, model_id: str) -> ModelResponse:
        choice = raw.choices[0]
        message = choice.message
        parts: list[ModelResponsePart] = []
        if getattr(message, "content", None):
            parts.append(TextPart(message.content))
        for call in getattr(message, "tool_calls", None) or []:
            # arguments stay a string: malformed JSON is caught by pydantic-ai's validation and retried
            parts.append(ToolCallPart(call.function.name, call.function.arguments or "{}", tool_call_id=call.id))
        usage_raw = getattr(raw, "usage", None)
        usage = RequestUsage(
            input_tokens=int(getattr(usage_raw, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage_raw, "completion_tokens", 0) or 0),
        )
        cost: float | None
        try:
            cost = float(import_litellm().completion_cost(completion_response=raw, model=model_id))
        except Exception:  # cost unknown for this model: stored as None, never guessed
            cost = None
        return ModelResponse(
            parts=parts,
            usage=usage,
            model_name=model_id,
            provider_name=model_id.split("/", 1)[0] if "/" in model_id else "litellm",
            provider_response_id=getattr(raw, "id", None),
            provider_details={"cost_usd": cost, "finish_reason": getattr(choice, "finish_reason", None)},
        )


def cost_of(messages: Sequence[ModelMessage]) -> float | None:
    """Total cost in USD over the responses of a run, or None if any response's cost is unknown."""
    total = 0.0
    for m in messages:
        if isinstance(m, ModelResponse):
            details = m.provider_details or {}
            if "cost_usd" not in details:
                continue
            c = details["cost_usd"]
            if c is None:
                return None
            total += float(c)
    return total

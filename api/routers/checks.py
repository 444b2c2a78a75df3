"""Reply checks on demand: NG words, personal data, policy, length."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from agent.checks import MAX_TEXT_CHARS, TextTooLong
from api.deps import Actor, RuntimeDep, requires
from api.errors import ERROR_RESPONSES
from kizuki.core.errors import InvalidInput, PayloadTooLarge

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)


class CheckRequest(BaseModel):
    text: str = Field(max_length=1_000_000, description="The reply to check (empty is a valid pass)")
    post_text: str | None = Field(default=None, max_length=1_000_000, description="The post it answers")
    channel: str | None = Field(default=None, max_length=32)


@router.post("/checks", tags=["checks"], summary="Check a reply: NG words, personal data, policy, length")
def run_checks(
    rt: RuntimeDep, actor: Annotated[Actor, requires("agent", "editor", "evaluator")], body: CheckRequest
) -> dict[str, Any]:
    with rt.db.reading() as s:
        _, org = rt.org.current(s)
    try:
        result = rt.checker_for(org).check(body.text, post_text=body.post_text, channel=body.channel)
    except TextTooLong as exc:
        raise PayloadTooLarge(f"{exc} (limit {MAX_TEXT_CHARS} characters)") from None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return dict(result.model_dump())

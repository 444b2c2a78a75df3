"""Requests and answers of review decisions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from agent.posts.schemas import DraftPublic
from kizuki.core.text import check_storable

MAX_REPLY_CHARS = 5_000
RejectReason = Literal["wrong_facts", "tone", "privacy", "policy", "off_topic", "duplicate", "not_needed", "other"]


class ApproveRequest(BaseModel):
    version: int | None = Field(default=None, ge=1, description="The draft version you reviewed; stale → 409")
    text: str | None = Field(default=None, min_length=1, max_length=MAX_REPLY_CHARS, description="Edited reply")
    note: str | None = Field(default=None, max_length=2000)
    acknowledge_warnings: bool = Field(default=False, description="Required when the final text has warn findings")

    @field_validator("text")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = check_storable(v, "text").strip()
        if not v:
            raise ValueError("text must not be blank")
        return v


class RejectRequest(BaseModel):
    reason: RejectReason
    note: str | None = Field(default=None, max_length=2000)
    version: int | None = Field(default=None, ge=1)


class RegenerateRequest(BaseModel):
    instructions: str | None = Field(default=None, max_length=2000, description="What the new draft should change")
    version: int | None = Field(default=None, ge=1)


class MarkSentRequest(BaseModel):
    url: str | None = Field(default=None, max_length=2000, description="Where the reply was posted")
    note: str | None = Field(default=None, max_length=2000)


class RegenerateResponse(BaseModel):
    superseded: DraftPublic
    post_id: int
    generation: int
    job_id: int

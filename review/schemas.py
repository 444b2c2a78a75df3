"""Requests and answers of review decisions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from agent.posts.schemas import DraftPublic
from kizuki.core.text import check_storable

MAX_REPLY_CHARS = 5_000
RejectReason = Literal["wrong_facts", "tone", "privacy", "policy", "off_topic", "duplicate", "not_needed", "other"]


_VERSION_RULE = (
    "The draft version you reviewed (`version` of the draft as you saw it). A different current version → 409 "
    "StaleVersion with the current version, status, text and approvals. It may be left out only while the draft is "
    "at version 1 (unchanged since it was drafted); a draft that changed since (edited, approved once by someone "
    "else, rejected, regenerated) needs it: 409 StaleVersion without it."
)


class ApproveRequest(BaseModel):
    version: int | None = Field(
        default=None, ge=1, description=_VERSION_RULE + " Required with an edited `text` (422 VersionRequired)."
    )
    text: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_REPLY_CHARS,
        description="Edited reply; needs `version` (the version you edited). The draft's own text is no edit.",
    )
    note: str | None = Field(default=None, max_length=2000)
    acknowledge_warnings: bool = Field(default=False, description="Required when the final text has warn findings")

    @field_validator("note")
    @classmethod
    def _note(cls, v: str | None) -> str | None:
        return None if v is None else check_storable(v, "note")

    @field_validator("text")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = check_storable(v, "text").strip()
        if not v:
            raise ValueError("text must not be blank")
        return v


class _Storable(BaseModel):
    """Free text a person sends (notes, instructions, URLs) must be storable: no NUL, controls or lone
    surrogates (PostgreSQL refuses a NUL, and the refusal would be a 500)."""

    @field_validator("note", "instructions", "url", check_fields=False)
    @classmethod
    def _storable(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else check_storable(v, str(info.field_name))


class RejectRequest(_Storable):
    reason: RejectReason
    note: str | None = Field(default=None, max_length=2000)
    version: int | None = Field(default=None, ge=1, description=_VERSION_RULE)


class RegenerateRequest(_Storable):
    instructions: str | None = Field(
        default=None,
        max_length=2000,
        description="What the new draft should change. While a regeneration of the post is queued or running, "
        "another is refused (409 RegenerationPending naming that job and its instructions), never merged or dropped: "
        "give these instructions to the new draft once it is there.",
    )
    version: int | None = Field(default=None, ge=1, description=_VERSION_RULE)


class RedeliverRequest(_Storable):
    note: str | None = Field(default=None, max_length=2000, description="Why (kept in the audit log)")
    version: int | None = Field(
        default=None, ge=1, description="Optional: the version you saw; a different current version → 409 StaleVersion"
    )


class MarkSentRequest(_Storable):
    url: str | None = Field(default=None, max_length=2000, description="Where the reply was posted")
    note: str | None = Field(default=None, max_length=2000)


class RegenerateResponse(BaseModel):
    superseded: DraftPublic
    post_id: int
    generation: int
    job_id: int

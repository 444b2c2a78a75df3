"""Personal data at rest (admin only): erase one author's data on request, run retention now.

The handle travels in the request body, never in the URL, so that no access log records it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from agent.posts.privacy import canonical_handle, canonical_source, forget_author, privacy_key, redact_old_posts
from api.deps import Actor, RuntimeDep, requires
from api.errors import ERROR_RESPONSES
from kizuki.core.text import check_storable

router = APIRouter(prefix="/v1/privacy", responses=ERROR_RESPONSES, tags=["privacy"])
Admin = Annotated[Actor, requires("admin")]


class ErasureIn(BaseModel):
    source: str = Field(min_length=1, max_length=32, examples=["x"])
    handle: str = Field(min_length=1, max_length=100, description="With or without @; compared NFKC, case-folded")
    dry_run: bool = Field(default=False, description="Only count what would be erased")

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        v = check_storable(v, "source")
        if not canonical_source(v):
            raise ValueError("source must not be empty")
        return v

    @field_validator("handle")
    @classmethod
    def _handle(cls, v: str) -> str:
        v = check_storable(v, "handle")
        if not canonical_handle(v):
            raise ValueError("handle must not be empty")
        return v


class ErasurePublic(BaseModel):
    source: str
    author_key: str = Field(description="Keyed hash of (source, handle): the audit entry's subject is author:<key>")
    dry_run: bool
    posts: int
    drafts: int
    jobs: int
    post_ids: list[int]


class RedactionIn(BaseModel):
    older_than_days: int | None = Field(default=None, ge=1, le=36500, description="Default KIZUKI_RETENTION_DAYS")
    dry_run: bool = False


class RedactionPublic(BaseModel):
    cutoff: str
    dry_run: bool
    posts: int
    drafts: int
    skipped_in_progress: int


@router.post("/erasures", response_model=ErasurePublic)
def erase_author(rt: RuntimeDep, actor: Admin, body: ErasureIn) -> ErasurePublic:
    """Delete one author's posts (also those retention redacted), their drafts and their jobs; the audit entry
    holds counts, ids and the author's keyed hash, never the handle."""
    key = privacy_key(rt.settings)
    if body.dry_run:
        with rt.db.reading() as s:
            report = forget_author(s, key, body.source, body.handle, actor=actor.name, dry_run=True)
    else:
        with rt.db.session() as s:
            report = forget_author(s, key, body.source, body.handle, actor=actor.name)
    return ErasurePublic.model_validate(report.as_dict())


@router.post("/redactions", response_model=RedactionPublic)
def redact_now(rt: RuntimeDep, actor: Admin, body: RedactionIn) -> RedactionPublic:
    """Run retention now: redact the personal data of posts older than `older_than_days` (default the setting)."""
    from kizuki.core.errors import InvalidInput

    days = body.older_than_days or rt.settings.retention_days
    if not days:
        raise InvalidInput("retention is off (KIZUKI_RETENTION_DAYS=0): give older_than_days")
    report = redact_old_posts(
        rt.db, rt.redactor(), privacy_key(rt.settings), older_than_days=days, actor=actor.name, dry_run=body.dry_run
    )
    return RedactionPublic.model_validate(report.as_dict())

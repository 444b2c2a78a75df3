"""Administration: tokens, the audit log, watch rules and the do-not-engage list, reply checks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from agent.models import DoNotEngageEntry, WatchRuleSet
from api import auth
from api.deps import Actor, Offset, RuntimeDep, requires
from api.errors import ERROR_RESPONSES
from kizuki import audit
from kizuki.errors import InvalidInput, NotFound, PayloadTooLarge
from kizuki.models import utcnow

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)


# -- tokens ------------------------------------------------------------------------------------
class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: auth.Role


class TokenCreated(BaseModel):
    id: int
    name: str
    role: str
    token: str = Field(description="Shown once; only its hash is stored")


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED, tags=["admin"])
def create_token(rt: RuntimeDep, actor: Annotated[Actor, requires("admin")], body: TokenCreate) -> TokenCreated:
    with rt.db.session() as s:
        row, secret = auth.create_token(s, name=body.name, role=body.role, actor=actor.name)
        return TokenCreated(id=row.id, name=row.name, role=row.role, token=secret)


# -- audit -------------------------------------------------------------------------------------
class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    before: Any
    after: Any
    note: str | None
    hash: str


@router.get("/audit", response_model=list[AuditPublic], tags=["admin"], summary="Who did what, when")
def list_audit(
    rt: RuntimeDep,
    actor: Annotated[Actor, requires("admin")],
    subject: Annotated[str | None, Query(max_length=300, description="e.g. draft:12, knowledge:returns-01")] = None,
    actor_: Annotated[str | None, Query(alias="actor", max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[AuditPublic]:
    stmt = select(audit.AuditEntry)
    if subject:
        stmt = stmt.where(audit.AuditEntry.subject == subject)
    if actor_:
        stmt = stmt.where(audit.AuditEntry.actor == actor_)
    if action:
        stmt = stmt.where(audit.AuditEntry.action == action)
    if since is not None:
        if since.tzinfo is None:
            raise InvalidInput("since needs a time zone, e.g. 2026-11-20T10:00:00+09:00")
        stmt = stmt.where(audit.AuditEntry.at >= since)
    with rt.db.reading() as s:
        rows = s.scalars(stmt.order_by(audit.AuditEntry.id).limit(limit).offset(offset)).all()
        return [AuditPublic.model_validate(r, from_attributes=True) for r in rows]


# -- checks ------------------------------------------------------------------------------------
class CheckRequest(BaseModel):
    text: str = Field(max_length=1_000_000, description="The reply to check (empty is a valid pass)")
    post_text: str | None = Field(default=None, max_length=1_000_000, description="The post it answers")
    channel: str | None = Field(default=None, max_length=32)


@router.post("/checks", tags=["checks"], summary="Check a reply: NG words, personal data, policy, length")
def run_checks(
    rt: RuntimeDep, actor: Annotated[Actor, requires("agent", "editor", "evaluator")], body: CheckRequest
) -> dict[str, Any]:
    from agent.checks import MAX_TEXT_CHARS, TextTooLong

    try:
        result = rt.checker.check(body.text, post_text=body.post_text, channel=body.channel)
    except TextTooLong as exc:
        raise PayloadTooLarge(f"{exc} (limit {MAX_TEXT_CHARS} characters)") from None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return dict(result.model_dump())


# -- watch rules -------------------------------------------------------------------------------
class WatchRulesPublic(BaseModel):
    version: int
    rules: dict[str, Any]
    created_at: datetime | None = None
    created_by: str | None = None
    note: str | None = None


class WatchRulesUpdate(BaseModel):
    rules: dict[str, Any]
    version: int = Field(ge=0, description="The version you edited (0 = the shipped defaults); stale → 409")
    note: str | None = Field(default=None, max_length=2000)


@router.get("/watch-rules", response_model=WatchRulesPublic, tags=["watch rules"])
def get_watch_rules(rt: RuntimeDep, actor: Annotated[Actor, requires("editor", "agent")]) -> WatchRulesPublic:
    with rt.db.reading() as s:
        version, rules = rt.pipeline.watch_rules(s)
        row = s.scalars(select(WatchRuleSet).where(WatchRuleSet.version == version)).first()
        return WatchRulesPublic(
            version=version,
            rules=rules.model_dump(),
            created_at=row.created_at if row else None,
            created_by=row.created_by if row else None,
            note=row.note if row else "shipped defaults",
        )


@router.put("/watch-rules", response_model=WatchRulesPublic, tags=["watch rules"], summary="Save a new version")
def put_watch_rules(
    rt: RuntimeDep, actor: Annotated[Actor, requires("editor")], body: WatchRulesUpdate
) -> WatchRulesPublic:
    from pydantic import ValidationError

    from agent.intake.watch import WatchRules, compile_rules
    from kizuki.errors import Conflict

    try:
        rules = WatchRules.model_validate(body.rules)
        compile_rules(rules)
    except (ValidationError, ValueError) as exc:
        raise InvalidInput(f"invalid watch rules: {exc}") from None
    with rt.db.session() as s:
        current, old = rt.pipeline.watch_rules(s)
        if body.version != current:
            raise Conflict(f"watch rules are at version {current}; you edited version {body.version}")
        row = WatchRuleSet(version=current + 1, rules=rules.model_dump(), created_by=actor.name, note=body.note)
        s.add(row)
        s.flush()
        audit.record(
            s,
            actor=actor.name,
            action="watch_rules.update",
            subject="watch_rules",
            before={"version": current, "rules": old.model_dump()},
            after={"version": row.version, "rules": row.rules},
            note=body.note,
        )
        return WatchRulesPublic(
            version=row.version, rules=row.rules, created_at=row.created_at, created_by=row.created_by, note=row.note
        )


@router.get("/watch-rules/versions", response_model=list[WatchRulesPublic], tags=["watch rules"])
def watch_rule_versions(rt: RuntimeDep, actor: Annotated[Actor, requires("editor", "agent")]) -> list[WatchRulesPublic]:
    with rt.db.reading() as s:
        rows = s.scalars(select(WatchRuleSet).order_by(WatchRuleSet.version)).all()
        return [
            WatchRulesPublic(
                version=r.version, rules=r.rules, created_at=r.created_at, created_by=r.created_by, note=r.note
            )
            for r in rows
        ]


# -- do-not-engage -----------------------------------------------------------------------------
class DoNotEngageIn(BaseModel):
    handle: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=2000)
    expires_at: datetime | None = None


class DoNotEngagePublic(BaseModel):
    handle: str
    reason: str
    expires_at: datetime | None
    added_by: str
    added_at: datetime


@router.get("/do-not-engage", response_model=list[DoNotEngagePublic], tags=["watch rules"])
def list_dne(rt: RuntimeDep, actor: Annotated[Actor, requires("agent", "editor")]) -> list[DoNotEngagePublic]:
    with rt.db.reading() as s:
        rows = s.scalars(select(DoNotEngageEntry).order_by(DoNotEngageEntry.handle)).all()
        return [DoNotEngagePublic.model_validate(r, from_attributes=True) for r in rows]


@router.post("/do-not-engage", response_model=DoNotEngagePublic, status_code=201, tags=["watch rules"])
def add_dne(
    rt: RuntimeDep, actor: Annotated[Actor, requires("agent", "editor")], body: DoNotEngageIn
) -> DoNotEngagePublic:
    handle = body.handle.strip().lstrip("@").lower()
    if not handle:
        raise InvalidInput("handle must not be empty")
    if body.expires_at is not None and body.expires_at.tzinfo is None:
        raise InvalidInput("expires_at needs a time zone")
    with rt.db.session() as s:
        row = s.scalars(select(DoNotEngageEntry).where(DoNotEngageEntry.handle == handle)).first()
        before = None
        if row is None:
            row = DoNotEngageEntry(
                handle=handle, reason=body.reason, expires_at=body.expires_at, added_by=actor.name, added_at=utcnow()
            )
            s.add(row)
        else:
            before = {"reason": row.reason, "expires_at": row.expires_at}
            row.reason, row.expires_at, row.added_by, row.added_at = body.reason, body.expires_at, actor.name, utcnow()
        s.flush()
        audit.record(
            s,
            actor=actor.name,
            action="do_not_engage.add",
            subject=f"handle:{handle}",
            before=before,
            after={"reason": body.reason, "expires_at": body.expires_at},
        )
        return DoNotEngagePublic.model_validate(row, from_attributes=True)


@router.delete("/do-not-engage/{handle}", status_code=204, tags=["watch rules"])
def remove_dne(rt: RuntimeDep, actor: Annotated[Actor, requires("agent", "editor")], handle: str) -> None:
    handle = handle.strip().lstrip("@").lower()
    with rt.db.session() as s:
        row = s.scalars(select(DoNotEngageEntry).where(DoNotEngageEntry.handle == handle)).first()
        if row is None:
            raise NotFound(f"@{handle} is not on the do-not-engage list")
        audit.record(
            s,
            actor=actor.name,
            action="do_not_engage.remove",
            subject=f"handle:{handle}",
            before={"reason": row.reason},
        )
        s.delete(row)

"""The organisation profile: the version in force, a new version (editor), every version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from agent.org import service
from agent.org.schemas import OrgProfile, OrgProfilePublic, OrgProfileUpdate
from api.deps import Actor, RuntimeDep, requires
from api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["organisation"])


@router.get("/org", response_model=OrgProfilePublic, summary="The organisation profile in force")
def get_org(rt: RuntimeDep, actor: Annotated[Actor, requires("editor", "agent")]) -> OrgProfilePublic:
    with rt.db.reading() as s:
        version, profile = rt.org.current(s)
        row = service.version_row(s, version) if version else None
        return OrgProfilePublic(
            version=version,
            profile=profile,
            created_at=row.created_at if row else None,
            created_by=row.created_by if row else None,
            note=row.note if row else "no profile set",
        )


@router.put("/org", response_model=OrgProfilePublic, summary="Save a new version of the organisation profile")
def put_org(rt: RuntimeDep, actor: Annotated[Actor, requires("editor")], body: OrgProfileUpdate) -> OrgProfilePublic:
    with rt.db.session() as s:
        row = service.save_profile(
            s, rt.org, body.profile, edited_version=body.version, actor=actor.name, note=body.note
        )
        return OrgProfilePublic(
            version=row.version,
            profile=OrgProfile.model_validate(row.profile),
            created_at=row.created_at,
            created_by=row.created_by,
            note=row.note,
        )


@router.get("/org/versions", response_model=list[OrgProfilePublic], summary="Every version of the profile")
def org_versions(rt: RuntimeDep, actor: Annotated[Actor, requires("editor", "agent")]) -> list[OrgProfilePublic]:
    with rt.db.reading() as s:
        return [
            OrgProfilePublic(
                version=r.version,
                profile=OrgProfile.model_validate(r.profile),
                created_at=r.created_at,
                created_by=r.created_by,
                note=r.note,
            )
            for r in service.versions(s)
        ]

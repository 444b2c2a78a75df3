"""Knowledge endpoints for editors: list, get, create, update, archive, revisions, search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import Actor, IdPath, Offset, RuntimeDep, requires
from api.errors import ERROR_RESPONSES
from knowledge import repository
from knowledge.schemas import (
    MAX_TAG_CHARS,
    EntryCreate,
    EntryPage,
    EntryPublic,
    EntryUpdate,
    Kind,
    Lang,
    RevisionPublic,
    SearchRequest,
    SearchResponse,
    Status,
)

router = APIRouter(prefix="/v1/knowledge", tags=["knowledge"], responses=ERROR_RESPONSES)
Editor = Annotated[Actor, requires("editor")]
Reader = Annotated[Actor, requires("editor", "agent")]


@router.get("", response_model=EntryPage, summary="List entries")
def list_entries(
    rt: RuntimeDep,
    actor: Reader,
    kind: Kind | None = None,
    lang: Lang | None = None,
    tag: Annotated[str | None, Query(max_length=MAX_TAG_CHARS)] = None,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    text: Annotated[str | None, Query(max_length=200, description="Substring of key, title or body")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> EntryPage:
    with rt.db.reading() as s:
        rows, total = repository.list_entries(
            s, kind=kind, lang=lang, tag=tag, status=status_, text=text, limit=limit, offset=offset
        )
        return EntryPage(items=[repository.to_public(r) for r in rows], total=total, limit=limit, offset=offset)


@router.post("", response_model=EntryPublic, status_code=status.HTTP_201_CREATED, summary="Create an entry")
def create_entry(rt: RuntimeDep, actor: Editor, body: EntryCreate) -> EntryPublic:
    return rt.knowledge.create(body, actor=actor.name)


@router.post("/search", response_model=SearchResponse, summary="Hybrid search (published entries by default)")
def search(rt: RuntimeDep, actor: Reader, body: SearchRequest) -> SearchResponse:
    return rt.knowledge.search(body)


@router.get("/{key}", response_model=EntryPublic, summary="Get an entry")
def get_entry(rt: RuntimeDep, actor: Reader, key: str) -> EntryPublic:
    with rt.db.reading() as s:
        return repository.to_public(repository.get_entry(s, key))


@router.put("/{key}", response_model=EntryPublic, summary="Update an entry (409 on a stale revision)")
def update_entry(rt: RuntimeDep, actor: Editor, key: str, body: EntryUpdate) -> EntryPublic:
    return rt.knowledge.update(key, body, actor=actor.name)


@router.delete("/{key}", response_model=EntryPublic, summary="Archive an entry (kept with its revisions)")
def archive_entry(
    rt: RuntimeDep,
    actor: Editor,
    key: str,
    revision: Annotated[
        int | None, Query(ge=1, le=2_147_483_647, description="Refuse (409) unless this is current")
    ] = None,
) -> EntryPublic:
    return rt.knowledge.archive(key, actor=actor.name, revision=revision)


@router.get("/{key}/revisions", response_model=list[RevisionPublic], summary="Every revision of an entry")
def list_revisions(rt: RuntimeDep, actor: Reader, key: str) -> list[RevisionPublic]:
    with rt.db.reading() as s:
        return repository.revisions(s, key)


@router.get("/{key}/revisions/{revision}", response_model=RevisionPublic, summary="One revision of an entry")
def get_revision(rt: RuntimeDep, actor: Reader, key: str, revision: IdPath) -> RevisionPublic:
    with rt.db.reading() as s:
        return repository.get_revision(s, key, revision)

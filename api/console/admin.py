"""Console pages for editors, evaluators and admins: knowledge, watch rules, profile, evaluations, audit.

Every page goes through the services REST uses, with the roles REST declares for the same action, so a
console edit and an API edit leave the same revision and the same audit entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from agent.intake import service as watch_service
from agent.intake.watch import WatchRules
from agent.org import service as org_service
from agent.org.schemas import OrgProfile
from api.console import admin_data
from api.console.auth import can, console_actor, csrf_protect
from api.console.render import render
from api.deps import MAX_ID, Actor, IdPath, RuntimeDep
from evals import service as eval_service
from evals.schema import list_suites
from kizuki.core import audit
from kizuki.core.audit import AuditEntry
from kizuki.core.errors import InvalidInput, KizukiError, NotFound
from kizuki.core.yamlfile import dump_yaml, parse_yaml
from kizuki.runtime import Runtime
from knowledge import io as kio
from knowledge import repository as kb
from knowledge.schemas import MAX_KEY_CHARS, EntryCreate, EntryUpdate, SearchRequest

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

Editor = Annotated[Actor, console_actor("editor")]
Reader = Annotated[Actor, console_actor("editor", "agent")]
Evaluator = Annotated[Actor, console_actor("evaluator")]
Admin = Annotated[Actor, console_actor("admin")]

PAGE_SIZE = 25
MAX_RANKED = 20  # hits of a ranked search (the REST search allows up to 50)
AUDIT_PAGE_SIZE = 50
MAX_PAGE = 100_000
MAX_YAML_CHARS = 200_000
PageNo = Annotated[int, Query(ge=1, le=MAX_PAGE)]
KeyPath = Annotated[str, Path(min_length=1, max_length=MAX_KEY_CHARS)]
IdQuery = Annotated[int, Query(ge=1, le=MAX_ID)]
KindFilter = Literal["", "faq", "policy"]
LangFilter = Literal["", "ja", "en"]
StatusFilter = Literal["", "published", "draft", "archived"]


def _render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    return render(request, template, context, status_code=status_code)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _field(form: FormData, name: str, limit: int = 20_000) -> str:
    """A text field of a submitted form ('' when absent); an over-long value is refused, not cut."""
    value = form.get(name)
    if value is None or isinstance(value, UploadFile):
        return ""
    if len(value) > limit:
        raise InvalidInput(f"{name} is {len(value)} characters; the limit is {limit}")
    return value


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__")
        msg = str(err["msg"]).removeprefix("Value error, ")
        out.append(f"{loc}: {msg}" if loc else msg)
    return out


def _number(raw: str) -> int | None:
    """A form's whole number (ASCII digits only: `int` would also take "１" and fail on "²"), else None."""
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _tags(raw: str) -> list[str]:
    return [t for t in (part.strip() for part in raw.replace("、", ",").split(",")) if t]


def _pages(total: int, size: int) -> int:
    return max(1, math.ceil(total / size))


# -- knowledge -------------------------------------------------------------------------------------
class EntryForm(BaseModel):
    """The entry editor's fields as typed (validated again by `EntryCreate` / `EntryUpdate`)."""

    key: str = ""
    kind: str = "faq"
    title: str = ""
    body: str = ""
    lang: str = "ja"
    tags: str = ""
    status: str = "published"
    note: str = ""
    revision: int = 0

    @classmethod
    def read(cls, form: FormData) -> EntryForm:
        revision = _number(_field(form, "revision", 12))
        return cls(
            key=_field(form, "key", MAX_KEY_CHARS * 2),
            kind=_field(form, "kind", 16),
            title=_field(form, "title", 2_000),
            body=_field(form, "body", 20_000),
            lang=_field(form, "lang", 8),
            tags=_field(form, "tags", 2_000),
            status=_field(form, "status", 16),
            note=_field(form, "note", 2_000),
            revision=revision or 0,
        )


@router.get("/knowledge")
def knowledge_list(
    request: Request,
    rt: RuntimeDep,
    actor: Reader,
    q: Annotated[str, Query(max_length=200)] = "",
    kind: KindFilter = "",
    lang: LangFilter = "",
    status: StatusFilter = "",
    page: PageNo = 1,
    ranked: bool = False,
) -> Response:
    """Entries by key with filters and a substring search (as GET /v1/knowledge), or with `ranked` the hybrid
    search replies use (as POST /v1/knowledge/search), best first, drafts included unless filtered out."""
    filters = {"q": q, "kind": kind, "lang": lang, "status": status, "ranked": "1" if ranked else ""}
    if ranked and q.strip():
        include_drafts = status != "published"
        try:
            request_ = SearchRequest(
                query=q, k=MAX_RANKED, kind=kind or None, lang=lang or None, include_drafts=include_drafts
            )
        except ValidationError as exc:
            raise InvalidInput("; ".join(_problems(exc))) from None
        hits = [h for h in rt.knowledge.search(request_).hits if not status or h.status == status]
        return _render(
            request,
            "knowledge_list.html",
            items=[],
            hits=hits,
            total=len(hits),
            page=1,
            pages=1,
            filters=filters,
            query=_query_of(filters),
            can_edit=can(actor, "editor"),
        )
    with rt.db.reading() as s:
        rows, total = kb.list_entries(
            s,
            kind=kind or None,
            lang=lang or None,
            status=status or None,
            text=q.strip() or None,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        items = [kb.to_public(r) for r in rows]
    return _render(
        request,
        "knowledge_list.html",
        items=items,
        hits=None,
        total=total,
        page=page,
        pages=_pages(total, PAGE_SIZE),
        filters=filters,
        query=_query_of(filters),
        can_edit=can(actor, "editor"),
    )


def _query_of(filters: dict[str, Any]) -> Callable[..., str]:
    """The page's query string with some filters changed (`query(page=2)`), for links; empty ones left out."""
    return lambda **change: urlencode({k: v for k, v in {**filters, **change}.items() if v})


@router.get("/knowledge/-/new")
def knowledge_new(request: Request, actor: Editor) -> Response:
    return _render(request, "knowledge_edit.html", entry=None, form=EntryForm(), errors=[])


@router.post("/knowledge/-/new")
async def knowledge_create(request: Request, rt: RuntimeDep, actor: Editor) -> Response:
    form = await request.form()
    data = EntryForm.read(form)
    try:
        entry = EntryCreate(
            key=data.key.strip(),
            kind=data.kind,
            title=data.title,
            body=data.body,
            lang=data.lang,
            tags=_tags(data.tags),
            status=data.status,
        )
        created = rt.knowledge.create(entry, actor=actor.name)
    except ValidationError as exc:
        return _render(request, "knowledge_edit.html", 422, entry=None, form=data, errors=_problems(exc))
    except KizukiError as exc:
        return _render(request, "knowledge_edit.html", exc.status_code, entry=None, form=data, errors=[exc.detail])
    return _see_other(f"/knowledge/{created.key}?saved={created.revision}")


@router.get("/knowledge/-/import")
def knowledge_import_form(request: Request, actor: Editor) -> Response:
    return _render(request, "knowledge_import.html", report=None, problems=[], error=None, filename=None)


@router.post("/knowledge/-/import")
async def knowledge_import(request: Request, rt: RuntimeDep, actor: Editor) -> Response:
    """The parser of `kizuki kb import`: every bad line is listed and nothing is imported until all are good."""
    form = await request.form()
    try:
        return await _import_upload(request, rt, actor, form.get("file"))
    finally:
        await form.close()  # the upload's temporary file


async def _import_upload(request: Request, rt: RuntimeDep, actor: Actor, upload: UploadFile | str | None) -> Response:
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _render(request, "knowledge_import.html", 422, report=None, problems=[], error="no_file", filename=None)
    name = upload.filename[:200]
    lower = name.lower()
    fmt = "csv" if lower.endswith(".csv") else "jsonl" if lower.endswith((".jsonl", ".ndjson", ".json")) else None
    if fmt is None:
        return _render(request, "knowledge_import.html", 422, report=None, problems=[], error="format", filename=name)
    raw = await upload.read(kio.MAX_IMPORT_BYTES + 1)
    try:
        entries = kio.parse(kio.decode(raw, name), fmt, name)
        report = rt.knowledge.import_entries(entries, actor=actor.name)
    except kio.ImportFileError as exc:
        return _render(
            request, "knowledge_import.html", 422, report=None, problems=exc.problems, error=None, filename=name
        )
    except KizukiError as exc:
        return _render(
            request,
            "knowledge_import.html",
            exc.status_code,
            report=None,
            problems=[],
            error=exc.detail,
            filename=name,
        )
    return _render(request, "knowledge_import.html", report=report, problems=[], error=None, filename=name)


def _entry_page(
    request: Request,
    rt: RuntimeDep,
    actor: Actor,
    key: str,
    *,
    form: EntryForm | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
    saved: int | None = None,
) -> Response:
    with rt.db.reading() as s:
        entry = kb.to_public(kb.get_entry(s, key))
        revisions = kb.revisions(s, key)
    if form is None:
        form = EntryForm(
            key=entry.key,
            kind=entry.kind,
            title=entry.title,
            body=entry.body,
            lang=entry.lang,
            tags=", ".join(entry.tags),
            status=entry.status,
            revision=entry.revision,
        )
    return _render(
        request,
        "knowledge_entry.html",
        status_code,
        entry=entry,
        form=form,
        errors=errors or [],
        revisions=list(reversed(revisions))[:5],
        revision_count=len(revisions),
        can_edit=can(actor, "editor"),
        saved=saved,
    )


@router.get("/knowledge/{key}")
def knowledge_entry(
    request: Request,
    rt: RuntimeDep,
    actor: Reader,
    key: KeyPath,
    saved: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    return _entry_page(request, rt, actor, key, saved=saved)


@router.post("/knowledge/{key}")
async def knowledge_update(request: Request, rt: RuntimeDep, actor: Editor, key: KeyPath) -> Response:
    """Save the editor's fields as a new revision; a stale revision keeps the edit and says what happened."""
    form = await request.form()
    data = EntryForm.read(form)
    try:
        update = EntryUpdate(
            revision=data.revision,
            kind=data.kind or None,
            title=data.title,
            body=data.body,
            lang=data.lang or None,
            tags=_tags(data.tags),
            status=data.status or None,
            note=data.note.strip() or None,
        )
        saved = rt.knowledge.update(key, update, actor=actor.name)
    except ValidationError as exc:
        return _entry_page(request, rt, actor, key, form=data, errors=_problems(exc), status_code=422)
    except KizukiError as exc:
        if exc.status_code == 404:
            raise
        return _entry_page(request, rt, actor, key, form=data, errors=[exc.detail], status_code=exc.status_code)
    return _see_other(f"/knowledge/{key}?saved={saved.revision}")


@router.post("/knowledge/{key}/status")
async def knowledge_status(request: Request, rt: RuntimeDep, actor: Editor, key: KeyPath) -> Response:
    """Publish, unpublish (draft) or archive (what REST DELETE does): each is a new revision."""
    form = await request.form()
    target = _field(form, "status", 16)
    revision = _number(_field(form, "revision", 12))
    if target not in ("published", "draft", "archived") or revision is None:
        return _entry_page(request, rt, actor, key, errors=["status: published, draft or archived"], status_code=422)
    try:
        if target == "archived":
            saved = rt.knowledge.archive(key, actor=actor.name, revision=revision)
        else:
            upd = EntryUpdate(revision=revision, status=target)
            saved = rt.knowledge.update(key, upd, actor=actor.name)
    except ValidationError as exc:
        return _entry_page(request, rt, actor, key, errors=_problems(exc), status_code=422)
    except KizukiError as exc:
        if exc.status_code == 404:
            raise
        return _entry_page(request, rt, actor, key, errors=[exc.detail], status_code=exc.status_code)
    return _see_other(f"/knowledge/{key}?saved={saved.revision}")


@router.get("/knowledge/{key}/revisions")
def knowledge_revisions(request: Request, rt: RuntimeDep, actor: Reader, key: KeyPath) -> Response:
    with rt.db.reading() as s:
        entry = kb.to_public(kb.get_entry(s, key))
        revisions = kb.revisions(s, key)
    return _render(request, "knowledge_revisions.html", entry=entry, revisions=list(reversed(revisions)))


@router.get("/knowledge/{key}/revisions/{rev}")
def knowledge_revision(request: Request, rt: RuntimeDep, actor: Reader, key: KeyPath, rev: IdPath) -> Response:
    with rt.db.reading() as s:
        entry = kb.to_public(kb.get_entry(s, key))
        revision = kb.get_revision(s, key, rev)
    return _render(request, "knowledge_revision.html", entry=entry, revision=revision)


@router.get("/knowledge/{key}/diff")
def knowledge_diff(
    request: Request,
    rt: RuntimeDep,
    actor: Reader,
    key: KeyPath,
    a: IdQuery,
    b: IdQuery,
    view: Literal["side", "unified"] = "side",
) -> Response:
    with rt.db.reading() as s:
        entry = kb.to_public(kb.get_entry(s, key))
        old, new = kb.get_revision(s, key, a), kb.get_revision(s, key, b)
    return _render(request, "knowledge_diff.html", entry=entry, diff=admin_data.revision_diff(old, new), view=view)


# -- watch rules and organisation profile ----------------------------------------------------------
@dataclass(frozen=True)
class _Document:
    """A versioned YAML document the console shows and edits on one page layout (`watch_rules.html`)."""

    name: Literal["watch", "profile"]
    action: str
    noun: str  # "no {noun} version N"
    current: Callable[[Runtime, Session], tuple[int, str]]  # the version in force and its text
    versions: Callable[[Session], Sequence[Any]]
    stored_text: Callable[[Any], str]  # a stored version's text
    save: Callable[[Runtime, Actor, str, int, str | None], int]  # parse, validate, store: the new version


def _watch_current(rt: Runtime, s: Session) -> tuple[int, str]:
    version, rules = rt.watch_rules.current(s)
    return version, dump_yaml(rules.model_dump())


def _watch_save(rt: Runtime, actor: Actor, text: str, edited: int, note: str | None) -> int:
    rules = parse_yaml(text, WatchRules, "watch rules").model_dump()
    watch_service.validate_watch_rules(rules)
    with rt.db.session() as s:
        return watch_service.save_watch_rules(
            s, rt.watch_rules, rules, edited_version=edited, actor=actor.name, note=note
        ).version


def _profile_current(rt: Runtime, s: Session) -> tuple[int, str]:
    version, profile = rt.org.current(s)
    return version, dump_yaml(profile.model_dump(mode="json")) if profile is not None else ""


def _profile_save(rt: Runtime, actor: Actor, text: str, edited: int, note: str | None) -> int:
    profile = parse_yaml(text, OrgProfile, "profile")
    with rt.db.session() as s:
        return org_service.save_profile(s, rt.org, profile, edited_version=edited, actor=actor.name, note=note).version


_WATCH = _Document(
    "watch",
    "/watch-rules",
    "watch rules",
    _watch_current,
    watch_service.watch_rule_versions,
    lambda row: dump_yaml(row.rules),
    _watch_save,
)
_PROFILE = _Document(
    "profile",
    "/profile",
    "profile",
    _profile_current,
    org_service.versions,
    lambda row: dump_yaml(row.profile),
    _profile_save,
)


def _document_page(
    request: Request,
    rt: RuntimeDep,
    actor: Actor,
    doc: _Document,
    *,
    show: int | None = None,
    text: str | None = None,
    edited: int | None = None,
    note: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
    saved: int | None = None,
) -> Response:
    with rt.db.reading() as s:
        version, current = doc.current(rt, s)
        rows = list(reversed(doc.versions(s)))
    shown = next((r for r in rows if r.version == show), None) if show else None
    if show and shown is None:
        raise NotFound(f"no {doc.noun} version {show}")
    return _render(
        request,
        "watch_rules.html",
        status_code,
        doc=doc.name,
        action=doc.action,
        version=version,
        text=text if text is not None else current,
        edited=version if edited is None else edited,
        note=note,
        versions=rows,
        shown=shown,
        shown_text=doc.stored_text(shown) if shown is not None else None,
        errors=errors or [],
        can_edit=can(actor, "editor"),
        saved=saved,
    )


async def _document_save(request: Request, rt: RuntimeDep, actor: Actor, doc: _Document) -> Response:
    """Validate as the REST `PUT` does (errors name the line); on any error the text stays in the editor."""
    form = await request.form()
    text = _field(form, "yaml", MAX_YAML_CHARS)
    note = _field(form, "note", 2_000).strip()
    edited = _number(_field(form, "version", 12))
    try:
        if edited is None:
            raise InvalidInput("version: the version you edited is missing; reload the page")
        new_version = doc.save(rt, actor, text, edited, note or None)
    except KizukiError as exc:
        return _document_page(
            request,
            rt,
            actor,
            doc,
            text=text,
            edited=edited,
            note=note,
            errors=exc.detail.splitlines(),
            status_code=exc.status_code,
        )
    return _see_other(f"{doc.action}?saved={new_version}")


@router.get("/watch-rules")
def watch_rules_page(
    request: Request,
    rt: RuntimeDep,
    actor: Reader,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    saved: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    return _document_page(request, rt, actor, _WATCH, show=version, saved=saved)


@router.post("/watch-rules")
async def watch_rules_save(request: Request, rt: RuntimeDep, actor: Editor) -> Response:
    """Validate as `PUT /v1/watch-rules` does; on any error the text stays in the editor."""
    return await _document_save(request, rt, actor, _WATCH)


@router.get("/profile")
def profile_page(
    request: Request,
    rt: RuntimeDep,
    actor: Reader,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    saved: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    return _document_page(request, rt, actor, _PROFILE, show=version, saved=saved)


@router.post("/profile")
async def profile_save(request: Request, rt: RuntimeDep, actor: Editor) -> Response:
    """Validate as `PUT /v1/org` does (the `OrgProfile` model) and save a new version."""
    return await _document_save(request, rt, actor, _PROFILE)


# -- evaluations -----------------------------------------------------------------------------------
@router.get("/evals")
def evals_list(
    request: Request,
    rt: RuntimeDep,
    actor: Evaluator,
    suite: Annotated[str, Query(max_length=64)] = "",
    page: PageNo = 1,
) -> Response:
    with rt.db.reading() as s:
        runs, total = admin_data.list_runs(s, suite=suite or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        stored = admin_data.stored_suites(s)
    return _render(
        request,
        "evals_list.html",
        runs=runs,
        total=total,
        page=page,
        pages=_pages(total, PAGE_SIZE),
        suite=suite,
        stored_suites=stored,
        shipped_suites=list_suites(),
        error=None,
    )


@router.post("/evals/runs")
async def evals_start(request: Request, rt: RuntimeDep, actor: Evaluator) -> Response:
    """Start a run exactly as `POST /v1/evals/runs` does (offline model, shipped suites, size limit)."""
    from api.routers.evals import RunCreate, create_run

    form = await request.form()
    try:
        body = RunCreate(suite=_field(form, "suite", 64), model="offline")
        run = await create_run(rt, actor, body)
    except (KizukiError, ValidationError) as exc:
        detail = exc.detail if isinstance(exc, KizukiError) else "; ".join(_problems(exc))
        code = exc.status_code if isinstance(exc, KizukiError) else 422
        with rt.db.reading() as s:
            runs, total = admin_data.list_runs(s, limit=PAGE_SIZE)
            stored = admin_data.stored_suites(s)
        return _render(
            request,
            "evals_list.html",
            code,
            runs=runs,
            total=total,
            page=1,
            pages=_pages(total, PAGE_SIZE),
            suite="",
            stored_suites=stored,
            shipped_suites=list_suites(),
            error=detail,
        )
    return _see_other(f"/evals/{run.id}")


@router.get("/evals/compare")
def evals_compare(
    request: Request,
    rt: RuntimeDep,
    actor: Evaluator,
    a: IdQuery,
    b: IdQuery,
    tolerance: Annotated[float, Query(ge=0, le=1)] = 0.02,
) -> Response:
    with rt.db.reading() as s:
        view = admin_data.compare_runs(s, a, b, tolerance=tolerance)
    return _render(request, "evals_compare.html", view=view, tolerance=tolerance)


@router.get("/evals/{run_id}")
def evals_run(request: Request, rt: RuntimeDep, actor: Evaluator, run_id: IdPath) -> Response:
    with rt.db.reading() as s:
        run = eval_service.to_public(eval_service.get_run(s, run_id))
        others, _ = admin_data.list_runs(s, suite=run.suite, limit=20)
    cases = admin_data.failures_first(run.run)
    return _render(
        request,
        "evals_run.html",
        run=run,
        created_at=datetime.fromisoformat(run.created_at),
        cases=cases,
        reason=admin_data.case_reason,
        failing=sum(not c.passed for c in cases),
        others=[o for o in others if o.id != run.id],
    )


# -- audit -----------------------------------------------------------------------------------------
@router.get("/audit")
def audit_page(
    request: Request,
    rt: RuntimeDep,
    actor: Admin,
    subject: Annotated[str, Query(max_length=300)] = "",
    actor_: Annotated[str, Query(alias="actor", max_length=200)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    page: PageNo = 1,
) -> Response:
    """Entries about one subject or by one actor in the order they were written; with no filter, the newest."""
    subject, who, action = subject.strip(), actor_.strip(), action.strip()
    offset = (page - 1) * AUDIT_PAGE_SIZE
    with rt.db.reading() as s:
        if subject or who or action:
            entries = list(
                audit.search(
                    s,
                    subject=subject or None,
                    actor=who or None,
                    action=action or None,
                    limit=AUDIT_PAGE_SIZE + 1,
                    offset=offset,
                )
            )
        else:
            stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE_SIZE + 1).offset(offset)
            entries = list(s.scalars(stmt))
        rows = admin_data.audit_rows(entries[:AUDIT_PAGE_SIZE])
    filters = {"subject": subject, "actor": who, "action": action}
    return _render(
        request,
        "audit.html",
        rows=rows,
        filters=filters,
        filtered=bool(subject or who or action),
        page=page,
        has_next=len(entries) > AUDIT_PAGE_SIZE,
        query=_query_of(filters),
    )

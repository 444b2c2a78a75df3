"""The console's queue and draft pages: decisions go through `review.service`, exactly as over REST."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from agent.checks import TextTooLong
from agent.intake import service as intake
from agent.posts.lifecycle import DeliveryStatus, DraftStatus
from agent.posts.models import Draft
from agent.posts.repository import author_posts, get_draft
from agent.posts.schemas import draft_public
from agent.schemas import Department
from api.console.auth import can, console_actor, csrf_protect, safe_next
from api.console.i18n import request_language, translate
from api.console.render import highlight, render
from api.deps import MAX_ID, Actor, IdPath, get_runtime
from kizuki.core.errors import KizukiError
from kizuki.core.orm import utcnow
from kizuki.runtime import Runtime
from review import service
from review.errors import (
    ReplyBlocked,
    SecondApproverRequired,
    StaleVersion,
    WarningsNotAcknowledged,
)
from review.repository import queue, queue_facets
from review.schemas import (
    MAX_REPLY_CHARS,
    ApproveRequest,
    MarkSentRequest,
    RegenerateRequest,
    RejectReason,
    RejectRequest,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
Reviewer = Annotated[Actor, console_actor("agent")]  # the same roles as /v1/drafts
DneEditor = Annotated[Actor, console_actor("agent", "editor")]  # the same roles as POST /v1/do-not-engage
# The languages the console's phrase banks (and the offline model) write; a draft in another one is flagged.
WRITTEN_LANGUAGES = ("ja", "en")
# Languages the console names in words (messages `langname.<code>`); any other is shown as its code.
NAMED_LANGUAGES = (
    *("ja", "en", "fr", "ko", "zh", "de", "es", "it", "pt", "ru", "th", "vi", "id", "ar", "hi", "nl", "tl", "ms"),
    *("tr", "pl", "uk"),
)

PAGE_SIZE = 25
RISK_BANDS: dict[str, tuple[int | None, int | None]] = {"low": (None, 29), "medium": (30, 69), "high": (70, None)}
STATUSES = tuple(s.value for s in DraftStatus)
DEPARTMENTS: tuple[str, ...] = get_args(Department)
REJECT_REASONS: tuple[str, ...] = get_args(RejectReason)
# A form may carry more than a reply may hold: the service then explains the limit and the edit is kept.
FORM_TEXT_MAX = 100_000


class QueueFilters(BaseModel):
    """The queue's query string (every field optional; an empty field means "any")."""

    status: Literal["", "all", *STATUSES] = "pending"  # type: ignore[valid-type]
    channel: str = Field(default="", max_length=32)
    language: str = Field(default="", max_length=8)
    department: Literal["", *DEPARTMENTS] = ""  # type: ignore[valid-type]
    risk: Literal["", "low", "medium", "high"] = ""
    q: str = Field(default="", max_length=200)
    page: int = Field(default=1, ge=1, le=100_000)
    ignored: bool = False

    def query_string(self, **override: Any) -> str:
        from urllib.parse import urlencode

        values = {**self.model_dump(), **override}
        defaults = {name: field.default for name, field in type(self).model_fields.items()}
        return urlencode(
            [(k, "1" if v is True else str(v)) for k, v in values.items() if v not in ("", None, False, defaults[k])]
        )


_rt = get_runtime


def _queue_values(rt: Runtime, filters: QueueFilters, *, facets: bool = False) -> dict[str, Any]:
    """The queue's rows; with `facets`, also the filter choices (only the full page shows them, not the poll)."""
    low, high = RISK_BANDS.get(filters.risk, (None, None))
    status = None if filters.status in ("", "all") else filters.status
    with rt.db.reading() as s:
        rows, total = queue(
            s,
            status=status,
            channel=filters.channel or None,
            language=filters.language or None,
            min_risk=low,
            max_risk=high,
            department=filters.department or None,
            search=filters.q or None,
            exclude_actions=() if filters.ignored or status != DraftStatus.PENDING else ("ignore",),
            limit=PAGE_SIZE,
            offset=(filters.page - 1) * PAGE_SIZE,
        )
        listed = intake.blocked_handles(s, {d.post.author_handle for d in rows}, utcnow())
        items = [_queue_item(d, listed) for d in rows]
        choices = queue_facets(s) if facets else {}
    pages = max(1, math.ceil(total / PAGE_SIZE))
    return {
        "items": items,
        "total": total,
        "page": filters.page,
        "pages": pages,
        "filters": filters,
        "facets": choices,
        "statuses": STATUSES,
        "departments": DEPARTMENTS,
        "query": filters.query_string(),
        "prev_query": filters.query_string(page=filters.page - 1) if filters.page > 1 else None,
        "next_query": filters.query_string(page=filters.page + 1) if filters.page < pages else None,
    }


def _hints(triage: dict[str, Any]) -> dict[str, Any]:
    """Triage hints shown with a draft: the do-not-engage suggestion, the flame-risk parts, a noise verdict."""
    suggestion = triage.get("suggest_do_not_engage")
    parts = [p for p in triage.get("flame_parts") or [] if isinstance(p, dict) and p.get("name")]
    noise = triage.get("noise")
    if isinstance(suggestion, dict) and suggestion.get("count"):
        hours = suggestion.get("window_hours")
        suggestion = {**suggestion, "hours": f"{hours:g}" if isinstance(hours, int | float) else "?"}
    else:
        suggestion = None
    return {
        "suggest_dne": suggestion,
        "flame_parts": parts,
        "noise": noise if isinstance(noise, dict) and noise.get("kind") else None,
    }


def _queue_item(d: Draft, listed: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    triage = d.post.triage or {}
    return {
        **_hints(triage),
        "listed": d.post.author_handle in listed,
        "by_hand": _by_hand(d),
        "id": d.id,
        "version": d.version,
        "text": d.post.text,
        "reply": d.text,
        "author": d.post.author_handle,
        "author_name": d.post.author_name,
        "followers": d.post.author_followers,
        "channel": d.channel,
        "language": d.language,
        "flame_risk": d.flame_risk,
        "flame_reasons": list(triage.get("flame_reasons") or []),
        "urgency": d.urgency,
        "received_at": d.post.received_at,
        "created_at": d.created_at,
        "verdict": d.verdict,
        "status": d.status,
        "action": d.action,
        "escalate_to": d.escalate_to,
    }


QueueQuery = Annotated[QueueFilters, Query()]


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request, actor: Reviewer, filters: QueueQuery) -> HTMLResponse:
    values = _queue_values(_rt(request), filters, facets=True)
    values["flash"] = _flash(request)
    return render(request, "queue.html", values)


@router.get("/queue/items", response_class=HTMLResponse)
def queue_items(request: Request, actor: Reviewer, filters: QueueQuery) -> HTMLResponse:
    """The queue's table alone: polled every 15 s and swapped in place."""
    return render(request, "_queue_items.html", _queue_values(_rt(request), filters))


@router.post("/queue/{draft_id}/approve", response_class=HTMLResponse)
def queue_approve(
    request: Request,
    actor: Reviewer,
    draft_id: IdPath,
    version: Annotated[int, Form(ge=1, le=MAX_ID)],
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Approve from the queue as the draft is (the `a` key): a draft needing more (warnings to acknowledge, a
    second approver, an edit) gets its page with the reason."""
    lang = request_language(request)
    try:
        result = service.approve(_rt(request), draft_id, ApproveRequest(version=version), actor=actor.name)
        message, ok = translate(lang, _approved_key(result.status)) + f" (#{draft_id})", True
    except KizukiError as exc:
        message, ok = f"#{draft_id}: {_reason(exc, lang)}", False
    filters = _filters_from(back)
    if request.headers.get("hx-request"):
        values = _queue_values(_rt(request), filters)
        values["flash"] = {"ok": ok, "message": message}
        return render(request, "_queue_items.html", values)
    target = f"/drafts/{draft_id}" if not ok else "/queue" + (f"?{filters.query_string()}" if back else "")
    return RedirectResponse(target, status_code=303)


def _filters_from(query: str) -> QueueFilters:
    from urllib.parse import parse_qsl

    try:
        return QueueFilters.model_validate(dict(parse_qsl(query.lstrip("?"))))
    except ValidationError:
        return QueueFilters()


def _approved_key(status: str) -> str:
    return "draft.approved_ok" if status != DraftStatus.PENDING else "draft.approved_first_ok"


_DONE = {
    "approved": "draft.approved_ok",
    "approved_first": "draft.approved_first_ok",
    "rejected": "draft.rejected_ok",
    "regenerated": "draft.regenerated_ok",
    "sent": "draft.sent_ok",
    "do_not_engage": "draft.dne_ok",
}


def _flash(request: Request) -> dict[str, Any] | None:
    done = request.query_params.get("done")
    if done not in _DONE:
        return None
    generation = request.query_params.get("generation", "")
    lang = request_language(request)
    return {"ok": True, "message": translate(lang, _DONE[done], generation=generation[:6])}


# -- the draft page -----------------------------------------------------------------------------------------------


def _check(rt: Runtime, s: Session, text: str, draft: Draft) -> dict[str, Any]:
    """The same check approval runs (the organisation's checker, the post, the channel)."""
    _, org = rt.org.current(s)
    try:
        result = rt.checker_for(org).check(text, post_text=draft.post.text, channel=draft.channel)
    except (TextTooLong, ValueError) as exc:
        return {"verdict": "block", "findings": [], "error": str(exc)}
    return dict(result.model_dump())


def _draft_values(rt: Runtime, actor: Actor, draft_id: int, text: str | None = None) -> dict[str, Any]:
    """Everything the draft page shows; `text` is the reviewer's edit to keep in the editor (else the draft's)."""
    with rt.db.reading() as s:
        draft = get_draft(s, draft_id)
        public = draft_public(draft, detail=True, session=s)
        shown = draft.text if text is None else text
        checks = _check(rt, s, shown, draft)
        earlier = []
        for post in author_posts(s, draft.post.author_handle, exclude_post_id=draft.post_id):
            replies = [d.text for d in post.drafts if d.status in (DraftStatus.APPROVED, DraftStatus.SENT) and d.text]
            earlier.append({"post": post, "replies": replies})
        titles = {str(r.get("key")): str(r.get("title", "")) for r in public.retrieved or []}
        upcoming, _ = queue(s, limit=2, exclude_actions=("ignore",))
        next_id = next((d.id for d in upcoming if d.id != draft_id), None)
        approvals = list(draft.approvals or [])
        listed = intake.blocked(s, draft.post.author_handle, utcnow()) is not None
        compensation = any(f.get("category") == "compensation" for f in checks.get("findings", []))
        values: dict[str, Any] = {
            "draft": public,
            "text": shown,
            "edited": text is not None and text != draft.text,
            "checks": checks,
            "preview": highlight(shown, checks.get("findings", [])),
            "earlier": earlier,
            "citations": [
                {"key": c.get("key"), "revision": c.get("revision"), "title": titles.get(str(c.get("key")), "")}
                for c in public.citations
            ],
            "triage": public.triage or {},
            **_hints(public.triage or {}),
            "listed": listed,
            "delivery": _delivery(draft, public),
            "other_language": draft.language not in (*WRITTEN_LANGUAGES, "und", ""),
            "langnames": NAMED_LANGUAGES,
            "approvals": approvals,
            "needs_two": draft.flame_risk >= rt.settings.two_person_risk_threshold or compensation,
            "i_approved": any(a.get("by") == actor.name for a in approvals),
            "pending": draft.status == DraftStatus.PENDING,
            "manual": draft.status == DraftStatus.APPROVED and draft.delivery_status == DeliveryStatus.AWAITING_MANUAL,
            "reject_reasons": REJECT_REASONS,
            "next_id": next_id,
            "max_chars": MAX_REPLY_CHARS,
        }
    return values


def _by_hand(draft: Draft) -> bool:
    """Approved, and a person must post it: the manual channel, or a connector whose network forbids automating it."""
    if draft.status != DraftStatus.APPROVED:
        return False
    connector = (draft.post.raw or {}).get("connector")
    manual_connector = (
        isinstance(connector, dict) and bool(connector.get("name")) and connector.get("delivery") != "auto"
    )
    return draft.delivery_status == DeliveryStatus.AWAITING_MANUAL or manual_connector


def _delivery(draft: Draft, public: Any) -> dict[str, Any]:
    """Where the reply went or must go: the sent post's link, or (by hand) the text to copy and the post to open."""
    view = public.delivery
    by_hand = _by_hand(draft)
    return {
        "channel": view.channel if view is not None else draft.channel,
        "connector": view.connector if view is not None else None,
        "by_hand": by_hand,
        "copy_text": (view.copy_text if view is not None and view.copy_text else draft.text) if by_hand else None,
        "post_url": (view.post_url if view is not None and view.post_url else None) or draft.post.url,
        "sent": draft.status == DraftStatus.SENT,
        "sent_id": view.sent_id if view is not None else None,
        "sent_url": view.sent_url if view is not None else None,
        "actions": [str(a.get("action")) for a in (view.sent if view is not None else []) if a.get("action")],
    }


def _draft_page(
    request: Request,
    actor: Actor,
    draft_id: int,
    *,
    text: str | None = None,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    values = _draft_values(_rt(request), actor, draft_id, text)
    values.update(extra)
    values.setdefault("flash", _flash(request))
    return render(request, "draft.html", values, status_code=status_code)


@router.get("/drafts/{draft_id}", response_class=HTMLResponse)
def draft_page(request: Request, actor: Reviewer, draft_id: IdPath) -> HTMLResponse:
    return _draft_page(request, actor, draft_id)


@router.post("/drafts/{draft_id}/check", response_class=HTMLResponse)
def draft_check(
    request: Request,
    actor: Reviewer,
    draft_id: IdPath,
    text: Annotated[str, Form(max_length=FORM_TEXT_MAX)] = "",
) -> HTMLResponse:
    """The findings of the text in the editor (htmx, debounced while typing)."""
    rt = _rt(request)
    with rt.db.reading() as s:
        draft = get_draft(s, draft_id)
        checks = _check(rt, s, text, draft)
        draft_pending = draft.status == DraftStatus.PENDING
    return render(
        request,
        "_draft_findings.html",
        {
            "checks": checks,
            "preview": highlight(text, checks.get("findings", [])),
            "text": text,
            "pending": draft_pending,
        },
    )


def _refused(
    request: Request, actor: Actor, draft_id: int, exc: KizukiError, text: str | None, lang: str
) -> HTMLResponse:
    """A refused decision: the page again, the reviewer's edit kept, the reason (and findings) shown."""
    if isinstance(exc, StaleVersion):
        message = translate(lang, "draft.stale", version=exc.extra.get("current_version", "?"))
        return _draft_page(
            request, actor, draft_id, text=text, status_code=409, error=message, stale=exc.extra, refusal=exc.detail
        )
    return _draft_page(
        request, actor, draft_id, text=text, status_code=exc.status_code, error=_reason(exc, lang), refusal=exc.detail
    )


def _messages(exc: ValidationError) -> str:
    """A refused form's validation errors, for the draft page's error line."""
    return "; ".join(str(e.get("msg", "")) for e in exc.errors())


def _reason(exc: KizukiError, lang: str) -> str:
    """A refusal in the reviewer's words (the service's own detail for the rest)."""
    if isinstance(exc, ReplyBlocked):
        return translate(lang, "draft.blocked")
    if isinstance(exc, WarningsNotAcknowledged):
        return translate(lang, "draft.warnings")
    if isinstance(exc, SecondApproverRequired):
        return translate(lang, "draft.you_approved")
    return exc.detail


@router.post("/drafts/{draft_id}/approve", response_class=HTMLResponse)
def draft_approve(
    request: Request,
    actor: Reviewer,
    draft_id: IdPath,
    version: Annotated[int, Form(ge=1, le=MAX_ID)],
    text: Annotated[str | None, Form(max_length=FORM_TEXT_MAX)] = None,
    note: Annotated[str, Form(max_length=FORM_TEXT_MAX)] = "",
    acknowledge_warnings: Annotated[bool, Form()] = False,
    has_text: Annotated[bool, Form()] = False,
) -> Response:
    lang = request_language(request)
    edit = text.replace("\r\n", "\n") if text is not None else None
    if has_text and edit is None:
        edit = ""  # the form had an editor and it came back empty: a blank edit, refused below (never the draft's text)
    try:
        body = ApproveRequest(
            version=version,
            text=edit,  # a cleared editor is a blank edit (refused), never the draft's own text
            note=note.strip() or None,
            acknowledge_warnings=acknowledge_warnings,
        )
    except ValidationError as exc:
        message = _messages(exc)
        return _draft_page(request, actor, draft_id, text=edit, status_code=422, error=message)
    try:
        result = service.approve(_rt(request), draft_id, body, actor=actor.name)
    except KizukiError as exc:
        return _refused(request, actor, draft_id, exc, edit, lang)
    done = "approved" if result.status != DraftStatus.PENDING else "approved_first"
    return RedirectResponse(f"/drafts/{draft_id}?done={done}", status_code=303)


@router.post("/drafts/{draft_id}/reject", response_class=HTMLResponse)
def draft_reject(
    request: Request,
    actor: Reviewer,
    draft_id: IdPath,
    version: Annotated[int, Form(ge=1, le=MAX_ID)],
    reason: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=FORM_TEXT_MAX)] = "",
    text: Annotated[str | None, Form(max_length=FORM_TEXT_MAX)] = None,
) -> Response:
    lang = request_language(request)
    try:
        body = RejectRequest.model_validate({"reason": reason, "note": note.strip() or None, "version": version})
    except ValidationError as exc:
        message = _messages(exc)
        return _draft_page(request, actor, draft_id, text=text, status_code=422, error=message)
    try:
        service.reject(_rt(request), draft_id, body, actor=actor.name)
    except KizukiError as exc:
        return _refused(request, actor, draft_id, exc, text, lang)
    return RedirectResponse(f"/drafts/{draft_id}?done=rejected", status_code=303)


@router.post("/drafts/{draft_id}/regenerate", response_class=HTMLResponse)
def draft_regenerate(
    request: Request,
    actor: Reviewer,
    draft_id: IdPath,
    version: Annotated[int, Form(ge=1, le=MAX_ID)],
    instructions: Annotated[str, Form(max_length=FORM_TEXT_MAX)] = "",
    text: Annotated[str | None, Form(max_length=FORM_TEXT_MAX)] = None,
) -> Response:
    lang = request_language(request)
    try:
        body = RegenerateRequest(instructions=instructions.strip() or None, version=version)
    except ValidationError as exc:
        message = _messages(exc)
        return _draft_page(request, actor, draft_id, text=text, status_code=422, error=message)
    try:
        result = service.regenerate(_rt(request), draft_id, body, actor=actor.name)
    except KizukiError as exc:
        return _refused(request, actor, draft_id, exc, text, lang)
    return RedirectResponse(f"/drafts/{draft_id}?done=regenerated&generation={result.generation}", status_code=303)


@router.post("/drafts/{draft_id}/mark-sent", response_class=HTMLResponse)
def draft_mark_sent(
    request: Request,
    actor: Reviewer,
    draft_id: IdPath,
    url: Annotated[str, Form(max_length=FORM_TEXT_MAX)] = "",
    note: Annotated[str, Form(max_length=FORM_TEXT_MAX)] = "",
) -> Response:
    lang = request_language(request)
    try:
        body = MarkSentRequest(url=url.strip() or None, note=note.strip() or None)
    except ValidationError as exc:
        message = _messages(exc)
        return _draft_page(request, actor, draft_id, status_code=422, error=message)
    try:
        service.mark_sent(_rt(request), draft_id, body, actor=actor.name)
    except KizukiError as exc:
        return _refused(request, actor, draft_id, exc, None, lang)
    return RedirectResponse(f"/drafts/{draft_id}?done=sent", status_code=303)


@router.post("/drafts/{draft_id}/do-not-engage", response_class=HTMLResponse)
def draft_do_not_engage(
    request: Request,
    actor: DneEditor,
    draft_id: IdPath,
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Put the draft's author on the do-not-engage list (the suggestion shown in the queue and on the draft page),
    through the same service and audit entry as `POST /v1/do-not-engage`."""
    rt = _rt(request)
    lang = request_language(request)
    with rt.db.session() as s:
        draft = get_draft(s, draft_id)
        suggestion = _hints(draft.post.triage or {})["suggest_dne"]
        default = translate(lang, "dne.default_reason")
        if suggestion is not None:
            default = translate(lang, "dne.suggested_reason", count=suggestion["count"], hours=suggestion["hours"])
        intake.add_do_not_engage(s, draft.post.author_handle, reason.strip() or default, None, actor=actor.name)
    target = safe_next(back) if back else f"/drafts/{draft_id}"
    if not can(actor, "agent") and target.startswith(("/drafts", "/queue")):
        target = "/"
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}done=do_not_engage", status_code=303)

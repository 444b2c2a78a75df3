"""Personal data at rest: redaction, retention, and erasure of one author's data on request.

- `Redactor.redact` replaces each piece of personal data in a text (what `agent.checks.pii.find_pii` finds, other
  people's @handles, and the author's own handle and name) by a typed placeholder readable in both languages,
  ``〔電話番号/phone〕``. It is idempotent: what it returns holds nothing it would replace again. `synthetic=True`
  puts fictional values of the same kind instead (``090-0000-0000``, ``customer@example.com``), so a harvested
  evaluation case about personal data still has some to handle.
- Retention (`redact_old_posts`, the daily `privacy_redact` job, `kizuki privacy redact`): a post received more than
  `KIZUKI_RETENTION_DAYS` ago keeps its ids, source, channel, dates, language, triage, watch decision, status
  and metrics; its text and its drafts' texts, notes and check matches lose their personal data; its handle, name,
  URL and raw fields go. The handle is replaced by a keyed hash of (source, handle) (`author_key`), so an erasure
  request still finds the post. Posts still at work (a draft waiting for review or delivery, a draft job queued)
  wait for the next run.
- Erasure (`forget_author`, `kizuki privacy forget`, `POST /v1/privacy/erasures`): one author's posts, their
  drafts and every job about them are deleted. The audit entry holds counts, ids and the keyed hash, never the
  handle.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from agent.checks.pii import PiiItem, find_pii, normalise_contact
from agent.posts.lifecycle import DraftStatus, PostStatus
from agent.posts.models import Draft, Post
from kizuki.core import audit, jobs
from kizuki.core.db import Database
from kizuki.core.errors import InvalidInput
from kizuki.core.jobs import Job, JobKind
from kizuki.core.orm import utcnow
from kizuki.core.private import PRIVATE_FILE, private_dir
from kizuki.core.settings import Settings
from kizuki.core.worker import Handler

__all__ = [
    "HANDLE_PLACEHOLDER",
    "ErasureReport",
    "RedactionReport",
    "Redactor",
    "author_key",
    "canonical_handle",
    "canonical_source",
    "checks_for_audit",
    "forget_author",
    "placeholder",
    "privacy_key",
    "redact_old_posts",
    "retention_handlers",
    "schedule_retention",
]

# kind -> (Japanese, English). A kind `find_pii` learns later falls back to 個人情報/personal data.
_LABELS: dict[str, tuple[str, str]] = {
    "phone": ("電話番号", "phone"),
    "email": ("メールアドレス", "e-mail"),
    "postal_code": ("郵便番号", "postal code"),
    "address": ("住所", "address"),
    "card": ("カード番号", "card number"),
    "my_number": ("マイナンバー", "My Number"),
    "order_number": ("注文番号", "order number"),
    "name": ("氏名", "name"),
    "handle": ("アカウント", "handle"),
}
_UNKNOWN = ("個人情報", "personal data")


def placeholder(kind: str) -> str:
    """The text that stands for a piece of personal data of `kind`: ``〔電話番号/phone〕``."""
    ja, en = _LABELS.get(kind, _UNKNOWN)
    return f"〔{ja}/{en}〕"


HANDLE_PLACEHOLDER = placeholder("handle")

# Fictional values of each kind (reserved e-mail domain, a test card number, a My Number with a valid check digit),
# which the detectors still recognise: a harvested case keeps its meaning and none of the customer's data.
_SYNTHETIC: dict[str, str] = {
    "phone": "090-0000-0000",
    "email": "customer@example.com",
    "postal_code": "100-0000",
    "card": "4111 1111 1111 1111",
    "my_number": "123456789018",
    "order_number": "ORD-00000000",
    "handle": "@customer",
}
_EN_TITLE = re.compile(r"^(Mr|Mrs|Ms|Miss|Dr)\.?\s+", re.IGNORECASE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_MENTION = re.compile(r"(?<![A-Za-z0-9_.@])[@＠][A-Za-z0-9_]{1,30}(?![A-Za-z0-9_])")
# Only the placeholders this module writes are kept: 〔090-1234-5678〕 is a phone in brackets, not a placeholder.
_PLACEHOLDER = re.compile(
    "(?:" + "|".join(re.escape(placeholder(k)) for k in (*_LABELS, "__unknown__")) + r")(?:#\d+)?"
)
_MAX_PASSES = 4  # redaction repeats until nothing is found (one pass nearly always suffices)


def _synthetic(kind: str, original: str) -> str:
    if kind in _SYNTHETIC:
        return _SYNTHETIC[kind]
    if kind == "address":
        return "東京都架空区1-2-3" if _CJK.search(original) else "123 Example Street"
    if kind == "name":
        if _CJK.search(original):
            return "山田"
        title = _EN_TITLE.match(original)
        return f"{title.group(1)}. Doe" if title else "Alex Doe"
    return placeholder(kind)


def _extend_to_cluster(text: str, end: int) -> int:
    """Move `end` past combining marks, variation selectors and joiners that belong to the character before it,
    so a replacement never leaves a mark orphaned on the placeholder."""
    while end < len(text) and (
        unicodedata.category(text[end]) in ("Mn", "Me", "Mc")
        or "\ufe00" <= text[end] <= "\ufe0f"
        or text[end] in "\u200d\u3099\u309a\uff9e\uff9f"
    ):
        end += 1
    return end


def _literal_pattern(term: str, *, ignore_case: bool = True) -> re.Pattern[str] | None:
    """A pattern for the author's own handle or name as written (None for terms too short to be safe to replace
    everywhere)."""
    term = term.strip()
    ascii_term = term.isascii()
    if len(term) < (3 if ascii_term else 2):
        return None
    body = re.escape(term)
    if ascii_term:
        body = rf"(?<![A-Za-z0-9_]){body}(?![A-Za-z0-9_])"
    return re.compile(body, re.IGNORECASE if ignore_case else 0)


def _literal_patterns(term: str) -> list[tuple[str, re.Pattern[str]]]:
    """(kind, pattern) for a handle or a name, and for each part of a name of several words ("John Smith": also
    "John" and "Smith", matched with their case, as a reply says "Sorry John")."""
    term = unicodedata.normalize("NFC", term).strip()
    parts = term.split()
    looks_like_name = not term.isascii() or len(parts) > 1 or (term[:1].isupper() and term.isalpha())
    kind = "name" if looks_like_name else "handle"
    out = [(kind, p) for p in [_literal_pattern(term)] if p is not None]
    if len(parts) > 1:
        out += [("name", p) for p in (_literal_pattern(w, ignore_case=False) for w in parts) if p is not None]
    return out


@dataclass(frozen=True)
class Redactor:
    """Redaction with the organisation's rules: its order-number shapes, and its own contacts and handles (`allow`,
    never personal data, never replaced)."""

    order_patterns: tuple[re.Pattern[str], ...] = ()
    allow: frozenset[str] = frozenset()

    @classmethod
    def from_rules(cls, rules: Any) -> Redactor:
        """From `agent.checks.rules.Rules` (`order_number_patterns`, `allow`), e.g. `Runtime.checker_for(org).rules`."""
        return cls(
            order_patterns=tuple(re.compile(p, re.IGNORECASE) for p in rules.order_number_patterns),
            allow=frozenset(normalise_contact(a) for a in rules.allow if a.strip()),
        )

    def find(self, text: str, terms: Sequence[str] = ()) -> list[PiiItem]:
        """Every span to replace: personal data, other people's @handles, the given terms (the author's handle
        and name); overlapping spans merged, in order."""
        items = list(find_pii(text, order_patterns=self.order_patterns, allow=self.allow))
        for m in _MENTION.finditer(text):
            if normalise_contact("@" + m.group()[1:]) not in self.allow:
                items.append(PiiItem("handle", m.start(), m.end(), m.group()))
        for term in terms:
            for kind, pattern in _literal_patterns(term):
                items.extend(PiiItem(kind, m.start(), m.end(), m.group()) for m in pattern.finditer(text))
        kept = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
        if kept:  # a placeholder is never redacted again (idempotence, whatever the handle or a detector says)
            items = [it for it in items if not any(a <= it.start and it.end <= b for a, b in kept)]
        items.sort(key=lambda it: (it.start, -it.end))
        merged: list[PiiItem] = []
        for it in items:
            if it.end <= it.start:
                continue
            if merged and it.start < merged[-1].end:
                last = merged[-1]
                if it.end > last.end:
                    merged[-1] = PiiItem(last.kind, last.start, it.end, text[last.start : it.end])
                continue
            merged.append(it)
        return merged

    def _replacement(self, text: str, it: PiiItem, synthetic: bool) -> tuple[int, int, str]:
        start, end = it.start, _extend_to_cluster(text, it.end)
        span = text[start:end]
        # A name keeps its honorific (山田様 -> 〔氏名/name〕様); a labelled order number its label
        # (注文番号 HS-1 -> 注文番号 〔注文番号/order number〕).
        if it.kind == "name" and it.value and span.startswith(it.value) and len(span) > len(it.value):
            end = start + len(it.value)
        elif it.kind == "order_number" and it.value and span.casefold().endswith(it.value.casefold()):
            start = end - len(it.value)
        original = text[start:end]
        return start, end, _synthetic(it.kind, original) if synthetic else placeholder(it.kind)

    def redact(self, text: str, terms: Sequence[str] = (), *, synthetic: bool = False) -> str:
        """`text` with each piece of personal data replaced (placeholders, or fictional values with `synthetic`)."""
        if not text:
            return text
        for _ in range(_MAX_PASSES):
            spans = self.find(text, terms)
            if not spans:
                break
            out: list[str] = []
            pos = 0
            changed = False
            for it in spans:
                start, end, new = self._replacement(text, it, synthetic)
                if start < pos:
                    continue
                out.append(text[pos:start])
                out.append(new)
                changed = changed or text[start:end] != new
                pos = end
            out.append(text[pos:])
            text = "".join(out)
            if not changed:  # synthetic values the detectors find again: nothing more to do
                break
        return text


# -- authors: canonical handles and their keyed hash -------------------------------------------------------------


def canonical_handle(handle: str) -> str:
    """A handle as compared: NFKC (full-width ＠ and letters), no surrounding space or leading '@', case-folded."""
    return unicodedata.normalize("NFKC", handle).strip().lstrip("@").strip().casefold()


def canonical_source(source: str) -> str:
    return unicodedata.normalize("NFKC", source).strip().casefold()


def privacy_key(settings: Settings) -> bytes:
    """The key of the keyed hash that stands for an author: `KIZUKI_PRIVACY_KEY`, else a random key made once and
    kept (0600) in KIZUKI_HOME/privacy.key."""
    if settings.privacy_key is not None:
        return hashlib.sha256(settings.privacy_key.get_secret_value().encode("utf-8")).digest()
    path = Path(settings.home) / "privacy.key"
    for _ in range(50):
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            private_dir(path.parent)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
            except FileExistsError:
                continue  # another process is writing it
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_hex(32) + "\n")
            continue
        if text:
            try:
                return bytes.fromhex(text)
            except ValueError:
                raise RuntimeError(f"{path} is not a privacy key (64 hex digits); set KIZUKI_PRIVACY_KEY") from None
        time.sleep(0.01)  # created by another process a moment ago, not yet written
    raise RuntimeError(f"cannot read the privacy key at {path}")


def author_key(key: bytes, source: str, handle: str) -> str:
    """HMAC-SHA256 of the canonical (source, handle): stands for the author where the handle must not be kept."""
    message = f"{canonical_source(source)}\x00{canonical_handle(handle)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# -- retention ----------------------------------------------------------------------------------------------------

_IN_PROGRESS_DRAFTS = (DraftStatus.PENDING, DraftStatus.APPROVED)
_DRAFT_TEXT_FIELDS = ("text", "original_text", "rationale", "instructions", "decision_note", "error", "delivery_error")


@dataclass
class RedactionReport:
    cutoff: datetime
    dry_run: bool
    posts: int = 0
    drafts: int = 0
    skipped_in_progress: int = 0
    post_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "dry_run": self.dry_run,
            "posts": self.posts,
            "drafts": self.drafts,
            "skipped_in_progress": self.skipped_in_progress,
        }


def _job_refs(session: Session, statuses: Iterable[str] | None = None) -> tuple[set[int], set[int]]:
    """Post ids of draft jobs and draft ids of delivery jobs (optionally only jobs in `statuses`)."""
    stmt = select(Job.kind, Job.payload).where(Job.kind.in_((JobKind.DRAFT, JobKind.DELIVER)))
    if statuses is not None:
        stmt = stmt.where(Job.status.in_(tuple(statuses)))
    posts: set[int] = set()
    drafts: set[int] = set()
    for kind, payload in session.execute(stmt):
        try:
            if kind == JobKind.DRAFT:
                posts.add(int(payload["post_id"]))
            else:
                drafts.add(int(payload["draft_id"]))
        except (KeyError, TypeError, ValueError):
            continue
    return posts, drafts


def _in_progress(post: Post, queued_posts: set[int], queued_drafts: set[int]) -> bool:
    if post.status == PostStatus.QUEUED or post.id in queued_posts:
        return True
    return any(d.status in _IN_PROGRESS_DRAFTS or d.id in queued_drafts for d in post.drafts)


def _redact_checks(checks: dict[str, Any], redactor: Redactor, terms: Sequence[str]) -> dict[str, Any]:
    findings = []
    for f in checks.get("findings") or []:
        if isinstance(f, dict) and isinstance(f.get("match"), str):
            f = dict(f)
            if f.get("category") in ("pii", "pii_echo"):
                f["match"] = placeholder(str(f.get("rule", "")))
            else:
                f["match"] = redactor.redact(f["match"], terms)
        findings.append(f)
    return {**checks, "findings": findings} if "findings" in checks else checks


def checks_for_audit(checks: dict[str, Any]) -> dict[str, Any]:
    """A check report as the audit log should keep it: the findings about personal data say its kind
    (``〔電話番号/phone〕``) instead of repeating the customer's data, which an append-only log could never erase."""
    findings = []
    for f in checks.get("findings") or []:
        if isinstance(f, dict) and f.get("category") in ("pii", "pii_echo"):
            f = {**f, "match": placeholder(str(f.get("rule", "")))}
        findings.append(f)
    return {**checks, "findings": findings} if "findings" in checks else checks


def _fingerprint(post: Post) -> str:
    """What a redaction plan was computed from: if any of it changed before the plan is applied, it waits."""
    drafts = [
        [d.id, d.status, d.version, [getattr(d, n) for n in _DRAFT_TEXT_FIELDS], d.checks, d.approvals]
        for d in sorted(post.drafts, key=lambda d: d.id)
    ]
    return json.dumps([post.text, post.reason, post.author_handle, post.author_name, drafts], default=str)


@dataclass
class _Plan:
    post_id: int
    fingerprint: str
    post: dict[str, Any]
    drafts: dict[int, dict[str, Any]]


def _plan_post(post: Post, redactor: Redactor, key: bytes, now: datetime) -> _Plan:
    """The redacted values of a post and its drafts (computed outside the write transaction: finding personal data
    costs milliseconds a text, and SQLite would hold every writer back meanwhile)."""
    terms = [t for t in (post.author_handle, f"@{post.author_handle}", post.author_name) if t]
    memo: dict[str, str] = {}

    def red(text: str) -> str:
        if text not in memo:  # a draft's text and original text are often the same
            memo[text] = redactor.redact(text, terms)
        return memo[text]

    drafts: dict[int, dict[str, Any]] = {}
    for d in post.drafts:
        values: dict[str, Any] = {n: red(v) for n in _DRAFT_TEXT_FIELDS if isinstance(v := getattr(d, n), str) and v}
        if d.checks:
            values["checks"] = _redact_checks(d.checks, redactor, terms)
        if d.approvals:
            values["approvals"] = [
                {**a, "note": red(a["note"])} if isinstance(a.get("note"), str) else a for a in d.approvals
            ]
        drafts[d.id] = values
    values = {
        "text": red(post.text),
        "reason": red(post.reason) if post.reason else post.reason,
        "author_key": author_key(key, post.source, post.author_handle),
        # One placeholder per post: a shared one would make every redacted post look like one author's history
        # (the reviewer's "earlier posts of this author", the drafting history).
        "author_handle": f"{HANDLE_PLACEHOLDER}#{post.id}",
        "author_name": None,
        "url": None,
        "raw": {},
        "redacted_at": now,
    }
    return _Plan(post.id, _fingerprint(post), values, drafts)


def _load_batch(s: Session, where: Any, limit: int) -> list[Post]:
    return list(
        s.scalars(
            select(Post)
            .where(where)
            .order_by(Post.id)
            .limit(limit)
            .options(selectinload(Post.drafts))
            .execution_options(populate_existing=True)
        ).all()
    )


def redact_old_posts(
    db: Database,
    redactor: Redactor,
    key: bytes,
    *,
    older_than_days: int,
    actor: str,
    dry_run: bool = False,
    now: datetime | None = None,
    batch: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> RedactionReport:
    """Redact the personal data of posts received more than `older_than_days` days ago (and of their drafts); `dry_run`
    only counts. Posts still at work are left for later.

    Each batch is planned in a read-only transaction, then written in a short one with one audit entry; a post that
    changed in between (a reviewer acted on it) is left for the next run."""
    if older_than_days < 1:
        raise InvalidInput("older_than_days must be at least 1 (0 would redact posts received today)")
    now = now or utcnow()
    cutoff = now - timedelta(days=older_than_days)
    report = RedactionReport(cutoff=cutoff, dry_run=dry_run)
    due = (Post.redacted_at.is_(None)) & (Post.received_at < cutoff)
    active = (jobs.JobStatus.QUEUED, jobs.JobStatus.RUNNING)
    with db.reading() as s:
        total = int(s.scalar(select(func.count()).select_from(Post).where(due)) or 0)
    done = 0
    last_id = 0
    if progress is not None:
        progress(0, total)
    while True:
        with db.reading() as s:
            posts = _load_batch(s, due & (Post.id > last_id), batch)
            if not posts:
                break
            last_id = posts[-1].id
            queued_posts, queued_drafts = _job_refs(s, active)
            ready = [p for p in posts if not _in_progress(p, queued_posts, queued_drafts)]
            report.skipped_in_progress += len(posts) - len(ready)
            plans = (
                {p.id: _Plan(p.id, "", {}, {d.id: {} for d in p.drafts}) for p in ready}
                if dry_run
                else {p.id: _plan_post(p, redactor, key, now) for p in ready}
            )
        done += len(posts)
        if plans and not dry_run:
            with db.session() as s:
                queued_posts, queued_drafts = _job_refs(s, active)
                ids: list[int] = []
                drafts = 0
                for post in _load_batch(s, Post.id.in_(list(plans)) & Post.redacted_at.is_(None), len(plans)):
                    plan = plans[post.id]
                    if _in_progress(post, queued_posts, queued_drafts) or _fingerprint(post) != plan.fingerprint:
                        report.skipped_in_progress += 1
                        continue
                    for name, value in plan.post.items():
                        setattr(post, name, value)
                    for d in post.drafts:
                        for name, value in plan.drafts[d.id].items():
                            setattr(d, name, value)
                    ids.append(post.id)
                    drafts += len(post.drafts)
                if ids:
                    audit.record(
                        s,
                        actor=actor,
                        action="privacy.redact",
                        subject="posts",
                        after={"cutoff": cutoff.isoformat(), "post_ids": ids, "drafts": drafts},
                        note=f"retention: personal data of posts received more than {older_than_days} days ago",
                    )
        else:
            ids = list(plans)
            drafts = sum(len(p.drafts) for p in plans.values())
        report.posts += len(ids)
        report.drafts += drafts
        report.post_ids.extend(ids)
        if progress is not None:
            progress(min(done, total), total)
    return report


def schedule_retention(db: Database, settings: Settings, *, now: datetime | None = None) -> Job | None:
    """Queue today's retention run (once a day, whatever the number of processes); None when retention is off."""
    if not settings.retention_days:
        return None
    now = now or utcnow()
    key = f"{JobKind.PRIVACY_REDACT}:{now.date().isoformat()}"
    return jobs.enqueue_once(db, JobKind.PRIVACY_REDACT, {}, dedupe_key=key, run_after=now)


def retention_handlers(db: Database, settings: Settings, redactor: Callable[[], Redactor]) -> dict[str, Handler]:
    """The `privacy_redact` job: redact what retention says, then queue tomorrow's run."""

    def run() -> None:
        days = settings.retention_days
        if not days:
            return
        # Tomorrow's run is queued first: a run that fails for good must not end retention.
        schedule_retention(db, settings, now=utcnow() + timedelta(days=1))
        redact_old_posts(db, redactor(), privacy_key(settings), older_than_days=days, actor="retention")

    async def handle(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:
        await asyncio.to_thread(run)

    return {JobKind.PRIVACY_REDACT: handle}


# -- erasure on request -------------------------------------------------------------------------------------------


@dataclass
class ErasureReport:
    source: str
    author_key: str
    dry_run: bool
    posts: int = 0
    drafts: int = 0
    jobs: int = 0
    post_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "author_key": self.author_key,
            "dry_run": self.dry_run,
            "posts": self.posts,
            "drafts": self.drafts,
            "jobs": self.jobs,
            "post_ids": self.post_ids,
        }


def forget_author(
    session: Session, key: bytes, source: str, handle: str, *, actor: str, dry_run: bool = False
) -> ErasureReport:
    """Delete one author's posts (also those retention redacted), their drafts and every job about them, in the
    caller's transaction; audited with counts and the author's keyed hash, never the handle. `dry_run` counts."""
    src = canonical_source(source)
    wanted = canonical_handle(handle)
    if not src or not wanted:
        raise InvalidInput("source and handle must not be empty")
    k = author_key(key, src, wanted)
    report = ErasureReport(source=src, author_key=k, dry_run=dry_run)
    # Handles are stored as written (case, width): compare their canonical forms. The author's handles are found
    # among the source's distinct handles, then their posts by the index on author_handle.
    source_match = func.lower(Post.source) == src
    spellings = [
        h
        for h in session.scalars(select(Post.author_handle).where(source_match).distinct())
        if canonical_handle(h) == wanted
    ]
    conditions = [Post.author_key == k]
    if spellings:
        conditions.append(Post.author_handle.in_(spellings))
    post_ids = sorted(session.scalars(select(Post.id).where(source_match, or_(*conditions))))
    draft_ids = sorted(session.scalars(select(Draft.id).where(Draft.post_id.in_(post_ids)))) if post_ids else []
    job_ids: list[int] = []
    if post_ids:  # every job about them, done ones too (a regeneration's payload holds the reviewer's instructions)
        about_them = (Job.kind == JobKind.DRAFT) & Job.payload["post_id"].as_integer().in_(post_ids)
        if draft_ids:
            about_them = about_them | (Job.kind == JobKind.DELIVER) & Job.payload["draft_id"].as_integer().in_(
                draft_ids
            )
        job_ids = sorted(session.scalars(select(Job.id).where(about_them)))
    report.posts, report.drafts, report.jobs, report.post_ids = len(post_ids), len(draft_ids), len(job_ids), post_ids
    if dry_run:
        return report
    # Jobs first: a queued draft job must find nothing to redo (a running one loses its job row and its post, so
    # its result has nowhere to go: the draft's foreign key refuses it).
    if job_ids:
        session.execute(delete(Job).where(Job.id.in_(job_ids)).execution_options(synchronize_session=False))
    if draft_ids:
        session.execute(delete(Draft).where(Draft.id.in_(draft_ids)).execution_options(synchronize_session=False))
    if post_ids:
        session.execute(delete(Post).where(Post.id.in_(post_ids)).execution_options(synchronize_session=False))
    audit.record(
        session,
        actor=actor,
        action="privacy.forget",
        subject=f"author:{k}",
        after={
            "source": src,
            "author_key": k,
            "posts": report.posts,
            "drafts": report.drafts,
            "jobs": report.jobs,
            "post_ids": post_ids,
            "draft_ids": draft_ids,
        },
        note="erasure on the author's request",
    )
    return report

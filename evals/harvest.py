"""Harvest: turn reviewers' decisions (edited approvals, rejections) into suite cases."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import yaml
from sqlalchemy.orm import Session

from agent.posts.models import Draft
from agent.posts.repository import decided_drafts
from evals.schema import CaseSpec, Expect, PostSpec, Suite, Thresholds

__all__ = ["harvest_cases", "harvest_suite", "key_phrases", "suite_yaml"]

_JA_TERM = re.compile(r"[一-龯々]{2,}|[ァ-ヶー]{2,}|[A-Za-z0-9][A-Za-z0-9\-_.@]*[A-Za-z0-9]|\d+")
_EN_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-']*[A-Za-z0-9]")
_STOP = frozenset(
    [
        "your",
        "with",
        "this",
        "that",
        "have",
        "will",
        "please",
        "thanks",
        "thank",
        "sorry",
        "about",
        "from",
        "into",
        "would",
        "could",
        "there",
        "their",
        "them",
        "they",
        "what",
        "when",
        "which",
        "while",
        "also",
        "just",
        "more",
        "here",
        "were",
        "been",
        "being",
        "then",
    ]
)
MAX_PHRASES = 4
REASON_NOTES = {
    "wrong_facts": "the reply stated something the knowledge does not support",
    "tone": "the tone was wrong for this post",
    "privacy": "the reply mishandled personal data",
    "policy": "the reply broke the public-reply policy",
    "off_topic": "the reply missed the post's subject",
    "duplicate": "the reply duplicated an earlier one",
    "not_needed": "no reply was needed",
    "other": "rejected by a reviewer",
}


def _terms(text: str) -> list[str]:
    t = unicodedata.normalize("NFKC", text)
    if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", t):
        found = _JA_TERM.findall(t)
    else:
        found = [w for w in _EN_WORD.findall(t) if len(w) >= 4 and w.lower() not in _STOP]
    seen: dict[str, None] = {}
    for term in found:
        seen.setdefault(term, None)
    return list(seen)


def key_phrases(text: str, *, absent_from: str) -> list[str]:
    """Distinctive terms of `text` (kanji/katakana runs, codes, English words) that `absent_from` lacks."""
    other = unicodedata.normalize("NFKC", absent_from).casefold()
    new = [t for t in _terms(text) if t.casefold() not in other]
    return sorted(new, key=lambda t: (-len(t), t))[:MAX_PHRASES]


def _case_name(draft: Draft, kind: str) -> str:
    return f"harvest-{kind}-{draft.post.source}-{re.sub(r'[^a-z0-9_.-]', '-', draft.post.external_id.lower())}"[:80]


def _post_spec(draft: Draft) -> PostSpec:
    p = draft.post
    return PostSpec(
        text=p.text,
        source=p.source,
        channel=draft.channel,
        lang=p.lang,
        handle=p.author_handle,
        followers=p.author_followers,
    )


def _edited_case(draft: Draft) -> CaseSpec | None:
    added = key_phrases(draft.text, absent_from=draft.original_text)
    removed = key_phrases(draft.original_text, absent_from=draft.text)
    if not added and not removed:
        return None
    expect = Expect(
        must_contain=added,
        must_not_contain=removed,
        language=draft.language if draft.language in ("ja", "en") else None,
        needs_dm=draft.needs_dm,
        action=draft.action,
        cites=[c["key"] for c in draft.citations],
    )
    note = f"edited approval of draft {draft.id} by {draft.decided_by}: reviewer's text {draft.text!r}"
    return CaseSpec(
        name=_case_name(draft, "edit"), category="harvested", note=note, post=_post_spec(draft), expect=expect
    )


def _rejected_case(draft: Draft) -> CaseSpec:
    reason = draft.decision_reason or "other"
    why = REASON_NOTES.get(reason, reason)
    phrases = key_phrases(draft.original_text or draft.text, absent_from=draft.post.text)
    expect = Expect(must_not_contain=phrases)
    if reason == "privacy":
        expect = expect.model_copy(update={"needs_dm": True, "no_findings": ["pii", "pii_echo", "dm_redirect"]})
    elif reason == "policy":
        expect = expect.model_copy(update={"no_findings": ["compensation", "overpromise", "competitor"]})
    elif reason == "not_needed":
        expect = expect.model_copy(update={"action": ["ignore", "like_only"]})
    note = f"rejected draft {draft.id} ({reason}: {why})" + (
        f"; note: {draft.decision_note}" if draft.decision_note else ""
    )
    return CaseSpec(
        name=_case_name(draft, "reject"),
        category="harvested",
        critical=reason in ("privacy", "policy"),
        note=note,
        post=_post_spec(draft),
        expect=expect,
    )


def harvest_cases(session: Session, *, limit: int = 500) -> list[CaseSpec]:
    """Cases from decided drafts, newest first: edited approvals (approved or sent) and rejections."""
    rows = decided_drafts(session, limit=limit)
    cases: dict[str, CaseSpec] = {}
    for d in rows:
        if d.status == "rejected":
            case: CaseSpec | None = _rejected_case(d)
        elif d.original_text and d.text != d.original_text:
            case = _edited_case(d)
        else:
            case = None
        if case is not None and case.name not in cases:
            cases[case.name] = case
    return list(cases.values())


def harvest_suite(session: Session, *, name: str = "harvested", limit: int = 500) -> Suite | None:
    """A suite of harvested cases (None when there is nothing to harvest); thresholds start strict."""
    cases = harvest_cases(session, limit=limit)
    if not cases:
        return None
    return Suite(
        name=name,
        description="Cases grown from reviewers' decisions (kizuki eval harvest). Review before committing.",
        thresholds=Thresholds(case_pass_rate=0.8, critical_pass_rate=1.0),
        cases=cases,
    )


def suite_yaml(suite: Suite) -> str:
    data: dict[str, Any] = suite.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("thresholds", suite.thresholds.model_dump(mode="json", exclude_none=True))
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)

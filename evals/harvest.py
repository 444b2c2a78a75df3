"""Harvest: turn reviewers' decisions (edited approvals, rejections) into suite cases.

A harvested suite is meant to be reviewed and committed, so it carries no customer's personal data: every text
(the post, the draft, the reviewer's text and note) has its personal data replaced by fictional values of the same
kind (`Redactor.redact(..., synthetic=True)`: ``090-0000-0000``, ``customer@example.com``), the author's handle and
name are gone (the case uses the default handle), cases are named by the post's internal id rather than the
network's post id, and reviewers are not named. Posts rejected for privacy are kept this way: a post whose phone
number became ``090-0000-0000`` still tests that the reply moves to DM and does not repeat it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import yaml
from sqlalchemy.orm import Session

from agent.checks.rules import default_rules
from agent.posts.models import Draft
from agent.posts.privacy import Redactor
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


class _Scrub:
    """Personal data out of one decision's texts: fictional values in its place, the author's handle and name too."""

    def __init__(self, redactor: Redactor, draft: Draft) -> None:
        p = draft.post
        self._redactor = redactor
        self._terms = [t for t in (p.author_handle, f"@{p.author_handle}", p.author_name) if t]

    def __call__(self, text: str | None) -> str:
        return self._redactor.redact(text or "", self._terms, synthetic=True)


def _case_name(draft: Draft, kind: str) -> str:
    # The post's internal id: the network's post id would lead to the post, and so to its author.
    return f"harvest-{kind}-{re.sub(r'[^a-z0-9_.-]', '-', draft.post.source.lower())}-{draft.post.id}"[:80]


def _post_spec(draft: Draft, scrub: _Scrub) -> PostSpec:
    p = draft.post
    return PostSpec(
        text=scrub(p.text), source=p.source, channel=draft.channel, lang=p.lang, followers=p.author_followers
    )


def _edited_case(draft: Draft, scrub: _Scrub) -> CaseSpec | None:
    text, original = scrub(draft.text), scrub(draft.original_text)
    added = key_phrases(text, absent_from=original)
    removed = key_phrases(original, absent_from=text)
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
    note = f"edited approval of draft {draft.id}: reviewer's text {text!r}"
    return CaseSpec(
        name=_case_name(draft, "edit"), category="harvested", note=note, post=_post_spec(draft, scrub), expect=expect
    )


def _rejected_case(draft: Draft, scrub: _Scrub) -> CaseSpec:
    reason = draft.decision_reason or "other"
    why = REASON_NOTES.get(reason, reason)
    phrases = key_phrases(scrub(draft.original_text or draft.text), absent_from=scrub(draft.post.text))
    expect = Expect(must_not_contain=phrases)
    if reason == "privacy":
        expect = expect.model_copy(update={"needs_dm": True, "no_findings": ["pii", "pii_echo", "dm_redirect"]})
    elif reason == "policy":
        expect = expect.model_copy(update={"no_findings": ["compensation", "overpromise", "competitor"]})
    elif reason == "not_needed":
        expect = expect.model_copy(update={"action": ["ignore", "like_only"]})
    note = f"rejected draft {draft.id} ({reason}: {why})" + (
        f"; note: {scrub(draft.decision_note)}" if draft.decision_note else ""
    )
    return CaseSpec(
        name=_case_name(draft, "reject"),
        category="harvested",
        critical=reason in ("privacy", "policy"),
        note=note,
        post=_post_spec(draft, scrub),
        expect=expect,
    )


def harvest_cases(session: Session, *, limit: int = 500, redactor: Redactor | None = None) -> list[CaseSpec]:
    """Cases from decided drafts, newest first: edited approvals (approved or sent) and rejections, without personal
    data (`redactor`: the organisation's rules, default the shipped ones)."""
    redactor = redactor or Redactor.from_rules(default_rules())
    rows = decided_drafts(session, limit=limit)
    cases: dict[str, CaseSpec] = {}
    for d in rows:
        scrub = _Scrub(redactor, d)
        if d.status == "rejected":
            case: CaseSpec | None = _rejected_case(d, scrub)
        elif d.original_text and d.text != d.original_text:
            case = _edited_case(d, scrub)
        else:
            case = None
        if case is not None and case.name not in cases:
            cases[case.name] = case
    return list(cases.values())


def harvest_suite(
    session: Session, *, name: str = "harvested", limit: int = 500, redactor: Redactor | None = None
) -> Suite | None:
    """A suite of harvested cases (None when there is nothing to harvest); thresholds start strict."""
    cases = harvest_cases(session, limit=limit, redactor=redactor)
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

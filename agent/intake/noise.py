"""Noise at intake, with reasons: reposts, ads and affiliate posts, bot-like accounts; do-not-engage hints.

Each rule returns a `Noise` (kind + a reason a person can check) so a dropped post always says why
(`noise:repost`, `noise:ad`, `noise:bot`). The rules are deliberately conservative: a false drop hides a
customer, a missed ad costs one draft a reviewer rejects.

- repost: a retweet (`RT @name:` at the start or after a space), or a text already received from someone
  else (the caller looks it up and passes `earlier_copy`).
- ad: a disclosure label (【PR】, [PR], #PR, #ad, #sponsored, #プロモーション, #広告, #タイアップ, #案件) or an
  affiliate/referral link (amzn.to, Amazon `tag=`, a8.net, moshimo, Rakuten affiliate, ValueCommerce,
  `?ref=`/`&ref=`, `aff_id=`…).
- bot: the same author sent near-identical texts (URLs, mentions and numbers ignored) at least
  `BOT_MIN_COPIES` times within `BOT_WINDOW`; a handle that looks generated is named in the reason but is
  never enough alone.

`suggest_do_not_engage` never drops anything: it marks a triage when one author sent
`SUGGEST_MIN_COMPLAINTS` or more complaints within `SUGGEST_WINDOW`, so the queue can show it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher

from agent.intake.normalise import normalise
from agent.schemas import DoNotEngageSuggestion, Noise, PostIn

BOT_WINDOW = timedelta(hours=1)
BOT_MIN_COPIES = 4  # this post and three near-identical ones before it
BOT_SIMILARITY = 0.9
SUGGEST_WINDOW = timedelta(hours=24)
SUGGEST_MIN_COMPLAINTS = 3

_RETWEET = re.compile(r"(?:^|\s)RT\s*[@＠][A-Za-z0-9_]{1,30}:?")
_DISCLOSURE = re.compile(
    r"[【\[［(（]\s*(?:PR|ＰＲ|AD|ＡＤ|Ad|Sponsored|広告|宣伝|プロモーション|タイアップ)\s*[】\]］)）]"
    r"|[#＃](?:PR|ad|ads|sponsored|spon|promo|promotion|affiliate|gifted)(?![A-Za-z0-9_])"
    r"|[#＃](?:プロモーション|広告|タイアップ|案件|提供|アフィリエイト|PR案件)(?![\w])",
    re.IGNORECASE,
)
_AFFILIATE = re.compile(
    r"(?:https?://)?(?:amzn\.to/|amzn\.asia/|px\.a8\.net|[\w.]*a8\.net/|af\.moshimo\.com|hb\.afl\.rakuten\.co\.jp"
    r"|ck\.jp\.ap\.valuecommerce\.com|click\.linksynergy\.com|shareasale\.com/r|awin1\.com/cread)"
    r"|https?://\S*[?&](?:tag|ref|aff|aff_id|affid|affiliate|referral|ref_id)=\S*",
    re.IGNORECASE,
)
_SKELETON_NOISE = re.compile(r"https?://\S+|[@＠#＃][\w.]+|\d+")
_GENERATED_HANDLE = re.compile(r"^[a-z]+[_]?\d{6,}$|bot$", re.IGNORECASE)


@dataclass(frozen=True)
class EarlierPost:
    """A post the same author sent before this one (what the noise and do-not-engage rules need of it)."""

    text: str
    at: datetime
    complaint: bool = False


def skeleton(text: str) -> str:
    """A text without links, mentions, hashtags and numbers, normalised: near-copies share it."""
    return normalise(_SKELETON_NOISE.sub(" ", text))


def _similar(a: str, b: str) -> bool:
    if a == b:
        return True
    if not a or not b:
        return False
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= BOT_SIMILARITY


def ad_marker(text: str) -> str | None:
    """The disclosure label or affiliate link that makes a text an ad, if any."""
    m = _DISCLOSURE.search(text)
    if m:
        return f"ad label '{m.group(0).strip()}'"
    m = _AFFILIATE.search(text)
    if m:
        return f"affiliate or referral link '{m.group(0)[:60]}'"
    return None


def detect_noise(
    post: PostIn,
    *,
    earlier_copy: str | None = None,
    author_recent: Sequence[EarlierPost] = (),
    now: datetime | None = None,
) -> Noise | None:
    """Why the post is noise, or None. `earlier_copy` names an earlier post with the same text from someone
    else (e.g. "post 12"); `author_recent` holds the author's own earlier posts (for the bot rule)."""
    m = _RETWEET.search(post.text)
    if m:
        return Noise(kind="repost", reason=f"a retweet ('{m.group(0).strip()}')")
    if earlier_copy is not None:
        return Noise(kind="repost", reason=f"repeats the text of {earlier_copy}")
    ad = ad_marker(post.text)
    if ad is not None:
        return Noise(kind="ad", reason=ad)
    if author_recent and now is not None:
        mine = skeleton(post.text)
        copies = [p for p in author_recent if now - p.at <= BOT_WINDOW and _similar(mine, skeleton(p.text))]
        if len(copies) + 1 >= BOT_MIN_COPIES:
            minutes = max(1, round((now - min(p.at for p in copies)).total_seconds() / 60))
            reason = f"bot-like: {len(copies) + 1} near-identical posts from this author in {minutes} min"
            if _GENERATED_HANDLE.search(post.author.handle):
                reason += "; the handle looks generated"
            return Noise(kind="bot", reason=reason)
    return None


def suggest_do_not_engage(
    complaint: bool, author_recent: Sequence[EarlierPost], now: datetime
) -> DoNotEngageSuggestion | None:
    """A do-not-engage suggestion when this complaint makes `SUGGEST_MIN_COMPLAINTS` within `SUGGEST_WINDOW`."""
    if not complaint:
        return None
    count = 1 + sum(1 for p in author_recent if p.complaint and now - p.at <= SUGGEST_WINDOW)
    if count < SUGGEST_MIN_COMPLAINTS:
        return None
    hours = SUGGEST_WINDOW.total_seconds() / 3600
    return DoNotEngageSuggestion(
        count=count,
        window_hours=hours,
        reason=f"{count} complaints from this author in {hours:g} h: consider the do-not-engage list (not applied)",
    )

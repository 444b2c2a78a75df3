"""The offline composer: a reply built from the post, the organisation block and the retrieved knowledge.

Nothing here knows a company. Who "we" are comes from the request's organisation block; what we know comes
from the entries `search_knowledge` returned; the wording comes from the phrase banks in `phrases/<lang>.yaml`.
Whether an entry answers the post is decided from retrieval evidence: the content words the post shares
with the entry's title and body (weighted by how rare they are among the retrieved entries), the entry's
retrieval scores and its kind. The reply states the entry's sentences that share most with the post,
verbatim, so a number, a name or a price reaches the customer unchanged.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from agent.checks.length import weighted_length as _weighted
from agent.checks.pii import find_pii
from knowledge.lexical import Tokenizer

__all__ = [
    "Composition",
    "Entry",
    "Instructions",
    "Org",
    "Reading",
    "Request",
    "compose",
    "read_instructions",
    "read_post",
    "split_sentences",
    "weighted_length",
]

ANSWER_COVERAGE = 0.1
"""Share of the post's (rarity-weighted) content words an entry must hold at least to count as an answer."""
ANSWER_DENSE = 0.3
"""Below this cosine of the best passage the entry is about something else, whatever words it shares."""
CONFIDENT_SCORE, CONFIDENT_DENSE, CONFIDENT_MARGIN = 0.85, 0.6, 0.2
"""When the retriever alone may decide: fused score, passage cosine, and lead over the next entry."""
BRAND_WEIGHT = 0.3
"""Our own names identify the product but say nothing about the question: they count this much."""


# --- inputs -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A knowledge entry as `search_knowledge` returned it."""

    key: str
    revision: int
    lang: str
    kind: str
    title: str
    body: str
    score: float = 0.0
    dense: float | None = None
    query: str = "post"
    """Why it was searched: ``post``, ``competitor``, ``refund`` or ``mention``."""


@dataclass(frozen=True)
class Org:
    """The organisation block of the request (who we are)."""

    name: str
    names: tuple[str, ...] = ()
    handles: tuple[tuple[str, str], ...] = ()
    products: tuple[tuple[str, tuple[str, ...]], ...] = ()
    competitors: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Org:
        products = tuple(
            (str(p.get("name", "")), tuple(str(a) for a in p.get("aliases", []) or []))
            for p in data.get("products", []) or []
            if isinstance(p, dict) and p.get("name")
        )
        return cls(
            name=str(data.get("name", "")),
            names=tuple(str(n) for n in data.get("names", []) or []),
            handles=tuple((str(c), str(h)) for c, h in (data.get("handles") or {}).items()),
            products=products,
            competitors=tuple(str(c) for c in data.get("competitors", []) or []),
        )

    def handle_for(self, channel: str | None) -> str | None:
        handles = dict(self.handles)
        if channel and channel in handles:
            return handles[channel]
        return next(iter(handles.values()), None)

    def brand_terms(self) -> list[str]:
        terms = [self.name, *self.names, *(h for _, h in self.handles)]
        for name, aliases in self.products:
            terms += [name, *aliases]
        return [t for t in dict.fromkeys(terms) if t]


@dataclass(frozen=True)
class Request:
    """What the user prompt says: the post, its triage, the channel, who we are, the reviewer's wishes."""

    text: str
    lang: str
    triage: dict[str, Any] = field(default_factory=dict)
    channel: str | None = None
    limit: int | None = None
    org: Org | None = None
    generation: int = 1
    instructions: str | None = None
    previous: str | None = None
    """The draft a regeneration replaces: "shorter" and "longer" are relative to it."""
    post_lang: str = ""
    """The post's own language as triage detected it (ISO 639-1); `lang` is the phrase bank's (ja or en)."""


WRITTEN_LANGUAGES = ("ja", "en")
"""The languages the phrase banks write; a post in any other language goes to a person."""
LANGUAGE_NAMES = {
    "fr": "French", "ko": "Korean", "zh": "Chinese", "de": "German", "es": "Spanish", "it": "Italian",
    "pt": "Portuguese", "ru": "Russian", "th": "Thai", "vi": "Vietnamese", "id": "Indonesian", "ar": "Arabic",
    "hi": "Hindi", "nl": "Dutch", "tl": "Tagalog", "ms": "Malay", "tr": "Turkish", "pl": "Polish", "uk": "Ukrainian",
}  # fmt: skip


def language_name(code: str) -> str:
    """An English name for an ISO 639-1 code ("fr" -> "French"), or the code itself."""
    return LANGUAGE_NAMES.get(code, f"'{code}'-language")


# --- language data ------------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def bank(lang: str) -> dict[str, Any]:
    """The phrase bank of a language (``en`` for any language without its own)."""
    name = lang if lang in ("ja", "en") else "en"
    raw = resources.files("agent.llm").joinpath("phrases", f"{name}.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(raw)
    return data


def norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _has(text: str, words: Sequence[str]) -> bool:
    return any(w in text for w in words)


@lru_cache(maxsize=64)
def _signal_pattern(lang: str, name: str) -> re.Pattern[str]:
    return _words_pattern(tuple(bank(lang)["signals"].get(name, [])))


@lru_cache(maxsize=64)
def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """Words as one pattern: Latin words match whole (``word*`` as a prefix), others anywhere."""
    alts = []
    for w in words:
        w = norm(w)
        if w.rstrip("*").isascii() and w[:1].isalnum():
            tail = "" if w.endswith("*") else "(?![a-z0-9])"
            alts.append(rf"(?<![a-z0-9]){re.escape(w.rstrip('*'))}{tail}")
        else:
            alts.append(re.escape(w))
    return re.compile("|".join(alts) or r"(?!x)x")


def _says(text: str, lang: str, name: str) -> bool:
    """Does the (normalised) text hold one of the bank's ``name`` signal words?"""
    return _signal_pattern(lang, name).search(text) is not None


def _signal(lang: str, name: str) -> list[str]:
    return [norm(w) for w in bank(lang)["signals"].get(name, [])]


@lru_cache(maxsize=4)
def _answer_types(lang: str) -> tuple[frozenset[str], dict[str, tuple[re.Pattern[str], re.Pattern[str]]]]:
    """The bank's answer types: the factual ones, and per type (cue words pattern, fact pattern)."""
    data = dict(bank(lang).get("answer_types") or {})
    factual = frozenset(data.pop("factual", []))
    return factual, {
        name: (_words_pattern(tuple(t.get("asks", []))), re.compile("|".join(f"(?:{h})" for h in t["holds"])))
        for name, t in data.items()
    }


@lru_cache(maxsize=4096)
def asks_for(text: str, lang: str) -> frozenset[str]:
    """The kinds of fact a post (or a FAQ title) asks for: ``price``, ``time``, ``date``, ``duration``, …"""
    n = _signal_pattern(lang, "not_question").sub(" ", norm(text))
    return frozenset(name for name, (asks, _) in _answer_types(lang)[1].items() if asks.search(n))


@lru_cache(maxsize=4096)
def holds(text: str, lang: str) -> frozenset[str]:
    """The kinds of fact a sentence (or an entry's body) states."""
    found: set[str] = set()
    for sentence in split_sentences(text):
        n = norm(sentence)
        found |= {name for name, (_, fact) in _answer_types(lang)[1].items() if fact.search(n)}
    return frozenset(found)


def factual(lang: str) -> frozenset[str]:
    return _answer_types(lang)[0]


@lru_cache(maxsize=1)
def _tokenizer() -> Tokenizer:
    return Tokenizer()


_WORD = re.compile(r"[a-z][a-z0-9]+")
_FIGURE = re.compile(r"(?<![\d.,:])(?P<n>\d+(?:[.,:]\d+)?)\s?(?P<u>[^\W\d_]|%|¥|\$)?")


@lru_cache(maxsize=4096)
def terms_of(text: str) -> frozenset[str]:
    """Content terms of ``text``: Sudachi normalised forms of its Japanese words, and its Latin words and codes
    ("e12") lightly stemmed (the tokenizer would read "credit card" as one Japanese loanword)."""
    terms = {t for t, _ in _tokenizer().terms(text) if not t.isascii()}
    terms |= {_stem(w) for w in _WORD.findall(norm(text)) if w not in _en_stop()}
    return frozenset(terms)


def _stem(word: str) -> str:
    """A crude stem that only needs to agree with itself: "close", "closed", "closes", "closing" → "clos"."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


@lru_cache(maxsize=1)
def _en_stop() -> frozenset[str]:
    return frozenset(norm(w) for w in bank("en")["signals"]["function_words"])


def figures(text: str) -> frozenset[str]:
    """Numbers with the first letter of their unit ("3年", "30d", "18:00"): the facts a question asks for."""
    return frozenset(m.group("n") + (m.group("u") or "") for m in _FIGURE.finditer(norm(text)))


_OPEN, _CLOSE = "「『“(（", "」』”)）"
_ENDS = "。！？!?"


def split_sentences(text: str) -> list[str]:
    """Sentences of a Japanese or English text; quotes, brackets and a URL's dots never split one."""
    out, cur, depth, straight = [], "", 0, False
    for i, ch in enumerate(text):
        cur += ch
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE and depth:
            depth -= 1
        elif ch == '"':
            straight = not straight
        nxt = text[i + 1 : i + 2]
        if depth or straight:
            continue
        if (ch in _ENDS and nxt not in _ENDS + _CLOSE + '"') or ch == "\n" or (ch == "." and nxt in (" ", "")):
            if cur.strip():
                out.append(cur.strip())
            cur = ""
    if cur.strip():
        out.append(cur.strip())
    return out


def weighted_length(text: str) -> int:
    """X's weighted length: CJK characters count 2, a URL 23."""
    return _weighted(text)[0]


def _pick(options: Sequence[str], seed: str, generation: int) -> str:
    """One option, the same for the same post; another one for each regeneration."""
    if not options:
        return ""
    base = int.from_bytes(hashlib.blake2b(seed.encode(), digest_size=4).digest(), "big")
    return options[(base + generation - 1) % len(options)]


# --- reading the post ---------------------------------------------------------------------------------------

_TAGS = re.compile(r"[@#][\w.\-]+|https?://\S+")


@dataclass(frozen=True)
class Reading:
    """What the post is about and what it asks, in the post's language."""

    lang: str
    text: str
    terms: frozenset[str]
    brand: frozenset[str]
    product: str | None
    about_us: bool
    rival: bool
    personal_data: bool
    order: bool
    refund: bool
    injection: bool
    question: bool
    trouble: bool
    praise: bool
    safety: bool
    legal: bool
    wants: frozenset[str]
    """The kinds of fact the post asks for (see `asks_for`)."""
    figures: frozenset[str]
    tried: frozenset[str]
    bare: bool


def _mentions(n: str, term: str) -> bool:
    t = norm(term).lstrip("@")
    if not t:
        return False
    if t.isascii():  # a Latin name is a word, not a piece of one ("ai" in "said")
        return re.search(rf"(?<![a-z0-9]){re.escape(t)}(?![a-z0-9])", n) is not None
    return t in n


def _script(text: str) -> str:
    return "ja" if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text) else "en"


def _distinctive(term: str) -> bool:
    """Does this name say "us" even next to another company's? Our own names and product names do; a
    lowercase word ("earbuds") or a kanji-only word (「炊飯器」) may name anybody's product."""
    if term.isascii():
        return any(ch.isupper() or ch.isdigit() or ch == "@" for ch in term)
    return not re.fullmatch(r"[\u4e00-\u9fff]+", term)


def _wants(text: str, lang: str) -> frozenset[str]:
    """What the post's questions ask for: its sentences that ask something (a statement such as "the fee was
    taken twice" asks for no fee), or the whole post when no sentence reads as a question."""
    unasked = _signal_pattern(lang, "not_question")
    asking = [
        s
        for s in split_sentences(text)
        if _says(unasked.sub(" ", norm(s)), lang, "question") or _says(norm(s), lang, "request")
    ]
    return frozenset().union(*(asks_for(s, lang) for s in asking)) if asking else asks_for(text, lang)


_READINGS: OrderedDict[tuple[Any, ...], Reading] = OrderedDict()
_READINGS_LOCK = threading.Lock()


def read_post(req: Request) -> Reading:
    """Read the post with the triage, the organisation block and the phrase bank's signal words.

    Remembered for the last few hundred requests: a repair composes several alternatives of one post, and
    each reads it (1-2 ms of Sudachi and pattern work a time)."""
    key = (req.text, req.lang, repr(sorted(req.triage.items())), req.org, req.channel, req.instructions)
    with _READINGS_LOCK:
        hit = _READINGS.get(key)
        if hit is not None:
            _READINGS.move_to_end(key)
            return hit
    reading = _read_post(req)
    with _READINGS_LOCK:
        _READINGS[key] = reading
        while len(_READINGS) > 512:
            _READINGS.popitem(last=False)
    return reading


def _read_post(req: Request) -> Reading:
    lang, n = req.lang, norm(req.text)
    org, tri = req.org, req.triage
    brand_terms = org.brand_terms() if org else []
    product = None
    if org:
        for name, aliases in org.products:
            said = [t for t in (name, *aliases) if _mentions(n, t)]
            if said:  # the product's own name, unless the post names it in another script ("Acme Pass" for アクメパス)
                product = name if name in said or _script(name) == _script(req.text) else said[0]
                break
    brand = frozenset(t for b in brand_terms for t in terms_of(b))
    content = terms_of(_TAGS.sub(" ", req.text)) - set(_signal(lang, "stop_terms"))
    rivals = [c for c in (org.competitors if org else ()) if _mentions(n, c)]
    intent = str(tri.get("intent", "other"))
    sensitive = set(tri.get("sensitive") or [])
    # a set phrase that only looks like danger ("burned through my data") is no safety matter
    idiom = _signal_pattern(lang, "not_safety")
    safety = _says(idiom.sub(" ", n), lang, "safety") or ("safety" in sensitive and not idiom.search(n))
    legal = "legal" in sensitive or _says(n, lang, "legal")
    negative = intent in ("complaint", "bug_report") or tri.get("sentiment") == "negative" or safety or legal
    positive = intent == "praise" or tri.get("sentiment") == "positive"
    trouble = negative or (_says(n, lang, "trouble") and not positive)
    unasked = _signal_pattern(lang, "not_question")  # 「いつも」 asks nothing
    plain = unasked.sub(" ", n)
    question = _says(plain, lang, "question") or _says(plain, lang, "request")
    question = question or (intent in ("question", "request") and not unasked.search(n))
    praise = (positive or _says(n, lang, "praise")) and not negative
    tried: set[str] = set()
    for sentence in split_sentences(req.text):
        if _says(norm(sentence), lang, "tried"):
            tried |= terms_of(sentence) - brand
    return Reading(
        lang=lang,
        text=req.text,
        terms=frozenset(content),
        brand=brand,
        product=product,
        about_us=org is None or any(_mentions(n, t) for t in brand_terms if not rivals or _distinctive(t)),
        rival=bool(rivals) or _says(n, lang, "others"),
        personal_data=bool(find_pii(req.text)),
        order=_says(n, lang, "order") or (_says(n, lang, "arrival") and _says(n, lang, "goods")),
        refund=_says(n, lang, "refund"),
        injection=_says(n, lang, "injection"),
        question=question,
        trouble=trouble,
        praise=praise and not question,
        safety=safety,
        legal=legal,
        wants=_wants(req.text, lang) if question else frozenset(),
        figures=figures(req.text),
        tried=frozenset(tried),
        bare=len(content - brand) < 2,
    )


# --- which entry answers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    entry: Entry
    coverage: float
    title_hits: frozenset[str]
    shared: frozenset[str]
    strength: float


def _weights(reading: Reading, entries: Sequence[Entry]) -> dict[str, float]:
    """How much each post term says: rarer among the retrieved entries weighs more; our names weigh little."""
    docs = [terms_of(e.title) | terms_of(e.body) for e in entries]
    n = max(len(docs), 1)
    out = {}
    for t in reading.terms:
        df = sum(t in d for d in docs)
        w = math.log(1 + n / (1 + df)) + 0.1
        out[t] = w * BRAND_WEIGHT if t in reading.brand else w
    return out


def rank(reading: Reading, entries: Sequence[Entry]) -> list[Match]:
    """The entries in the post's language, best-evidenced first: the retriever's own scores and the post's
    rarity-weighted content words found in the entry's title (the question it answers) and body."""
    pool = [e for e in entries if e.lang == reading.lang]
    weights = _weights(reading, pool)
    total = sum(weights.values()) or 1.0
    docs = [terms_of(e.title) | terms_of(e.body) for e in pool]
    # without a profile our names are unknown: a word in most of what the search found names the company or
    # its product line, not this question
    common = {
        t for t in reading.terms if not reading.brand and len(docs) >= 3 and sum(t in d for d in docs) * 2 >= len(docs)
    }
    out = []
    for e in pool:
        title, body = terms_of(e.title) - common, terms_of(e.body) - common
        hits_t = reading.terms & title
        hits_b = (reading.terms & body) - hits_t
        # a FAQ's title is the question it answers: a post word found there counts most
        coverage = (sum(weights[t] for t in hits_t) + 0.5 * sum(weights[t] for t in hits_b)) / total
        title_cov = sum(1 for t in title if t in hits_t) / (len(title) or 1)
        strength = coverage + 0.6 * title_cov + 0.5 * e.score + 0.3 * (e.dense or 0.0)
        out.append(Match(e, coverage, frozenset(hits_t - reading.brand), frozenset(hits_t | hits_b), strength))
    return sorted(out, key=lambda m: (-m.strength, m.entry.key))


def answering(reading: Reading, matches: Sequence[Match]) -> Match | None:
    """The entry that answers the post, if the evidence says one does: it shares at least two content words
    with the post, one of them in its title (or three, when it also ranks first), and is not far off in meaning.
    A question asking for a kind of fact (a price, an hour, a date) takes an entry stating that kind of fact on
    one shared word, and failing that, a lower-ranked entry whose own title asks for that kind of fact."""
    found = []
    unknown = _unknown_subject(reading, [m.entry for m in matches])
    for m in matches[:3]:
        distinct = m.shared - reading.brand
        if unknown and len(m.title_hits) <= 1:
            continue  # "do you support X?" about an X no entry mentions, and the entry asks about little of it
        first = m is matches[0]
        if not _near(m):
            continue
        if not (
            (m.title_hits and len(distinct) >= 2 and m.coverage >= ANSWER_COVERAGE)
            or (len(m.title_hits) >= 2 and m.coverage >= ANSWER_COVERAGE)
            or (len(distinct) >= 3 and first and m.coverage >= ANSWER_COVERAGE)
            or (first and _confident(m.entry, [x.entry for x in matches]))
            or _typed(reading, m)
        ):
            continue
        if _beside_the_point(reading, m.entry):
            continue
        if m.entry.kind == "policy" and not _quotable(reading, m.entry):
            continue
        found.append(m)
    if found:
        # of two answers on the same title evidence, the one whose title asks what the post asks ("how much")
        wants = reading.wants & factual(reading.lang)
        asked = [m for m in found if wants & asks_for(m.entry.title, reading.lang)]
        best = found[0]
        other = asks_for(best.entry.title, reading.lang) & factual(reading.lang) - wants  # asks something else
        if asked and (
            (len(asked[0].title_hits) >= len(best.title_hits) and asked[0].coverage >= 0.8 * best.coverage)
            or (other and asked[0].title_hits)
        ):
            return asked[0]
        return found[0]
    typed = [m for m in matches[:5] if _near(m) and _typed(reading, m, titled=True)]
    typed = [m for m in typed if not _beside_the_point(reading, m.entry) and m.entry.kind != "policy"]
    return typed[0] if typed else None


_KATAKANA_WORD = re.compile(r"[\u30a0-\u30ffー]+")


def _unknown_subject(reading: Reading, entries: Sequence[Entry]) -> bool:
    """A yes/no question whose most specific words (long, not our names) appear in none of the retrieved
    entries: whatever the entries share with it, they are about something else."""
    if reading.wants != {"yesno"} or not entries:
        return False
    docs = [norm(e.title + " " + e.body) for e in entries if e.lang == reading.lang]
    # a katakana word is a thing's name (a device, a feature, a service): one that no entry mentions is news
    written = norm(reading.text)  # the post's own words, not a reading the normaliser added
    specific = [
        t for t in reading.terms - reading.brand if len(t) >= 3 and _KATAKANA_WORD.fullmatch(t) and t in written
    ]
    return bool(docs) and any(not any(t in d for d in docs) for t in specific)


def _near(m: Match) -> bool:
    dense = m.entry.dense if m.entry.dense is not None else 1.0
    return dense >= ANSWER_DENSE and m.coverage >= ANSWER_COVERAGE / 2


def _typed(reading: Reading, m: Match, *, titled: bool = False) -> bool:
    """Does the entry state the kind of fact the question asks for, on at least one shared topic word, with
    the post's word in its title or its title asking for that kind of fact (``titled``: the latter)?"""
    wants = reading.wants & factual(reading.lang)
    if not wants or not wants & holds(m.entry.body, reading.lang) or not m.shared - reading.brand:
        return False
    title_asks = bool(wants & asks_for(m.entry.title, reading.lang))
    return title_asks or (not titled and bool(m.title_hits))


def _beside_the_point(reading: Reading, entry: Entry) -> bool:
    """A complaint answered with a FAQ about something else: the entry's title asks for a kind of fact (an
    hour, a date, a price) the post does not ask about, so it cannot address what went wrong."""
    if not reading.trouble:
        return False
    asked = asks_for(entry.title, reading.lang) & factual(reading.lang)
    return bool(asked) and not asked & reading.wants


def _confident(entry: Entry, pool: Sequence[Entry]) -> bool:
    """The retriever itself is sure: the entry leads the fused ranking by a wide margin and its passage is close
    in meaning (a paraphrase such as "how much" for a price list shares no words)."""
    others = [e.score for e in pool if e is not entry]
    return (
        entry.score >= CONFIDENT_SCORE
        and (entry.dense or 0.0) >= CONFIDENT_DENSE
        and entry.score - max(others, default=0.0) >= CONFIDENT_MARGIN
    )


def _quotable(reading: Reading, entry: Entry) -> list[str]:
    """Sentences of an entry a customer may read (a policy's notes to staff are never quoted)."""
    out = []
    for s in split_sentences(entry.body):
        if _says(norm(s), reading.lang, "promise"):
            continue  # a public reply never promises an exchange, a refund or compensation
        if entry.kind == "policy" and (
            _says(norm(s), reading.lang, "internal") or len((terms_of(s) & reading.terms) - reading.brand) < 2
        ):
            continue
        out.append(s)
    return out


def _usable(reading: Reading, entry: Entry, avoid: frozenset[str], rivals: Sequence[str]) -> list[str]:
    return [
        s
        for s in _quotable(reading, entry)
        if not any(a in s for a in avoid) and not any(_mentions(norm(s), r) for r in rivals)
    ]


def pick_sentences(
    reading: Reading, entry: Entry, avoid: frozenset[str], *, most: int, rivals: Sequence[str], skip: int = 0
) -> list[str]:
    """The entry's sentences that answer this post, in the entry's order (at most ``most``): the one sharing most
    with the post (a number the post asks about counts most), then others only for what the first leaves out."""
    title = terms_of(entry.title)
    scored = []
    for i, s in enumerate(_usable(reading, entry, avoid, rivals)):
        t = terms_of(s)
        shared = (t & reading.terms) - reading.brand
        fresh = shared - reading.tried
        score = len(fresh) + 0.3 * len(t & title & reading.terms) + 1.5 * len(reading.figures & figures(s))
        kinds = holds(s, reading.lang) & reading.wants
        if kinds:  # the sentence states the kind of fact the post asks for
            score += 1.0 + 0.5 * len(kinds)
        if i == 0 and reading.question and not reading.trouble and reading.terms & title:
            score += 1.0  # a FAQ's first sentence answers the question in its title
        if reading.product and reading.product in s:
            score += 1.0  # the sentence about the product the post names
        if shared and not fresh:
            score -= 1.5  # the customer already did this
        said = shared | {f"#{f}" for f in figures(s) & reading.figures} | {f"@{k}" for k in kinds}
        scored.append((score - 0.05 * i, i, s, said))
    if not scored:
        return []
    scored.sort(key=lambda x: -x[0])
    if skip and len(scored) > skip:
        scored = scored[skip:]  # another of the entry's sentences, for a reply unlike a recent one
    chosen = [scored[0]]
    covered = set(scored[0][3])
    # each kind of fact the post asks for ("how much … and until when") from the best sentence stating it
    for kind in sorted(reading.wants & factual(reading.lang)):
        cand = next((c for c in scored if f"@{kind}" in c[3]), None)
        if cand is not None and f"@{kind}" not in covered and len(chosen) < most:
            chosen.append(cand)
            covered |= cand[3]
    for cand in scored[1:]:
        if len(chosen) >= most:
            break
        amount = bool(holds(cand[2], reading.lang) & reading.wants & factual(reading.lang))
        if cand not in chosen and cand[0] > 0.5 and (cand[3] - covered or amount):
            chosen.append(cand)
            covered |= cand[3]
    return [s for _, _, s, _ in sorted(chosen, key=lambda x: x[1])]


def _aspect(reading: Reading, entries: Sequence[Entry]) -> str | None:
    """The most specific thing the post names that the knowledge also names: a Japanese noun compound, or two
    or three English content words in a row."""
    n = norm(" ".join(f"{e.title} {e.body}" for e in entries if e.lang == reading.lang))
    if not n:
        return None
    text = _TAGS.sub(" ", reading.text)
    found: list[str] = []
    if reading.lang == "ja":
        for p in _tokenizer().noun_phrases(text):
            if len(p) >= 2 and norm(p) in n and not terms_of(p) <= reading.brand and not terms_of(p) <= reading.tried:
                found.append(p)
    else:
        words = re.findall(r"[A-Za-z][A-Za-z-]*", text)
        content = [bool(terms_of(w) & (reading.terms | reading.brand)) for w in words]
        for size in (3, 2):
            for i in range(len(words) - size + 1):
                gram = " ".join(words[i : i + size]).lower()
                if not all(content[i : i + size]) or terms_of(gram) <= reading.brand:
                    continue
                if re.search(rf"(?<![a-z]){re.escape(gram)}(?![a-z])", n):
                    found.append(gram)
    return max(found, key=len) if found else None


# --- instructions -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instructions:
    """A reviewer's wishes, as far as the composer understands them."""

    shorter: bool = False
    longer: bool = False
    formal: bool = False
    friendly: bool = False
    apology: int = 0
    """+1 add an apology, -1 drop it."""
    beginner: bool = False
    dm: bool = False
    mention: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


def read_instructions(text: str | None, lang: str) -> Instructions:
    """The reviewer's instructions, clause by clause, in Japanese or English (both banks are tried)."""
    if not text or not text.strip():
        return Instructions()
    flags: dict[str, bool] = {}
    apology, mention, unknown = 0, [], []
    for code in dict.fromkeys((lang, "ja", "en")):
        b = bank(code)["instructions"]
        for clause in re.split(b["clause_split"], text):
            c = norm(clause).strip(" 　、,。.")
            if not c:
                continue
            understood = False
            for name in ("shorter", "longer", "formal", "friendly", "beginner", "dm"):
                if _has(c, [norm(w) for w in b[name]]):
                    flags[name] = understood = True
            if _has(c, [norm(w) for w in b["apology_drop"]]):
                apology, understood = -1, True
            elif _has(c, [norm(w) for w in b["apology_add"]]):
                apology, understood = max(apology, 1) if apology != -1 else -1, True
            for pattern in b["mention"]:
                m = re.search(pattern, clause.strip(), re.IGNORECASE)
                if m and m.group(1).strip(" 「」\"'"):
                    mention.append(m.group(1).strip(" 「」\"'.。"))
                    understood = True
                    break
            if not understood and re.search(r"[ぁ-んァ-ン一-龥]" if code == "ja" else r"[A-Za-z]", clause):
                unknown.append(clause.strip())
    # a clause is unknown only if no language's bank understood it
    known_text = " ".join(mention)
    unknown = [u for u in dict.fromkeys(unknown) if not _understood_anywhere(u, lang) and u not in known_text]
    return Instructions(
        shorter=flags.get("shorter", False) and not flags.get("longer", False),
        longer=flags.get("longer", False) and not flags.get("shorter", False),
        formal=flags.get("formal", False),
        friendly=flags.get("friendly", False) and not flags.get("formal", False),
        apology=apology,
        beginner=flags.get("beginner", False),
        dm=flags.get("dm", False),
        mention=tuple(dict.fromkeys(mention)),
        unknown=tuple(unknown),
    )


def _understood_anywhere(clause: str, lang: str) -> bool:
    c = norm(clause)
    for code in ("ja", "en"):
        b = bank(code)["instructions"]
        names = ("shorter", "longer", "formal", "friendly", "beginner", "dm", "apology_add", "apology_drop")
        if any(_has(c, [norm(w) for w in b[name]]) for name in names):
            return True
        if any(re.search(p, clause, re.IGNORECASE) for p in b["mention"]):
            return True
    return False


# --- the reply ----------------------------------------------------------------------------------------------


@dataclass
class Composition:
    """A reply in parts (each part one or more sentences, with how much it may be dropped to fit)."""

    lang: str
    parts: list[tuple[int, str]] = field(default_factory=list)
    """(priority, sentence): 9 never dropped, lower dropped first when the channel is short."""
    citations: list[Entry] = field(default_factory=list)
    needs_dm: bool = False
    action: str = "reply"
    escalate_to: str | None = None
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        joiner: str = bank(self.lang)["joiner"]
        return joiner.join(s for _, s in self.parts if s)

    def args(self) -> dict[str, Any]:
        cited = list({(e.key, e.revision): e for e in self.citations})
        return {
            "text": self.text(),
            "language": self.lang,
            "citations": [{"key": k, "revision": r} for k, r in cited],
            "needs_dm": self.needs_dm,
            "action": self.action,
            "escalate_to": self.escalate_to,
            "rationale": "; ".join(self.notes),
        }


def _say(req: Request, tone: str, part: str, salt: int, **values: str | None) -> str:
    """A sentence of the bank for ``part`` whose slots all have values (the tone's own first, else neutral)."""
    parts = bank(req.lang)["parts"]
    options = parts.get(tone, {}).get(part) or parts["neutral"].get(part, [])
    usable = [o for o in options if all(values.get(s) for s in re.findall(r"\{(\w+)\}", o))]
    # name as much of the post's subject as we know: the options using most of subject and aspect
    most = max((len({"subject", "aspect"} & set(re.findall(r"\{(\w+)\}", o))) for o in usable), default=0)
    specific = [o for o in usable if len({"subject", "aspect"} & set(re.findall(r"\{(\w+)\}", o))) == most]
    seed = f"{req.text}|{part}|{salt}"
    chosen = _pick(specific, seed, 1)
    if req.generation > 1:  # a regeneration never repeats the first draft's choice
        chosen = _pick([o for o in usable if o != chosen] or [chosen], seed, req.generation - 1)
    return chosen.format(**{k: v for k, v in values.items() if v}) if chosen else ""


def compose(
    req: Request,
    entries: Sequence[Entry],
    *,
    history: Sequence[dict[str, Any]] = (),
    salt: int = 0,
    avoid: frozenset[str] = frozenset(),
    force_dm: bool = False,
    lean: bool = False,
    skip: int = 0,
) -> Composition:
    """The reply to ``req`` from ``entries`` (deterministic for the same inputs).

    ``salt``, ``lean`` (one fact only) and ``skip`` (pass over the best sentences) give other wordings on a
    repair; ``avoid`` holds texts the checks flagged, which no sentence may contain; ``force_dm`` moves the
    matter to DM.
    """
    if req.post_lang and req.post_lang not in (*WRITTEN_LANGUAGES, "und"):
        # The phrase banks write Japanese and English only: a reply in either would not be read. A person answers.
        c = Composition(lang=req.post_lang, action="escalate", escalate_to="support")
        c.notes.append(
            f"{language_name(req.post_lang)} post: a person must answer "
            "(the offline model writes only Japanese and English)"
        )
        return c
    r = read_post(req)
    ins = read_instructions(req.instructions, req.lang)
    tone = "formal" if ins.formal else "friendly" if ins.friendly else "neutral"
    c = Composition(lang=req.lang)
    rivals = list(req.org.competitors) if req.org else []
    answer = None if r.praise and not r.question else answering(r, rank(r, [e for e in entries if e.query == "post"]))
    handle = req.org.handle_for(req.channel) if req.org else None
    aspect = None if r.injection else _aspect(r, [answer.entry] if answer else entries)
    values = {"subject": r.product, "aspect": aspect, "handle": handle}

    def say(part: str) -> str:
        return _say(req, tone, part, salt, **values)

    repeat = bool(history) and r.trouble
    if not r.about_us and (r.rival or answer is None):
        c.action = "ignore"
        c.notes.append(
            "not about us: it names none of our names or products" + (", but another company" if r.rival else "")
        )
        return c
    if r.injection:
        c.notes.append("instructions inside the post were treated as data")
    if r.praise and r.bare and not r.question:
        c.action = "like_only"
        c.notes.append("a friendly mention with nothing to answer")
        return c

    # the opening: one apology for trouble, thanks for praise, thanks for a question
    apologise = (r.trouble or repeat or ins.apology == 1) and ins.apology != -1 and not r.praise
    if ins.apology == 1 and r.praise:
        c.notes.append("could not follow: add an apology (praise is thanked, never apologised for)")
    if apologise:
        c.parts.append((6, say("apology_repeat" if repeat else "apology")))
    elif r.praise:
        c.parts.append((6, say("thanks_praise")))
        c.parts.append((2, say("praise_follow")))  # a second, independent part: praise replies rarely coincide
    elif r.question or answer:
        c.parts.append((3, say("thanks_question")))

    # what we must do whatever the knowledge says
    # an order matter goes to DM, not an order the customer praises or a question about ordering in general
    order = r.order and not r.praise
    dm = force_dm or r.personal_data or order or r.refund or ins.dm or repeat
    if r.safety:
        c.action, c.escalate_to = "escalate", "quality"
        c.parts.append((9, say("safety")))
        c.notes.append("a safety matter: stop using it; handed to quality")
    elif r.legal:
        c.action, c.escalate_to = "escalate", "legal"
        c.notes.append("a legal claim: handed to legal")
    elif repeat and answer is None:
        c.action, c.escalate_to = "escalate", "support"
        c.notes.append("the customer is writing again: escalated to support, continued by DM")

    # the answer from the knowledge
    if answer is not None:
        most = 1 if lean or ins.shorter else 3 if ins.longer else 2
        sentences = pick_sentences(r, answer.entry, avoid, most=most, rivals=rivals, skip=skip)
        if ins.beginner:
            steps = _usable(r, answer.entry, avoid, rivals)[:5]
            if len(steps) >= 2:
                fmt = bank(req.lang)["step_format"]
                sentences = [say("steps_intro")] + [fmt.format(n=i + 1, text=s) for i, s in enumerate(steps)]
            else:
                c.notes.append("could not follow: step by step (the entry holds a single step)")
        if sentences:
            c.citations.append(answer.entry)
            # the sentence that answers best is kept whatever the channel's room; the others go first
            best = pick_sentences(r, answer.entry, avoid, most=1, rivals=rivals, skip=skip)[:1] or sentences[:1]
            c.parts += [(8 if s in best or ins.beginner else 5 - min(i, 3), s) for i, s in enumerate(sentences)]
            c.notes.append(f"answered from {answer.entry.key} (evidence {answer.coverage:.2f})")
        else:
            answer = None
    elif ins.beginner:
        c.notes.append("could not follow: step by step (no entry answers the post)")

    if answer is None:
        if r.rival and c.action == "reply":
            c.parts.append((8, say("competitor")))
            c.citations += [e for e in entries if e.query == "competitor" and e.kind == "policy"][:1]
            c.notes.append("a comparison with another company: no comment on them")
        elif r.praise and not r.question and c.action == "reply":
            c.notes.append("praise thanked; nothing to answer")
        elif (
            (r.praise or r.bare) and not (r.trouble or r.question or r.order or r.personal_data) and c.action == "reply"
        ):
            c.action, c.parts = "like_only", []
            c.notes.append("a mention with nothing to answer")
            return c
        elif (
            not (r.trouble or r.question or r.order or r.personal_data or r.praise or r.product)
            and c.action == "reply"
            and req.org is not None
            and _name_as_a_word(req.text, req.org)
        ):
            c.action, c.parts = "ignore", []
            c.notes.append("our name used as an ordinary word, with nothing to answer: not about us")
            return c
        else:
            if c.action == "reply":
                c.action, c.escalate_to = "escalate", "support"
                c.notes.append("no entry answers the post: escalated to support")
            c.parts.append((9, say("legal") if r.legal else say("escalate")))
            c.parts.append((2, say("escalate_follow")))  # an independent part: escalations rarely coincide
    elif c.action == "escalate":
        c.parts.append((9, say("escalate")))
        c.parts.append((2, say("escalate_follow")))
    if r.refund:
        c.parts.append((7, say("refund")))
        c.citations += [e for e in entries if e.query == "refund" and e.kind == "policy"][:1]
    for topic in ins.mention:
        found = _mention(r, topic, entries, avoid, rivals)
        if found is None:
            c.notes.append(f"could not follow: mention {topic} (the knowledge says nothing about it)")
        elif found[0] not in c.text():
            c.parts.append((7, found[0]))
            c.citations.append(found[1])
    if dm:
        c.needs_dm = True
        if c.action == "reply":
            c.action = "reply_and_dm"
        c.parts.append((9, say("dm") if handle else say("dm_nohandle")))
    if ins.longer or ins.formal or ins.friendly:
        c.parts.append((1, say("closing")))
    if ins.shorter:
        c.parts = [p for p in c.parts if p[0] >= 6]
        # shorter than the draft the reviewer saw: drop what may go, the lowest priority first
        while req.previous and len(c.text()) >= len(req.previous) and len(c.parts) > 1:
            drop = min(range(len(c.parts)), key=lambda i: (c.parts[i][0], -i))  # the opening goes before the answer
            if c.parts[drop][0] >= 9:
                break
            del c.parts[drop]
        if req.previous and len(c.text()) >= len(req.previous):
            c.notes.append("could not follow: shorter (nothing more can go without losing the answer)")
        else:
            c.notes.append("shortened as asked")
    c.notes += [f"could not follow: {u}" for u in ins.unknown]
    c.parts = [(p, s) for p, s in c.parts if s and not any(a in s for a in avoid)]
    fit(c, req)
    return c


def _name_as_a_word(text: str, org: Org) -> bool:
    """Does the post use our name only as an ordinary word: never by handle or tag, and every name it holds
    written in lower case where we capitalise it ("the mori woods" for Mori) or said twice in a row (「もりもり」)?"""
    if re.search(r"[@#＃]", text):
        return False
    said = [name for name in (org.name, *org.names) if name and _mentions(norm(text), name)]
    n = norm(text)
    for name in said:
        t = norm(name)
        doubled = re.search(rf"{re.escape(t)}\s?{re.escape(t)}", n) is not None
        lower = name.isascii() and name != name.lower() and name not in text and name.lower() in text
        if not (doubled or lower):
            return False
    return bool(said)


def _mention(
    r: Reading, topic: str, entries: Sequence[Entry], avoid: frozenset[str], rivals: Sequence[str]
) -> tuple[str, Entry] | None:
    """A sentence of the knowledge (post language) about ``topic``, with its entry."""
    want = terms_of(topic) or frozenset({norm(topic)})
    best: tuple[float, str, Entry] | None = None
    for e in entries:
        if e.lang != r.lang:
            continue
        for s in _quotable(r, e) if e.kind == "policy" else split_sentences(e.body):
            if any(a in s for a in avoid) or any(_mentions(norm(s), x) for x in rivals):
                continue
            score = len(want & terms_of(s)) + (2.0 if norm(topic) in norm(s) else 0.0)
            if score > 0 and (best is None or score > best[0]):
                best = (score, s, e)
    return (best[1], best[2]) if best else None


def fit(c: Composition, req: Request) -> None:
    """Drop the least needed parts, then cut the longest sentence, until the reply fits the channel."""
    if req.limit is None:
        return
    measure = weighted_length if req.channel == "x" else len
    while measure(c.text()) > req.limit:
        droppable = [i for i, (p, _) in enumerate(c.parts) if p < 8]
        if droppable:
            i = min(droppable, key=lambda i: (c.parts[i][0], -i))
            del c.parts[i]
            continue
        i = max(range(len(c.parts)), key=lambda i: (c.parts[i][0] < 9, len(c.parts[i][1])))
        p, s = c.parts[i]
        over = measure(c.text()) - req.limit
        cut = _cut(s, measure(s) - over - 2, measure, req.lang)
        if cut == s or not cut:
            del c.parts[i]
            if not c.parts:
                return
            continue
        c.parts[i] = (p, cut)


def _cut(sentence: str, room: int, measure: Any, lang: str) -> str:
    """The sentence up to its last clause break that fits in ``room``, ended with an ellipsis."""
    end = bank(lang)["ellipsis"]
    best = ""
    for m in re.finditer(r"[、,，;:：]", sentence):
        head = sentence[: m.start()] + end
        if measure(head) <= room:
            best = head
    return best

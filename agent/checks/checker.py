"""The checker: compiles rules once and checks replies against them."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Literal

import jaconv

from .length import COUNTING, check_channel, resolve_channel
from .matcher import Hit, TermMatcher, TermSpec, TextViews
from .models import CheckResult, Finding
from .normalize import View, policy_view
from .pii import DEFAULT_REGIONS, PiiItem, clean_regions, find_pii, normalise_contact, phone_forms
from .policy import find_policy
from .rules import Rules, Term, default_rules, load_rules, rules_signature, with_extras

__all__ = ["MAX_TEXT_CHARS", "Checker", "TextTooLong", "check", "checker_for"]

MAX_TEXT_CHARS = 20_000
"""Longest text (reply or post) accepted, in characters. Longer input raises :class:`TextTooLong`."""


class TextTooLong(ValueError):
    """The reply or post is longer than :data:`MAX_TEXT_CHARS`."""


_DEFAULT_SEVERITY: dict[str, Literal["warn", "block"]] = {
    "ng_word": "block",
    "pii": "block",
    "pii.name": "warn",
    "pii.order_number": "warn",
    "pii.postal_code": "warn",
    "pii_echo": "block",
    "dm_redirect": "warn",
    "compensation": "warn",
    "overpromise": "warn",
    "uncertain": "warn",
    "competitor": "warn",
    "controversial": "warn",
    "length": "block",
}

_PII_TEXT = {
    "phone": ("電話番号", "a phone number"),
    "email": ("メールアドレス", "an e-mail address"),
    "postal_code": ("郵便番号", "a postal code"),
    "address": ("住所", "a street address"),
    "card": ("カード番号", "a payment card number"),
    "my_number": ("マイナンバー", "a My Number (individual number)"),
    "order_number": ("注文番号", "an order number"),
    "name": ("氏名(敬称付き)", "a person's name"),
}

_MASKED = re.compile(r"(?<![0-9A-Za-z])[0-9*x×●○■#](?:[-\s]?[0-9*x×●○■#]){3,}(?![0-9A-Za-z])")
_MASK_CHARS = set("*x×●○■#")
_REQUEST_PII = re.compile(
    jaconv.kata2hira(
        r"(電話番号|ご住所|住所|氏名|お名前|メールアドレス|ご注文番号|注文番号|カード番号|会員番号|お問い合わせ番号|"
        r"アカウント|生年月日)(と|や|、|・|及び|および|を|は|も|に)?[^。！!？?\n]{0,20}?"
        r"(教えて|お知らせ|お送り|ご連絡|ご記入|記載|書いて|返信|リプライ|お伺い|伺え|お聞かせ|ご提示|いただけ|ください)"
        r"|(?<![a-z])(reply|send|share|tell|give|provide|post|let\s+us\s+know)(?![a-z])[^.!?\n]{0,25}?(your|the)\s+"
        r"(full\s+)?(phone|number|address|e-?mail|order\s+(number|id)|name|card|account|details)"
    ),
    re.IGNORECASE,
)


# The request itself says where to answer: in public ("reply with your phone number", 「こちらに電話番号を
# 返信してください」, "in the comments"). Such a request is flagged even when a private channel is named too.
_PUBLIC_TARGET = re.compile(
    jaconv.kata2hira(
        r"(?<![a-z])(reply|respond|comment|tweet|mention|post\s+(it|them|here|below|in))(?![a-z])|"
        r"(?<![a-z])(in|on|to)\s+(this|the|a)\s+(thread|tweet|post|comments?|replies|reply|timeline)(?![a-z])|"
        r"返信|リプ|コメント|このスレッド|このツイート|この投稿|このポスト|ここに(書|ご記入|記入|記載)"
    ),
    re.IGNORECASE,
)
# A private place the customer is sent to: a link (https URL or a short link such as "host.to/abc"), a
# form, e-mail or phone. DM phrases come from the rules (``dm_phrases``).
_URL_IN_REPLY = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'、。「」（）()]+|(?<![a-z0-9@._-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/[^\s<>\"'、。「」（）()]+"
)
# links to public posts on social networks are not private (a DM or messenger link is)
_PUBLIC_HOST = re.compile(
    r"^(?:https?://)?(?:www\.|mobile\.|m\.)?(?:x\.com|twitter\.com|facebook\.com|fb\.com|instagram\.com|"
    r"threads\.net|youtube\.com|youtu\.be|tiktok\.com|reddit\.com)(?:/|$)(?!.*(?:messages|direct|/dm|compose|inbox))"
)
_CONTACT_WORD = re.compile(
    jaconv.kata2hira(
        r"(?<![a-z])(share|send|submit|fill|complete|contact|reach|provide|tell|let\s+us\s+know|get\s+in\s+touch|"
        r"enter|write|form)(?![a-z])|お知らせ|ご連絡|連絡|ご記入|記入|入力|お問い?合わせ|問い?合わせ|送信|ご提供|"
        r"お送り|教えて|ご登録|フォーム|お申し?込"
    ),
    re.IGNORECASE,
)
_PRIVATE_CHANNEL = re.compile(
    jaconv.kata2hira(
        r"フォーム|(?<![a-z])(contact|support|web|online|secure|private|request|inquiry|enquiry|help|our|this|"
        r"feedback|claim|return)\s+form(?![a-z])|(?<![a-z])form\s+(at|here|below|linked|via)(?![a-z])|"
        r"(?<![a-z])(e-?mail|write\s+to|call|phone|ring)\s+us(?![a-z])|(?<![a-z])(by|via|over\s+the)\s+"
        r"(e-?mail|phone|telephone)(?![a-z])|give\s+us\s+a\s+(call|ring)|"
        r"メール(にて|で|宛て?に?)(の)?(ご連絡|お知らせ|お送り|送|お問い?合わせ|ご返信|返信|教え|ご提供)|"
        r"お電話(で|にて|ください|いただ|をお願い|を頂)|電話(で|にて)(の)?(ご連絡|お問い?合わせ|お知らせ|お伺い)"
    ),
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[。！？!?\n]|\.(?=\s|$)")


def _sentence(folded: str, a: int, b: int, *, back: int = 0) -> str:
    """The sentence around ``folded[a:b]`` (at most 120 characters each side), with ``back`` sentences
    before it."""
    lo = max(0, a - 120)
    head = folded[lo:a]
    ends = list(_SENTENCE_END.finditer(head.rstrip()))
    start = lo + ends[-1 - back].end() if len(ends) > back else lo
    tail = folded[b : b + 120]
    m = _SENTENCE_END.search(tail)
    end = b + (m.start() + 1 if m else len(tail))
    return folded[start:end]


def _request_scope(folded: str, a: int, b: int) -> str:
    """The request ``folded[a:b]``, a few characters before it and the rest of its sentence: where a request
    says where to answer (「こちらに返信で」, "... in the comments")."""
    sentence = _sentence(folded, a, b)
    at = sentence.find(folded[a:b])
    return sentence[max(0, at - 10) :] if at >= 0 else folded[a:b]


def _private_channel(folded: str) -> bool:
    """Does the reply send the customer to a private place: a form, e-mail, phone, or a link next to a
    contact word ("share your details here: https://...", 「こちらのURLからお問い合わせください」)?"""
    if _PRIVATE_CHANNEL.search(folded):
        return True
    for m in _URL_IN_REPLY.finditer(folded):
        if _PUBLIC_HOST.match(m.group()):
            continue
        # the link's sentence and the one before it (「下記URLよりお知らせください。https://...」)
        around = _sentence(folded, m.start(), m.end(), back=1).replace(m.group(), " ")
        if _CONTACT_WORD.search(around) or _REQUEST_PII.search(around):
            return True
    return False


def _dm_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    parts = []
    for p in phrases:
        folded = policy_view(p).text
        esc = re.escape(folded)
        if folded.isascii():
            esc = rf"(?<![a-z]){esc}(?![a-z])"
        parts.append(esc)
    return re.compile("|".join(parts) if parts else r"(?!x)x")


class Checker:
    """Compiled checks for one set of rules. Build once, call :meth:`check` from any thread."""

    def __init__(self, rules: Rules | None = None, *, regions: Sequence[str] = DEFAULT_REGIONS) -> None:
        """``regions``: ISO 3166 alpha-2 codes whose phone formats are read (the organisation's markets,
        first = main); an unknown code raises ``ValueError``."""
        self.rules = rules if rules is not None else default_rules()
        self.regions = clean_regions(regions) or DEFAULT_REGIONS
        r = self.rules
        defaults = default_rules()
        default_ng = set(defaults.ng_words) if r.use_default_ng_words else set()
        self._ng = TermMatcher(
            _merge_same(
                [self._spec(t, "ng_word", "default_list" if t in default_ng else "rules_file") for t in r.ng_words]
            ),
            r.ng_exceptions,
        )
        self._competitors = TermMatcher(
            self._spec(t, "competitor", "competitor_list", prefix=True) for t in r.competitors
        )
        self._controversial = TermMatcher(self._spec(t, "controversial", "controversial_list") for t in r.controversial)
        self._order_patterns = tuple(re.compile(p, re.IGNORECASE) for p in r.order_number_patterns)
        allow = {normalise_contact(a) for a in r.allow if a.strip()}
        for a in r.allow:
            if "@" not in a and "/" not in a and sum(c.isdigit() for c in a) >= 6:
                allow |= phone_forms(a, self.regions)
        self._allow = frozenset(allow)
        self._dm = _dm_pattern(r.dm_phrases)
        self._limits = dict(r.channel_limits)

    @staticmethod
    def _spec(t: str | Term, category: str, rule: str, *, prefix: bool = False) -> TermSpec:
        if isinstance(t, Term):
            return TermSpec(t.term, category, rule, t.severity, t.exceptions, prefix)
        return TermSpec(t, category, rule, None, (), prefix)

    # --- public -----------------------------------------------------------------------------------

    def check(self, text: str, *, post_text: str | None = None, channel: str | None = None) -> CheckResult:
        if len(text) > MAX_TEXT_CHARS or (post_text is not None and len(post_text) > MAX_TEXT_CHARS):
            raise TextTooLong(f"text longer than {MAX_TEXT_CHARS} characters is refused")
        if channel is not None:
            resolve_channel(channel, self._limits)  # ValueError naming the known channels
        if not text.strip():
            return CheckResult(verdict="pass", findings=[])
        views = TextViews(text)
        findings: list[Finding | None] = []
        findings += self._terms(text, views)
        reply_pii = find_pii(
            text, views=views, order_patterns=self._order_patterns, allow=self._allow, regions=self.regions
        )
        findings += [self._pii_finding(text, it) for it in reply_pii]
        pview = policy_view(text)
        post_has_pii = False
        if post_text and post_text.strip():
            post_pii = find_pii(post_text, order_patterns=self._order_patterns, allow=self._allow, regions=self.regions)
            findings += self._echo(text, views.pii, reply_pii, post_pii)
            post_has_pii = bool(post_pii)
        findings += self._dm_redirect(text, pview.text, post_has_pii)
        for rule, a, b in find_policy(pview):
            findings.append(self._finding(rule.category, rule.rule, None, text, a, b, rule.message, rule.suggestion))
        if channel is not None:
            over = check_channel(text, channel, self._limits)
            if over is not None:
                n, limit, at = over
                base = resolve_channel(channel, self._limits)[0]  # `mastodon` of `mastodon:1000`: severity keys
                counting = COUNTING.get(base, ("chars", None))[0]
                unit = {"x_weighted": "weighted characters", "graphemes": "graphemes"}.get(counting, "characters")
                findings.append(
                    self._finding(
                        "length",
                        base,
                        None,
                        text,
                        at,
                        len(text),
                        f"{n} {unit}; the {base} limit is {limit} (文字数超過).",
                        "Shorten the reply or split it; for X, CJK characters count 2 and URLs 23."
                        " / 返信を短くしてください",
                    )
                )
        return CheckResult.from_findings([f for f in findings if f is not None])

    def channel_limit(self, channel: str) -> int | None:
        """The length limit of a channel (or `<channel>:<limit>`); ValueError for an unknown channel."""
        return resolve_channel(channel, self._limits)[1]

    # --- parts ------------------------------------------------------------------------------------

    def _finding(
        self,
        category: str,
        rule: str,
        severity: str | None,
        text: str,
        a: int,
        b: int,
        message: str,
        suggestion: str | None,
    ) -> Finding | None:
        default = _DEFAULT_SEVERITY.get(f"{category}.{rule}", _DEFAULT_SEVERITY.get(category, "warn"))
        sev = self.rules.severity_for(category, rule, severity or default)  # type: ignore[arg-type]
        if sev == "off":
            return None
        return Finding(
            category=category,
            rule=rule,
            severity="block" if sev == "block" else "warn",
            start=a,
            end=b,
            match=text[a:b],
            message=message,
            suggestion=suggestion,
        )

    def _terms(self, text: str, views: TextViews) -> list[Finding | None]:
        out: list[Finding | None] = []
        groups: list[tuple[TermMatcher, str]] = [
            (self._ng, "ng_word"),
            (self._competitors, "competitor"),
            (self._controversial, "controversial"),
        ]
        for matcher, category in groups:
            hits = _dedupe(matcher.find(views))
            for h in hits:
                if category == "competitor" and h.end < len(text) and text[h.end].isascii() and text[h.end].islower():
                    continue  # "Acmeister" is another word; "Acme2", "ACME製品", "Acme's" are the name
                term = h.spec.term.strip("*")
                if category == "ng_word":
                    msg = f"NG word 「{term}」 (insult, slur or the organisation's NG list)."
                    sug = "Remove or rephrase it politely / 丁寧な表現に言い換えるか削除してください"
                elif category == "competitor":
                    msg = f"Mentions competitor 「{term}」."
                    sug = "Do not name or compare with competitors; describe our own product / 他社名は出さない"
                else:
                    msg = f"Controversial topic 「{term}」 (politics, current controversies)."
                    sug = "Stay neutral: leave the topic out of a brand reply / 政治・時事の話題には触れない"
                out.append(self._finding(category, h.spec.rule, h.spec.severity, text, h.start, h.end, msg, sug))
        return out

    def _pii_finding(self, text: str, it: PiiItem) -> Finding | None:
        ja, en = _PII_TEXT[it.kind]
        return self._finding(
            "pii",
            it.kind,
            None,
            text,
            it.start,
            it.end,
            f"個人情報({ja})が公開返信に含まれています: the reply contains {en}.",
            "Remove it from the public reply; ask for or send details by DM / 個人情報は削除し、DMでやり取りする",
        )

    def _echo(self, text: str, v: View, reply: list[PiiItem], post: list[PiiItem]) -> list[Finding | None]:
        """``v`` is ``pii_view(text)``."""
        out: list[Finding | None] = []
        msg_sug = (
            "Do not repeat the customer's personal data, even masked; continue by DM"
            " / お客様の個人情報は伏せ字でも繰り返さない"
        )
        seen: list[tuple[int, int]] = []

        def add(kind: str, a: int, b: int, how: str) -> None:
            if any(a < y and x < b for x, y in seen):
                return
            seen.append((a, b))
            ja, en = _PII_TEXT[kind]
            out.append(
                self._finding(
                    "pii_echo",
                    kind,
                    None,
                    text,
                    a,
                    b,
                    f"投稿者の{ja}を返信で繰り返しています ({how}): the reply repeats {en} from the post.",
                    msg_sug,
                )
            )

        post_values = {p.value for p in post}
        for it in reply:
            if it.value in post_values:
                add(it.kind, it.start, it.end, "exact")
        s = v.text
        low = s.lower()
        unique = list({(p.kind, p.value): p for p in post}.values())
        for p in unique:
            digits = re.sub(r"\D", "", p.value)
            if p.kind in ("phone", "card", "my_number", "order_number", "postal_code") and len(digits) >= 7:
                for m in _MASKED.finditer(low):
                    w = re.sub(r"[-\s]", "", m.group())
                    if _partial_digits(w, digits):
                        add(p.kind, *v.span(m.start(), m.end()), "partly or masked")
            elif p.kind == "email" and "@" in p.value:
                local, _, domain = p.value.partition("@")
                for needle in {local, "@" + domain} if len(local) >= 3 else {"@" + domain}:
                    for m in re.finditer(re.escape(needle), low):
                        a, b = m.start(), m.end()
                        while a > 0 and re.match(r"[a-z0-9*._+-]", low[a - 1]):
                            a -= 1
                        while b < len(low) and re.match(r"[a-z0-9*._-]", low[b]):
                            b += 1
                        add("email", *v.span(a, b), "partly or masked")
            elif p.kind == "address":
                block = re.search(r"\d{1,4}(?:[-丁目番地号]+\d{1,4})+", p.value)
                head = re.sub(r"\d.*$", "", p.value)
                for needle in [x for x in (block.group() if block else "", head) if len(x) >= 4]:
                    for m in re.finditer(re.escape(needle), s):
                        add("address", *v.span(m.start(), m.end()), "partly")
            elif p.kind == "name":
                for m in re.finditer(re.escape(p.value), s):
                    add("name", *v.span(m.start(), m.end()), "name")
        return out

    def _dm_redirect(self, text: str, folded: str, post_has_pii: bool) -> list[Finding | None]:
        reqs = list(_REQUEST_PII.finditer(folded))
        if not (post_has_pii or reqs):
            return []
        if self._dm.search(folded):
            return []
        # a request that says "reply here" is public whatever else the reply names; one that points to a
        # form, a link, e-mail or phone is not
        public = [m for m in reqs if _PUBLIC_TARGET.search(_request_scope(folded, m.start(), m.end()))]
        req = public[0] if public else (reqs[0] if reqs else None)
        if not public and _private_channel(folded):
            return []
        a, b = (req.start(), req.end()) if req else (0, len(text))
        a, b = max(0, a), min(len(text), b)
        why = "asks for personal data in public" if req else "the post contains personal data or order details"
        return [
            self._finding(
                "dm_redirect",
                "request_in_public" if req else "no_dm",
                None,
                text,
                a,
                b,
                f"個人情報・注文の詳細が関わるのにDMへ誘導していません ({why}).",
                "「お手数ですが、詳細はDMにてお知らせいただけますでしょうか」のようにDMへ誘導する"
                " / Ask the customer to continue by DM.",
            )
        ]


def _partial_digits(w: str, digits: str) -> bool:
    """Is ``w`` (digits and mask characters) part of ``digits`` shown partly or masked?"""
    shown = sum(c.isdigit() for c in w)
    masked = any(c in _MASK_CHARS for c in w)
    if shown < 4:
        return False
    if masked:
        if len(w) == len(digits):
            return all(not c.isdigit() or c == d for c, d in zip(w, digits, strict=True))
        head = re.match(r"\d*", w)
        tail = re.search(r"\d*$", w)
        h = head.group() if head else ""
        t = tail.group() if tail else ""
        return (len(h) + len(t) >= 4) and digits.startswith(h) and digits.endswith(t)
    if w == digits:
        return False  # exact copies are reported through the reply's own items
    return (len(w) >= 4 and (digits.endswith(w) or digits.startswith(w))) or (len(w) >= 6 and w in digits)


def _merge_same(specs: list[TermSpec]) -> list[TermSpec]:
    """One spec per term: the same term listed twice (defaults and rules file) shares its exceptions."""
    by_term: dict[str, TermSpec] = {}
    for sp in specs:
        key = sp.term.strip().casefold()
        old = by_term.get(key)
        if old is None:
            by_term[key] = sp
        else:
            by_term[key] = TermSpec(
                sp.term,
                sp.category,
                sp.rule if sp.rule == "rules_file" else old.rule,
                sp.severity or old.severity,
                tuple(dict.fromkeys(old.exceptions + sp.exceptions)),
                sp.prefix_only,
            )
    return list(by_term.values())


def _dedupe(hits: list[Hit]) -> list[Hit]:
    """Keep the longest of overlapping hits."""
    hits = sorted(hits, key=lambda h: (h.start, -(h.end - h.start)))
    out: list[Hit] = []
    for h in hits:
        if out and h.start < out[-1].end:
            continue
        out.append(h)
    return out


def check(
    text: str, *, post_text: str | None = None, channel: str | None = None, rules: Rules | None = None
) -> CheckResult:
    """Check one reply. Caches the compiled :class:`Checker` on the ``Rules`` object."""
    r = rules if rules is not None else default_rules()
    checker: Checker | None = r._checker
    if checker is None:
        with _cache_lock:
            checker = r._checker
            if checker is None:
                checker = Checker(r)
                r._checker = checker
    return checker.check(text, post_text=post_text, channel=channel)


_cache_lock = threading.Lock()


def checker_for(path: str | os.PathLike[str] | None, *, regions: Sequence[str] = DEFAULT_REGIONS) -> Checker:
    """The checker for a rules file merged with the shipped defaults (None: the defaults alone), compiled
    once per version of the file: an edited file is picked up by the next call. ``regions``: the phone
    regions read (the organisation's markets; default JP and US).

    Raises :class:`RulesError` for a file that does not load.
    """
    return _compiled(None if path is None else str(path), rules_signature(path), regions=tuple(regions))


@lru_cache(maxsize=8)
def _compiled(
    path: str | None,
    signature: tuple[str, int, int] | None,
    allow: tuple[str, ...] = (),
    competitors: tuple[str, ...] = (),
    regions: tuple[str, ...] = DEFAULT_REGIONS,
) -> Checker:
    rules = load_rules(path)
    if allow or competitors:
        rules = with_extras(rules, allow=allow, competitors=competitors)
    return Checker(rules, regions=regions)


def checker_with(
    path: str | os.PathLike[str] | None,
    *,
    allow: Sequence[str] = (),
    competitors: Sequence[str] = (),
    regions: Sequence[str] = DEFAULT_REGIONS,
) -> Checker:
    """`checker_for` with more of our own contacts (never personal data) and competitors, e.g. from the
    organisation profile, and its markets' phone regions; compiled once per (file version, extras)."""
    return _compiled(
        None if path is None else str(path),
        rules_signature(path),
        tuple(allow),
        tuple(competitors),
        tuple(regions),
    )

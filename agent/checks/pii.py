"""Personal data in a text: phones, e-mail, postal codes, addresses, cards, My Number, order numbers,
names with honorifics. Every detector works on :func:`pii_view` and reports original offsets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from stdnum import luhn
from stdnum.jp import in_ as my_number

from .matcher import TextViews, tokenize
from .normalize import View, pii_view

__all__ = ["DEFAULT_REGIONS", "PiiItem", "clean_regions", "find_pii", "normalise_contact", "phone_forms"]


@dataclass(frozen=True, slots=True)
class PiiItem:
    kind: str  # phone, email, postal_code, address, card, my_number, order_number, name
    start: int
    end: int
    value: str  # normalised: digits for numbers, lower-case for e-mail, the text otherwise


def normalise_contact(s: str) -> str:
    v = pii_view(s).text.strip().lower()
    digits = re.sub(r"\D", "", v)
    if "@" in v:
        return v.replace(" ", "")
    return digits if len(digits) >= 6 else v


_ND = r"(?<![0-9])"  # no digit before
_NDA = r"(?![0-9])"  # no digit after
# a space before "@" counts only with one after it too ("taro @ example.com"): "DM @shop.eats" is a mention
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}(?:@\s?|\s@\s)[A-Za-z0-9-]+(?:\s?\.\s?[A-Za-z0-9-]+)*\s?\.\s?[A-Za-z]{2,24}(?![A-Za-z])"
)
_POSTAL = re.compile(_ND + r"(\d{3})\s?-\s?(\d{4})" + _NDA)
_POSTAL_CONTEXT = re.compile(r"(〒|郵便番号|郵便|postal\s*code|zip\s*code|zip)\s*[:：]?\s*$", re.IGNORECASE)
_PREFS = (
    "北海道|青森県|岩手県|宮城県|秋田県|山形県|福島県|茨城県|栃木県|群馬県|埼玉県|千葉県|東京都|神奈川県|"
    "新潟県|富山県|石川県|福井県|山梨県|長野県|岐阜県|静岡県|愛知県|三重県|滋賀県|京都府|大阪府|兵庫県|"
    "奈良県|和歌山県|鳥取県|島根県|岡山県|広島県|山口県|徳島県|香川県|愛媛県|高知県|福岡県|佐賀県|長崎県|"
    "熊本県|大分県|宮崎県|鹿児島県|沖縄県"
)
_BLOCK = r"\d{1,4}(?:丁目|番地?|号|-)\s?\d{1,4}(?:(?:番地?|号|-)\s?\d{1,4})?(?:号)?"
_ADDRESS = re.compile(
    rf"(?:(?:{_PREFS})[^\s、。,!?！？]{{0,12}}?|[\u4e00-\u9fff々ヶ\u30a1-\u30fa]{{1,8}}?(?:市|区|町|村|郡))"
    rf"[^\s、。,!?！？\d]{{0,12}}?{_BLOCK}"
)
_EN_ADDRESS = re.compile(
    r"(?<![A-Za-z0-9])\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl)\b\.?"
)
_DIGIT_RUN = re.compile(_ND + r"\d(?:[ -]?\d){11,18}" + _NDA)
_CARD_CONTEXT = re.compile(
    r"(カード|クレジット|card|visa|master|amex|jcb|カード番号|credit|debit|デビット)", re.IGNORECASE
)
_JAN_CONTEXT = re.compile(r"(JAN|EAN|ISBN|バーコード|barcode|商品コード|品番|型番)", re.IGNORECASE)
_MODEL_CONTEXT = re.compile(r"(型番|品番|型式|機種|model|part\s?(?:no\.?|number)|SKU|JAN)\s*[:#]?\s*$", re.IGNORECASE)
_MY_NUMBER_CONTEXT = re.compile(r"(マイナンバー|個人番号|my\s*number|マイナ)", re.IGNORECASE)
_HONORIFIC = re.compile(r"(様|さま|さん|殿|氏|くん|君|ちゃん)")
_EN_NAME = re.compile(r"(?<![A-Za-z])(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?")


_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![A-Za-z0-9_.])@[A-Za-z0-9_]{1,30}(?![A-Za-z0-9_@.]*[A-Za-z0-9_@])")


def _url_key(url: str) -> str:
    """``https://www.Example.co.jp/support/`` -> ``example.co.jp/support``."""
    u = re.sub(r"^(?:https?://)?(?:www\.)?", "", url.strip().lower())
    return u.rstrip("/.,;:!?")


@lru_cache(maxsize=256)
def _allow_shapes(allow: frozenset[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    """Allowed URL prefixes (scheme and ``www.`` dropped) and social handles (``@name``, lower case)."""
    urls = tuple(sorted({_url_key(a) for a in allow if _URL.fullmatch(a)}))
    handles = frozenset(a for a in allow if re.fullmatch(r"@[a-z0-9_]{1,30}", a))
    return urls, handles


def _allowed_spans(s: str, allow: frozenset[str]) -> list[tuple[int, int]]:
    """Spans of ``s`` that are our own URLs (at or under an allowed URL) or allowed handles.

    An allowed URL ``https://example.co.jp/support`` covers ``example.co.jp/support``, ``.../support/``,
    ``.../support/faq?id=1`` and ``.../support#x``, with or without ``https://`` or ``www.``, but not
    ``example.co.jp/supporters`` or another host."""
    urls, handles = _allow_shapes(allow)
    out: list[tuple[int, int]] = []
    if urls:
        for m in _URL.finditer(s):
            key = _url_key(m.group())
            for p in urls:
                if key == p or (key.startswith(p) and key[len(p)] in "/?#"):
                    out.append((m.start(), m.end()))
                    break
    if handles:
        for m in _HANDLE.finditer(s):
            if m.group().lower() in handles:
                out.append((m.start(), m.end()))
    return out


DEFAULT_REGIONS: tuple[str, ...] = ("JP", "US")
"""Phone regions read when no organisation says where its customers are."""

_NATIONAL = phonenumbers.PhoneNumberFormat.NATIONAL
_DIGIT_CLUSTER = re.compile(r"\d(?:[\s\-.()/]{0,2}\d)*")  # digits with the separators phones use
# Before a number: an order/parcel/model identifier, not a phone ("Order #2062661000", "SKU 206-266-1000")
_NOT_PHONE_BEFORE = re.compile(
    r"(?:order|invoice|tracking|parcel|sku|model|part|serial|ref(?:erence)?|case|ticket|account|(?<![a-z])id|"
    r"注文|伝票|追跡|型番|品番|型式|製造番号|シリアル|会員番号|問い?合わせ番号|受付番号|お客様番号)"
    r"\s*(?:no\.?|number|番号|id|ＩＤ|コード|code)?\s*(?:is|は)?\s*[:#：]?\s*$|#\s*$",
    re.IGNORECASE,
)
_PHONE_BEFORE = re.compile(r"(?:phone|tel|call|mobile|cell|text|fax|電話|携帯|連絡先)[^\d]{0,12}$", re.IGNORECASE)


def clean_regions(regions: Iterable[str]) -> tuple[str, ...]:
    """Upper-cased region codes that ``phonenumbers`` supports, in order, without duplicates; raises
    ``ValueError`` naming an unknown one."""
    out: list[str] = []
    for r in regions:
        code = r.strip().upper()
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {r!r}: use an ISO 3166 alpha-2 code such as JP, US or GB")
        if code not in out:
            out.append(code)
    return tuple(out)


def phone_forms(contact: str, regions: Iterable[str] = DEFAULT_REGIONS) -> set[str]:
    """The values a phone ``contact`` can be reported under (national digits for each region it parses in),
    so that ``+81 120 000 000`` in an allow-list also allows ``0120-000-000``."""
    out: set[str] = set()
    for r in (*regions, "JP"):
        try:
            n = phonenumbers.parse(contact, r)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(n):
            out.add(re.sub(r"\D", "", phonenumbers.format_number(n, _NATIONAL)))
    return out


@lru_cache(maxsize=64)
def _region_order(regions: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """The regions, each with the fewest digits one of its numbers has (the matcher is not run on a text
    without so many digits together: a cheap filter)."""
    out = []
    for r in clean_regions(regions) or DEFAULT_REGIONS:
        md = phonenumbers.PhoneMetadata.metadata_for_region(r)
        desc = md.general_desc if md is not None else None
        lengths = desc.possible_length if desc is not None else ()
        out.append((r, max(5, min(lengths, default=5))))
    return tuple(out)


def _most_digits(s: str) -> int:
    return max((sum(c.isdigit() for c in m.group()) for m in _DIGIT_CLUSTER.finditer(s)), default=0)


def _blank(s: str, spans: Iterable[tuple[int, int]]) -> str:
    """``s`` with the spans replaced by spaces (same length, so offsets stay)."""
    chars = list(s)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


def _phones(
    v: View, regions: tuple[str, ...] = DEFAULT_REGIONS, taken: Iterable[tuple[int, int]] = ()
) -> Iterable[tuple[int, int, str]]:
    """Phones for each region, as (start, end, national digits) in view offsets. A region reads only what
    the regions before it did not (the first region is the main market), the longest overlapping span wins;
    ``taken`` spans (e-mail, cards) are not read."""
    s = v.text
    found: list[tuple[int, int, int, str]] = []  # start, end, region rank, value
    t = _blank(s, taken) if taken else s
    most = _most_digits(t)
    if most >= 5:
        for rank, (region, fewest) in enumerate(_region_order(regions)):
            if rank and found:
                t = _blank(t, ((f[0], f[1]) for f in found))
                most = _most_digits(t)
            if most < fewest:
                continue
            # Japanese numbers are grouped freely (0312-34-5678); elsewhere the groups must be the country's
            # own ("2026-120455" in HS-2026-120455 is no US number)
            leniency = phonenumbers.Leniency.VALID if region == "JP" else phonenumbers.Leniency.STRICT_GROUPING
            for m in phonenumbers.PhoneNumberMatcher(t, region, leniency=leniency):
                raw = m.raw_string
                national = re.sub(r"\D", "", phonenumbers.format_number(m.number, _NATIONAL))
                before = s[max(0, m.start - 24) : m.start]
                if re.search(r"[A-Za-z0-9][-/]$", before):
                    continue  # the tail of an identifier: HS-2026-120455, AB/0312345678
                said = _PHONE_BEFORE.search(before)
                if not said and _NOT_PHONE_BEFORE.search(before):
                    continue  # "Order #206-266-1000", "会員番号0312345678"
                # a bare run of digits without a trunk 0 or a + (US "2062661000") is an id unless said to be a phone
                if raw.isdigit() and not national.startswith("0") and not said:
                    continue
                found.append((m.start, m.end, rank, national))
    # bare Japanese mobile/IP/IoT numbers glued to other digits' separators that the matcher skips
    for bare in re.finditer(_ND + r"0[5-9]0-?\d{4}-?\d{4}" + _NDA, s):
        found.append((bare.start(), bare.end(), len(regions) + 1, re.sub(r"\D", "", bare.group())))
    found.sort(key=lambda f: (-(f[1] - f[0]), f[2], f[0]))
    kept: list[tuple[int, int, int, str]] = []
    for f in found:
        if all(f[1] <= k[0] or f[0] >= k[1] for k in kept):
            kept.append(f)
    for a, b, _rank, value in sorted(kept):
        yield a, b, value


def find_pii(
    text: str,
    *,
    views: TextViews | None = None,
    order_patterns: Iterable[re.Pattern[str]] = (),
    allow: frozenset[str] = frozenset(),
    regions: Sequence[str] = DEFAULT_REGIONS,
) -> list[PiiItem]:
    """Personal data in ``text``; ``views`` (of the same ``text``) shares its cached :func:`pii_view`.

    ``regions`` (ISO 3166 alpha-2, e.g. the organisation's markets) are the countries whose phone formats
    are read, the first one first; Japanese mobile numbers are always read."""
    v = views.pii if views is not None else pii_view(text)
    s = v.text
    items: list[PiiItem] = []
    taken: list[tuple[int, int]] = []  # view spans already explained

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    # our own URLs and social handles (allow-list) explain their whole span: digits in
    # https://example.co.jp/support/0120000000 are not a phone
    if allow and ("@" in s or "." in s):
        taken.extend(_allowed_spans(s, allow))

    def add(kind: str, a: int, b: int, value: str) -> None:
        taken.append((a, b))
        if value not in allow:
            items.append(PiiItem(kind, *v.span(a, b), value))

    # e-mail first (its digits are not phones)
    for m in _EMAIL.finditer(s):
        add("email", m.start(), m.end(), re.sub(r"\s", "", m.group()).lower())
    # cards and My Number: long digit runs
    for m in _DIGIT_RUN.finditer(s):
        if not free(m.start(), m.end()):
            continue
        digits = re.sub(r"\D", "", m.group())
        before = s[max(0, m.start() - 20) : m.start()]
        after = s[m.end() : m.end() + 10]
        if len(digits) == 12 and _MY_NUMBER_CONTEXT.search(before + after) and my_number.is_valid(digits):
            add("my_number", m.start(), m.end(), digits)
            continue
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
            if _JAN_CONTEXT.search(before):
                continue
            grouped = bool(re.fullmatch(r"\d{4}([ -]\d{4}){2,3}(\d{1,3})?", m.group()))
            known_iin = bool(re.match(r"(4|5[1-5]|2[2-7]|3[47]|35|36|30|38|6011|65)", digits))
            jan_like = len(digits) in (8, 13) and digits[:2] in ("45", "49")
            carded = _CARD_CONTEXT.search(before + after) or (known_iin and (grouped or len(digits) == 16))
            if carded and (not jan_like or _CARD_CONTEXT.search(before)):
                add("card", m.start(), m.end(), digits)
    # phones
    for a, b, digits in _phones(v, tuple(regions), taken):
        if free(a, b):
            add("phone", a, b, digits)
    # postal codes need context (〒, 郵便番号) or a prefecture right after
    for m in _POSTAL.finditer(s):
        if not free(m.start(), m.end()):
            continue
        before = s[max(0, m.start() - 8) : m.start()]
        after = s[m.end() : m.end() + 8]
        if _POSTAL_CONTEXT.search(before) or re.match(rf"\s*(?:{_PREFS})", after):
            add("postal_code", m.start(), m.end(), m.group(1) + m.group(2))
    # addresses (prefecture/city + block numbers)
    for m in _ADDRESS.finditer(s):
        if free(m.start(), m.end()):
            add("address", m.start(), m.end(), re.sub(r"\s", "", m.group()))
    for m in _EN_ADDRESS.finditer(s):
        if free(m.start(), m.end()):
            add("address", m.start(), m.end(), m.group().lower())
    # order numbers (configurable)
    for pat in order_patterns:
        for m in pat.finditer(s):
            if free(m.start(), m.end()) and not _MODEL_CONTEXT.search(s[max(0, m.start() - 12) : m.start()]):
                ident = re.search(r"[A-Za-z0-9][A-Za-z0-9-]*$", m.group())
                add("order_number", m.start(), m.end(), (ident.group() if ident else m.group()).lower())
    # names with honorifics (Japanese through SudachiPy's person-name POS; English titles)
    if _HONORIFIC.search(s):
        items.extend(_names(text))
    for m in _EN_NAME.finditer(s):
        if free(m.start(), m.end()):
            add("name", m.start(), m.end(), m.group())
    return items


def _names(text: str) -> list[PiiItem]:
    out: list[PiiItem] = []
    toks = tokenize(text)
    for i, (a, _e, m) in enumerate(toks):
        pos = m.part_of_speech()
        # many surnames are also place names (山田, 中村): a proper noun right before an honorific counts
        if pos[1] == "固有名詞" and pos[2] in ("人名", "地名"):
            j = i
            while j + 1 < len(toks) and toks[j + 1][2].part_of_speech()[2] in ("人名", "地名"):
                j += 1
            if j + 1 < len(toks) and _HONORIFIC.fullmatch(toks[j + 1][2].surface()):
                b = toks[j + 1][1]
                if not out or out[-1].end <= a:
                    out.append(PiiItem("name", a, b, text[a : toks[j][1]]))
    return out

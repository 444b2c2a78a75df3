"""Normalised *views* of a text, each with a map back to offsets in the original.

A view is a string plus ``origin[i]``: the index in the original text of the character that produced
view character ``i``. A match ``view[a:b]`` therefore covers ``original[origin[a] : origin[b - 1] + 1]``.

Views built here:

- :func:`ng_view` (Japanese/"skeleton"): NFKC, case folding, spacing and half-width dakuten recomposed,
  katakana folded to hiragana, every space, zero-width character, punctuation mark, symbol and emoji
  removed, long-vowel marks and small vowels removed (so ``バ・ー・カ`` reads ``ばか``).
- :func:`latin_view`: NFKC, case folding, look-alike letters (Cyrillic, Greek) mapped to Latin,
  leetspeak folded inside words (``sh1t`` -> ``shit``), mask characters kept as ``*``, other symbols as
  a single space, runs of spaced single letters joined (``f u c k`` -> ``fuck``), letters repeated
  three times or more collapsed (``fuuuck`` -> ``fuck``).
- :func:`pii_view`: NFKC, every dash-like character between digits read as ``-``, kanji numerals read
  as digits, the connecting ``の`` between numbers read as ``-``, ``[at]``/``(dot)`` read as ``@``/``.``.
- :func:`policy_view`: NFKC, case folding and katakana -> hiragana, one character for one character.

Do not use ``neologdn`` or ``jaconv.normalize`` here: they rewrite ``〜`` and ``－`` in numbers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import jaconv

__all__ = [
    "View",
    "fold_term_latin",
    "fold_term_ng",
    "is_cjk_term",
    "latin_view",
    "ng_surface_view",
    "ng_view",
    "pii_view",
    "policy_view",
]


@dataclass(frozen=True, slots=True)
class View:
    text: str
    origin: tuple[int, ...]
    soft: frozenset[int] = frozenset()  # word starts inside joined spaced letters ("a f u c k")

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` for the view slice ``[start, end)`` (``end > start``)."""
        return self.origin[start], self.origin[end - 1] + 1


_DAKUTEN = {"\u3099", "\u309b", "\uff9e"}
_HANDAKUTEN = {"\u309a", "\u309c", "\uff9f"}
_LONG = {"ー", "〜", "～", "~", "ｰ", "－", "-", "‐", "−", "—", "―", "–"}
_SMALL_VOWELS = set("ぁぃぅぇぉァィゥェォｧｨｩｪｫ")


@lru_cache(maxsize=4096)
def _nfkc_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).casefold()


def _compose(prev: str, mark: str) -> str | None:
    composed = unicodedata.normalize("NFC", prev + mark)
    return composed if len(composed) == 1 else None


def _is_word_char(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in ("L", "N")


def ng_surface_view(text: str) -> View:
    """Like :func:`ng_view` but without the katakana -> hiragana fold (for the tokenizer)."""
    out: list[str] = []
    origin: list[int] = []
    for i, raw in enumerate(text):
        if raw in _DAKUTEN or raw in _HANDAKUTEN:
            if out:
                mark = "\u3099" if raw in _DAKUTEN else "\u309a"
                c = _compose(out[-1], mark)
                if c is not None:
                    out[-1] = c
            continue
        for ch in _nfkc_char(raw):
            if ch in _LONG or ch in _SMALL_VOWELS:
                continue
            if ch in ("\u3099", "\u309a"):
                if out:
                    c = _compose(out[-1], ch)
                    if c is not None:
                        out[-1] = c
                continue
            if not _is_word_char(ch):
                continue
            out.append(ch)
            origin.append(i)
    return View("".join(out), tuple(origin))


def ng_view(text: str) -> View:
    v = ng_surface_view(text)
    return View(jaconv.kata2hira(v.text), v.origin)


def fold_term_ng(term: str) -> str:
    return ng_view(term).text


# --- Latin view -----------------------------------------------------------------------------------

_HOMOGLYPHS = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
        "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
        "ɡ": "g", "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x", "ѵ": "v", "ս": "u", "ı": "i", "ł": "l", "ø": "o", "ß": "ss",
    }
)  # fmt: skip
# Leetspeak, folded only inside a token that also has letters. ``l`` and ``1`` both read ``i`` so that
# the ambiguous ``1`` needs no second pattern; NG terms are folded the same way.
_LEET = {"0": "o", "1": "i", "!": "i", "|": "i", "l": "i", "3": "e", "4": "a", "@": "a", "5": "s",
         "$": "s", "7": "t", "+": "t", "8": "b", "9": "g", "€": "e", "£": "l"}  # fmt: skip
_MASK = set("*#%＊●○×")
_STRIP_MARKS = re.compile(r"[\u0300-\u036f]")


@lru_cache(maxsize=8192)
def _latin_char(raw: str) -> str:
    s = _nfkc_char(raw).translate(_HOMOGLYPHS)
    if s and not s.isascii():
        # é -> e, but keep non-Latin scripts as they are.
        stripped = _STRIP_MARKS.sub("", unicodedata.normalize("NFD", s))
        if stripped.isascii():
            s = stripped
    return s


def latin_view(text: str) -> View:
    # 1. characters -> classes
    chars: list[str] = []
    origin: list[int] = []
    for i, raw in enumerate(text):
        for ch in _latin_char(raw):
            chars.append(ch)
            origin.append(i)
    n = len(chars)
    # 2. tokens: maximal runs of alnum / leet / mask characters
    kinds = []
    for ch in chars:
        if ch.isascii() and ch.isalpha():
            kinds.append("a")
        elif ch.isdigit() or ch in _LEET or ch in _MASK:
            kinds.append("x")
        else:
            kinds.append(" ")
    out: list[str] = []
    out_origin: list[int] = []
    i = 0
    while i < n:
        if kinds[i] == " ":
            if out and out[-1] != " ":
                out.append(" ")
                out_origin.append(origin[i])
            i += 1
            continue
        j = i
        while j < n and kinds[j] != " ":
            j += 1
        # symbols at the edges of a token are punctuation, not leetspeak ("bitch!"), except a
        # leading $/@ ("$hit", "@ss")
        while j > i and not chars[j - 1].isalnum() and kinds[j - 1] == "x" and chars[j - 1] not in _MASK:
            j -= 1
            kinds[j] = " "
        if j == i:
            continue
        tok = chars[i:j]
        has_alpha = any(k == "a" for k in kinds[i:j])
        for k, ch in enumerate(tok):
            if has_alpha and ch in _LEET and (ch.isalnum() or ch in "$@" or i + k < j - 1):
                c = _LEET[ch]
            elif ch in _MASK:
                c = "*" if has_alpha else " "
            else:
                c = ch
            out.append(c)
            out_origin.append(origin[i + k])
        i = j
    # 3. join runs of single letters separated by single spaces: "f u c k" -> "fuck"
    joined: list[str] = []
    joined_origin: list[int] = []
    soft: set[int] = set()
    m = len(out)
    for k, ch in enumerate(out):
        if (
            ch == " "
            and 0 < k < m - 1
            and out[k - 1] != " "
            and out[k + 1] != " "
            and (k - 2 < 0 or out[k - 2] == " ")
            and (k + 2 >= m or out[k + 2] == " ")
            and out[k - 1].isalpha()
            and out[k + 1].isalpha()
        ):
            soft.add(len(joined))
            continue
        joined.append(ch)
        joined_origin.append(out_origin[k])
    # 4. collapse a letter repeated 3+ times to one ("fuuuck" -> "fuck"; "ass" stays)
    res: list[str] = []
    res_origin: list[int] = []
    res_soft: set[int] = set()
    k = 0
    while k < len(joined):
        ch = joined[k]
        j = k
        while j < len(joined) and joined[j] == ch:
            j += 1
        if k in soft:
            res_soft.add(len(res))
        if ch.isalpha() and j - k >= 3:
            res.append(ch)
            res_origin.append(joined_origin[k])
        else:
            for q in range(k, j):
                if q in soft:
                    res_soft.add(len(res))
                res.append(joined[q])
                res_origin.append(joined_origin[q])
        k = j
    return View("".join(res), tuple(res_origin), frozenset(res_soft))


def fold_term_latin(term: str) -> str:
    return latin_view(term).text.strip()


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f々〆]")


def is_cjk_term(term: str) -> bool:
    return bool(_CJK.search(unicodedata.normalize("NFKC", term)))


# --- PII view -------------------------------------------------------------------------------------

_KANJI_DIGITS = {"〇": "0", "零": "0", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6",
                 "七": "7", "八": "8", "九": "9", "○": "0"}  # fmt: skip
_DASHES = set("-‐‑‒–—―−ー－ｰ─━～〜~")
_AT_DOT = re.compile(
    r"\s*(?:[\[(（［【<＜{]\s*(at|dot|アットマーク|アット|ドット)\s*[\])）］】>＞}]|＠)\s*",
    re.IGNORECASE,
)
# Letters that stand for digits inside a digit run ("09O-l234-5678"). Only in a chunk that also has a
# real digit and is not glued to other letters ("ISO 9001", "lol", "CO2" stay), in a run of 7 digits or
# more; "|" only between two digit-like characters (so "|1234567|" table borders stay).
_LOOKALIKE_DIGITS = {"O": "0", "o": "0", "l": "1", "I": "1", "|": "1"}
_SEP_CLASS = "".join(re.escape(c) for c in sorted(_DASHES)) + r"\s.()"
_LOOKALIKE_RUN = re.compile(rf"(?<![A-Za-z0-9])[0-9OoIl|]+(?:[{_SEP_CLASS}]{{1,2}}[0-9OoIl|]+)*(?![A-Za-z0-9])")
_LOOKALIKE_CHUNK = re.compile(r"[0-9OoIl|]+")
# digits spaced out one by one: "0 9 0 1 2 3 4 5 6 7 8", "0 9 0 - 1 2 3 4 - 5 6 7 8" (7 digits or more)
_SPACED_DIGITS = re.compile(r"(?<![0-9])[0-9](?:(?:[ \u3000]-?[ \u3000]?|-[ \u3000]?)[0-9]){6,}(?![0-9])")
# e-mail addresses with the separators spelled out: "taro at example dot com", "taroアットマークexample.com",
# "taro アット example ドット com". A bare English " at " needs a spelled " dot " too ("Find us at
# example.com" is not an address), and a local part that is an ordinary word (us, me, ...) is not read.
_LOCAL = r"[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}"
_LABEL = r"[A-Za-z0-9][A-Za-z0-9-]{0,62}"
_AT_WORD = r"(?:\s+at\s+|\s*(?:アットマーク|アット|あっとまーく|あっと)\s*|\s*@\s*)"
_DOT_WORD = r"(?:\s+dot\s+|\s*(?:ドット|どっと)\s*|\s*\.\s*)"
_SPELLED_EMAIL = re.compile(
    rf"(?<![A-Za-z0-9._%+-])({_LOCAL})({_AT_WORD})((?:{_LABEL}{_DOT_WORD})+[A-Za-z]{{2,24}})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_SPELLED_SEP = re.compile(
    r"\s+(at|dot)\s+|\s*(アットマーク|アット|あっとまーく|あっと|ドット|どっと|@|\.)\s*", re.IGNORECASE
)
_SPELLED_HINT = re.compile(r"(?<![a-z])(?:at|dot)(?![a-z])|アット|ドット|あっと|どっと", re.IGNORECASE)
_NOT_LOCAL = frozenset(
    ("us", "me", "you", "him", "her", "them", "it", "we", "i", "home", "work", "here", "there", "all", "least",
     "most", "online", "site", "website", "email", "mail", "look", "contact", "reach", "find", "visit", "write")
)  # fmt: skip


@lru_cache(maxsize=8192)
def _nfkc_keep_case(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch)


def _rebuild(s: str, origin: list[int], repls: list[tuple[int, int, str]]) -> tuple[str, list[int]]:
    """``s`` with the non-overlapping ``(start, end, replacement)`` applied (sorted by start); a replacement
    character takes the origin of the replaced span's first character."""
    if not repls:
        return s, origin
    out: list[str] = []
    out_origin: list[int] = []
    pos = 0
    for a, b, rep in repls:
        out.append(s[pos:a])
        out_origin.extend(origin[pos:a])
        out.append(rep)
        out_origin.extend([origin[a]] * len(rep))
        pos = b
    out.append(s[pos:])
    out_origin.extend(origin[pos:])
    return "".join(out), out_origin


def _lookalike_digits(chars: list[str]) -> None:
    """Read look-alike letters in digit runs as digits, in place (one character for one)."""
    s = "".join(chars)
    for m in _LOOKALIKE_RUN.finditer(s):
        run = m.group()
        if run.isdigit() or sum(c.isdigit() or c in _LOOKALIKE_DIGITS for c in run) < 7:
            continue
        changes: list[tuple[int, str]] = []
        for c in _LOOKALIKE_CHUNK.finditer(run):
            chunk = c.group()
            if not any(ch.isdigit() for ch in chunk):
                continue
            for k, ch in enumerate(chunk):
                if ch in _LOOKALIKE_DIGITS and (ch != "|" or 0 < k < len(chunk) - 1):
                    changes.append((m.start() + c.start() + k, _LOOKALIKE_DIGITS[ch]))
        digits = sum(ch.isdigit() for ch in run) + len(changes)
        if changes and digits >= 7:
            for k, d in changes:
                chars[k] = d


def _spelled_emails(s: str) -> list[tuple[int, int, str]]:
    repls: list[tuple[int, int, str]] = []
    for m in _SPELLED_EMAIL.finditer(s):
        at = m.group(2).strip().lower()
        dots = [d.group(1) or d.group(2) for d in _SPELLED_SEP.finditer(m.group(3))]
        spelled_dot = any(d.lower() not in (".",) for d in dots)
        if at == "@" and not spelled_dot:
            continue  # an ordinary address: the e-mail pattern reads it
        if at == "at" and (not spelled_dot or m.group(1).lower() in _NOT_LOCAL):
            continue
        base = m.start(2)
        repls.append((base, m.end(2), "@"))
        for d in _SPELLED_SEP.finditer(m.group(3)):
            word = (d.group(1) or d.group(2)).lower()
            if word in ("at", "アット", "アットマーク", "あっと", "あっとまーく", "@"):
                continue  # not expected inside the domain
            repls.append((m.start(3) + d.start(), m.start(3) + d.end(), "."))
    return repls


def pii_view(text: str) -> View:
    """NFKC (case kept); kanji numerals in runs, look-alike letters in digit runs (``09O-l234``) and
    digits spaced out one by one read as digits; dashes and ``の`` between digits read ``-``; ``[at]``,
    ``(dot)``, ``＠``, ``アットマーク`` and spelled-out ``taro at example dot com`` read ``@``/``.``."""
    chars: list[str] = []
    origin: list[int] = []
    for i, raw in enumerate(text):
        if raw in _KANJI_DIGITS:
            chars.append(_KANJI_DIGITS[raw])
            origin.append(i)
            continue
        for ch in _nfkc_keep_case(raw):
            chars.append(ch)
            origin.append(i)
    # kanji digits only count in runs of two or more (so 一度 stays a word)
    for k, ch in enumerate(chars):
        if ch.isdigit() and text[origin[k]] in _KANJI_DIGITS:
            prev_d = k > 0 and chars[k - 1].isdigit()
            next_d = k + 1 < len(chars) and chars[k + 1].isdigit()
            if not (prev_d or next_d):
                chars[k] = text[origin[k]]
    # look-alike letters inside digit runs
    if any(c in _LOOKALIKE_DIGITS for c in chars) and sum(c.isdigit() for c in chars) >= 4:
        _lookalike_digits(chars)
    # dashes and の between digits -> "-"
    for k, ch in enumerate(chars):
        if (
            (ch in _DASHES or ch == "の")
            and 0 < k < len(chars) - 1
            and chars[k - 1].isdigit()
            and chars[k + 1].isdigit()
        ):
            chars[k] = "-"
    s = "".join(chars)
    # digits spaced out one by one: drop the spaces
    repls: list[tuple[int, int, str]] = []
    for m in _SPACED_DIGITS.finditer(s):
        for k in range(m.start(), m.end()):
            if s[k].isspace():
                repls.append((k, k + 1, ""))
    s, origin = _rebuild(s, origin, repls)
    # [at] / (dot) obfuscation
    repls = []
    for m in _AT_DOT.finditer(s):
        word = (m.group(1) or "@").lower()
        repls.append((m.start(), m.end(), "." if word in ("dot", "ドット") else "@"))
    s, origin = _rebuild(s, origin, repls)
    # spelled-out separators: taro at example dot com, taroアットマークexample.com
    if _SPELLED_HINT.search(s):
        s, origin = _rebuild(s, origin, _spelled_emails(s))
    return View(s, tuple(origin))


def policy_view(text: str) -> View:
    """NFKC + casefold + katakana->hiragana, keeping one character per original character."""
    out: list[str] = []
    origin: list[int] = []
    for i, raw in enumerate(text):
        for ch in _nfkc_char(raw):
            out.append(ch)
            origin.append(i)
    return View(jaconv.kata2hira("".join(out)), tuple(origin))

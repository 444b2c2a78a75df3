"""Term matching (NG words, competitors, controversial topics) with Aho-Corasick on normalised views.

Three automata, built once:

- *surface*: Japanese/CJK terms folded by :func:`ng_view`, matched on the text's ``ng_view``;
- *reading*: readings of kanji terms (``死ね`` -> ``しね``), matched on the readings of the text's
  tokens (so ``氏ね`` is found), only where the matched text itself has a kanji. A reading is evidence
  of a *substituted spelling*, never of an ordinary word that happens to sound the same, so a reading
  hit is kept only when (1) it spans two tokens or more, or one token whose normalised form is the
  term's (``30分`` is not ``糞``, ``古事記`` is not ``乞食``); and (2) every kana token of the text
  stands where the term itself is written in kana (``氏ね`` keeps ``ね`` of ``死ね``; ``その場かな``
  does not spell ``馬鹿``, its ``か`` is a particle where the term has the kanji ``鹿``);
- *latin*: Latin terms folded by :func:`latin_view` (with masked variants ``f*ck``), matched on the
  text's ``latin_view`` with word boundaries and inflection suffixes.

Short CJK matches (three characters or less) must start and end on token boundaries (SudachiPy, mode
A), so ``カス`` is not found in ``カスタマー`` nor ``しね`` in ``もう少しね``; and when such a match is
exactly one token, the token must not be an inflected word (verb, adjective, auxiliary, particle) where
the term is a noun-like word (``傘をかす`` is the verb 貸す, not ``カス``; ``めくらない`` is 捲る). Exception
phrases (per term and global) suppress a match they cover.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import ahocorasick
import jaconv

from .normalize import View, fold_term_latin, fold_term_ng, is_cjk_term, latin_view, ng_surface_view, pii_view

__all__ = ["Hit", "TermMatcher", "TermSpec", "TextViews", "tokenize", "tokenizer"]

_SUFFIXES = ("", "s", "es", "ed", "d", "er", "ers", "ing", "in", "y", "ie", "ies")
_KANJI = re.compile(r"[\u3400-\u9fff\uf900-\ufaff々]")
_LETTER = re.compile(r"[a-z0-9*]")
_KANA_ONLY = re.compile(r"[\u3041-\u309f\u30a1-\u30ff\uff66-\uff9f]+")
# parts of speech (SudachiPy, first level) of words that inflect or only attach to others
_FUNCTIONAL = frozenset({"動詞", "形容詞", "助動詞", "助詞", "接尾辞"})
_LATINISH = re.compile(
    r"[A-Za-z\u00c0-\u024f\u0370-\u04ff\u0500-\u052f\u0561-\u0586\uff21-\uff3a\uff41-\uff5a\U0001d400-\U0001d7ff]"
)


_local = threading.local()


@lru_cache(maxsize=1)
def sudachi_dictionary() -> Any:
    """The Sudachi core dictionary, loaded once per process (tokenizers are per thread; the dictionary is shared)."""
    from sudachipy import Dictionary

    return Dictionary(dict="core")


def tokenizer() -> Any:
    """A SudachiPy tokenizer (mode A) for this thread; SudachiPy tokenizers are not shared."""
    tok = getattr(_local, "tok", None)
    if tok is None:
        from sudachipy import SplitMode

        tok = sudachi_dictionary().tokenizer(SplitMode.A)
        _local.tok = tok
    return tok


_CHUNK = 4000  # characters; SudachiPy refuses inputs over 49,149 bytes
_CUT = re.compile(r"[。．.!！?？\n、,\s]")


def tokenize(text: str) -> list[tuple[int, int, Any]]:
    """(begin, end, morpheme) over ``text`` of any length, in chunks cut at punctuation when possible."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    n = len(text)
    tok = tokenizer()
    while pos < n:
        end = min(n, pos + _CHUNK)
        if end < n:
            window = text[pos + _CHUNK // 2 : end]
            cuts = [m.end() for m in _CUT.finditer(window)]
            if cuts:
                end = pos + _CHUNK // 2 + cuts[-1]
        for m in tok.tokenize(text[pos:end]):
            out.append((pos + m.begin(), pos + m.end(), m))
        pos = end
    return out


@dataclass(frozen=True, slots=True)
class TermSpec:
    term: str
    category: str
    rule: str
    severity: str | None = None
    exceptions: tuple[str, ...] = ()
    prefix_only: bool = False  # competitor names: "Acme2" matches "Acme"


@dataclass(slots=True)
class Hit:
    spec: TermSpec
    start: int
    end: int


@dataclass
class TextViews:
    """Views of one text, computed lazily and shared by the checks."""

    text: str
    _cache: dict[str, Any] = field(default_factory=dict)

    def _get(self, key: str, make: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def ng_surface(self) -> View:
        v: View = self._get("ngs", lambda: ng_surface_view(self.text))
        return v

    @property
    def ng(self) -> View:
        v: View = self._get("ng", lambda: View(jaconv.kata2hira(self.ng_surface.text), self.ng_surface.origin))
        return v

    @property
    def latin(self) -> View:
        v: View = self._get("latin", lambda: latin_view(self.text))
        return v

    @property
    def pii(self) -> View:
        v: View = self._get("pii", lambda: pii_view(self.text))
        return v

    @property
    def tokens(self) -> list[tuple[int, int, str, Any]]:
        """(start, end, reading in hiragana, morpheme) for each token of ``ng_surface``, in view offsets."""

        def make() -> list[tuple[int, int, str, Any]]:
            s = self.ng_surface.text
            if not s:
                return []
            out = []
            for a, b, m in tokenize(s):
                reading = m.reading_form() or m.surface()
                out.append((a, b, jaconv.kata2hira(reading), m))
            return out

        t: list[tuple[int, int, str, Any]] = self._get("tokens", make)
        return t

    @property
    def token_at(self) -> dict[tuple[int, int], Any]:
        """The morpheme spanning exactly view ``[start, end)``."""
        d: dict[tuple[int, int], Any] = self._get("token_at", lambda: {(a, b): m for a, b, _r, m in self.tokens})
        return d

    @property
    def boundaries(self) -> tuple[set[int], set[int]]:
        def make() -> tuple[set[int], set[int]]:
            toks = self.tokens
            return {a for a, _, _, _ in toks}, {b for _, b, _, _ in toks}

        b: tuple[set[int], set[int]] = self._get("bounds", make)
        return b

    @property
    def reading(self) -> tuple[str, list[int], list[int], set[int], set[int], list[bool], list[int]]:
        """Reading string, maps reading index -> surface start/end, token starts and ends, whether the
        reading character comes from a token written in kana only, and reading index -> token index."""

        def make() -> tuple[str, list[int], list[int], set[int], set[int], list[bool], list[int]]:
            parts: list[str] = []
            rstart: list[int] = []
            rend: list[int] = []
            starts: set[int] = set()
            ends: set[int] = set()
            kana: list[bool] = []
            tok: list[int] = []
            pos = 0
            surf = self.ng_surface.text
            for k, (a, b, r, _m) in enumerate(self.tokens):
                starts.add(pos)
                parts.append(r)
                rstart.extend([a] * len(r))
                rend.extend([b] * len(r))
                kana.extend([bool(_KANA_ONLY.fullmatch(surf[a:b]))] * len(r))
                tok.extend([k] * len(r))
                pos += len(r)
                ends.add(pos)
            return "".join(parts), rstart, rend, starts, ends, kana, tok

        r: tuple[str, list[int], list[int], set[int], set[int], list[bool], list[int]] = self._get("reading", make)
        return r


def _latin_variants(folded: str) -> set[str]:
    out = {folded}
    if " " in folded:
        out.add(folded.replace(" ", ""))
    core = folded.replace(" ", "")
    if len(core) >= 4 and " " not in folded:
        inner = range(1, len(folded) - 1)
        for i in inner:
            out.add(folded[:i] + "*" + folded[i + 1 :])
        vowels = [i for i in inner if folded[i] in "aeiouy"]
        if vowels:
            out.add("".join("*" if i in vowels else c for i, c in enumerate(folded)))
        if len(folded) <= 7:
            for i in inner:
                for j in inner:
                    if i < j:
                        out.add(folded[:i] + "*" + folded[i + 1 : j] + "*" + folded[j + 1 :])
    return {v for v in out if v.strip("*")}


_Entry = tuple[TermSpec | None, str, bool, bool, int]  # (spec or None for an exception, key, lead, trail, owner)


class TermMatcher:
    """Compiled matcher for a set of terms. Read-only after construction (thread-safe)."""

    def __init__(self, specs: Iterable[TermSpec], global_exceptions: Iterable[str] = ()) -> None:
        self._surface = ahocorasick.Automaton()
        self._reading = ahocorasick.Automaton()
        self._latin = ahocorasick.Automaton()
        self._payload: list[_Entry] = []
        self._owner = 0
        for spec in specs:
            self._owner += 1
            self._add_spec(spec, self._owner)
        for exc in global_exceptions:
            self._add_exception(exc, owner=-1)
        for auto in (self._surface, self._reading, self._latin):
            if len(auto):
                auto.make_automaton()

    def _put(self, auto: Any, key: str, spec: TermSpec | None, lead: bool, trail: bool, owner: int) -> None:
        if not key:
            return
        idx = len(self._payload)
        self._payload.append((spec, key, lead, trail, owner))
        if key in auto:
            auto.get(key).append(idx)
        else:
            auto.add_word(key, [idx])

    def _add_spec(self, spec: TermSpec, owner: int) -> None:
        term = spec.term.strip()
        lead = term.startswith("*")
        trail = term.endswith("*") or spec.prefix_only
        core = term.strip("*").strip()
        if not core:
            return
        if is_cjk_term(core):
            folded = fold_term_ng(core)
            self._put(self._surface, folded, spec, lead, trail, owner)
            if _KANJI.search(core):
                reading = _reading_of(core)
                if reading and reading != folded:
                    self._put(self._reading, reading, spec, lead, trail, owner)
        else:
            for v in _latin_variants(fold_term_latin(core)):
                self._put(self._latin, v, spec, lead, trail, owner)
        for exc in spec.exceptions:
            self._add_exception(exc, owner=owner)

    def _add_exception(self, exc: str, owner: int) -> None:
        exc = exc.strip()
        if not exc:
            return
        if is_cjk_term(exc):
            self._put(self._surface, fold_term_ng(exc), None, True, True, owner)
        else:
            self._put(self._latin, fold_term_latin(exc), None, True, True, owner)

    def __len__(self) -> int:
        return len(self._payload)

    def find(self, views: TextViews) -> list[Hit]:
        hits: list[Hit] = []
        ascii_only = views.text.isascii()
        # CJK terms need a non-ASCII character to match; Latin terms need a letter of some Latin-like
        # script (ASCII, full-width, accented, Cyrillic/Greek look-alikes, mathematical alphanumerics)
        if len(self._surface) and not ascii_only:
            hits += self._find_surface(views)
        if len(self._reading) and not ascii_only and _KANJI.search(views.text):
            hits += self._find_reading(views)
        if len(self._latin) and _LATINISH.search(views.text):
            hits += self._find_latin(views)
        return hits

    def _iter(self, auto: Any, text: str) -> list[tuple[int, int, int]]:
        out = []
        for end_idx, idxs in auto.iter(text):
            for idx in idxs:
                out.append((idx, end_idx - len(self._payload[idx][1]) + 1, end_idx + 1))
        return out

    def _drop_excepted(
        self, cands: list[tuple[int, int, int]], excs: list[tuple[int, int, int]]
    ) -> list[tuple[int, int, int]]:
        """Drop candidates (idx, a, b) covered by an exception (idx, a, b) of their term or global."""
        if not excs:
            return cands
        out = []
        for idx, a, b in cands:
            owner = self._payload[idx][4]
            covered = False
            for eidx, ea, eb in excs:
                eo = self._payload[eidx][4]
                if ea <= a and b <= eb and eo in (-1, owner):
                    covered = True
                    break
            if not covered:
                out.append((idx, a, b))
        return out

    def _surface_raw(self, views: TextViews) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        cands: list[tuple[int, int, int]] = []
        excs: list[tuple[int, int, int]] = []
        for item in self._iter(self._surface, views.ng.text):
            (cands if self._payload[item[0]][0] is not None else excs).append(item)
        return cands, excs

    def _find_surface(self, views: TextViews) -> list[Hit]:
        v = views.ng
        if not v.text:
            return []
        cands, excs = self._surface_raw(views)
        hits = []
        for idx, a, b in self._drop_excepted(cands, excs):
            spec, _key, lead, trail, _owner = self._payload[idx]
            assert spec is not None
            if b - a <= 3:
                starts, ends = views.boundaries
                if (a not in starts and not lead) or (b not in ends and not trail):
                    continue
                m = views.token_at.get((a, b))
                if m is not None and m.part_of_speech()[0] in _FUNCTIONAL:
                    info = _term_info(spec.term.strip("*").strip())
                    if info.nominal and m.normalized_form() not in info.normalized:
                        continue  # 傘をかす (貸す) is not カス, めくらない (捲る) is not めくら
            hits.append(Hit(spec, *v.span(a, b)))
        return hits

    def _find_reading(self, views: TextViews) -> list[Hit]:
        reading, rstart, rend, starts, ends, kana, tok = views.reading
        surf = views.ng_surface
        cands = []
        for idx, a, b in self._iter(self._reading, reading):
            if a not in starts or b not in ends:
                continue
            sa, sb = rstart[a], rend[b - 1]
            if sb <= sa or not _KANJI.search(surf.text[sa:sb]):
                continue  # kana spellings are the surface path's
            spec = self._payload[idx][0]
            assert spec is not None
            info = _term_info(spec.term.strip("*").strip())
            if tok[a] == tok[b - 1]:
                # one word of the text that merely sounds like the term (分 ふん, 古事記 こじき)
                m = views.tokens[tok[a]][3]
                if m.normalized_form() not in info.normalized:
                    continue
            # kana in the text only where the term is written in kana (その場かな is not 馬鹿)
            if any(kana[i] and not info.kana_mask[i - a] for i in range(a, b)):
                continue
            cands.append((idx, sa, sb))
        if not cands:
            return []
        _c, excs = self._surface_raw(views)
        return self._hits(self._drop_excepted(cands, excs), surf)

    def _find_latin(self, views: TextViews) -> list[Hit]:
        v = views.latin
        t = v.text
        if not t.strip():
            return []
        n = len(t)
        cands: list[tuple[int, int, int]] = []
        excs: list[tuple[int, int, int]] = []
        for idx, a, b in self._iter(self._latin, t):
            spec, _key, lead, trail, _owner = self._payload[idx]
            if spec is None:
                excs.append((idx, a, b))
                continue
            if not lead and a > 0 and _LETTER.match(t[a - 1]) and a not in v.soft:
                continue
            if not trail and b not in v.soft:
                e = b
                while e < n and _LETTER.match(t[e]) and (e == b or e not in v.soft):
                    e += 1
                if t[b:e] not in _SUFFIXES:
                    continue
                b = e
            cands.append((idx, a, b))
        return self._hits(self._drop_excepted(cands, excs), v)

    def _hits(self, kept: list[tuple[int, int, int]], v: View) -> list[Hit]:
        """Hits for candidates (idx, a, b) in view ``v`` offsets, mapped back to the original."""
        out = []
        for idx, a, b in kept:
            spec = self._payload[idx][0]
            assert spec is not None
            out.append(Hit(spec, *v.span(a, b)))
        return out


@dataclass(frozen=True, slots=True)
class _TermInfo:
    normalized: frozenset[str]  # SudachiPy normalised forms the term may take as a single token
    kana_mask: tuple[bool, ...]  # per character of the term's reading: written in kana in the term
    nominal: bool  # the term is one token of a noun-like part of speech (not verb/adjective/...)


@lru_cache(maxsize=65536)
def _term_info(term: str) -> _TermInfo:
    surf = ng_surface_view(term).text
    morphemes = list(tokenizer().tokenize(surf)) if surf else []
    normalized = {surf, jaconv.hira2kata(surf), jaconv.kata2hira(surf)}
    mask: list[bool] = []
    for m in morphemes:
        normalized.add(m.normalized_form())
        s = m.surface()
        r = jaconv.kata2hira(m.reading_form() or s)
        if _KANA_ONLY.fullmatch(s):
            mask.extend([True] * len(r))
            continue
        # okurigana: kana at the start and the end of a kanji word (気違い -> きちが|い)
        head = re.match(r"[\u3041-\u309f\u30a1-\u30ff]*", s)
        tail = re.search(r"[\u3041-\u309f\u30a1-\u30ff]*$", s)
        lead = len(head.group()) if head else 0
        trail = len(tail.group()) if tail and lead < len(s) else 0
        lead_ok = lead and jaconv.kata2hira(s[:lead]) == r[:lead]
        trail_ok = trail and jaconv.kata2hira(s[len(s) - trail :]) == r[len(r) - trail :]
        part = [False] * len(r)
        for i in range(lead if lead_ok else 0):
            part[i] = True
        for i in range(trail if trail_ok else 0):
            part[len(r) - 1 - i] = True
        mask.extend(part)
    nominal = len(morphemes) == 1 and morphemes[0].part_of_speech()[0] not in _FUNCTIONAL
    return _TermInfo(frozenset(normalized), tuple(mask), nominal)


@lru_cache(maxsize=65536)
def _reading_of(term: str) -> str:
    surf = ng_surface_view(term).text
    return "".join(jaconv.kata2hira(m.reading_form() or m.surface()) for m in tokenizer().tokenize(surf))

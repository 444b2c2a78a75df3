"""Lexical scoring: Japanese (Sudachi normalised forms) and English tokenisation with an Okapi BM25 index."""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

# Zero-width and formatting characters that NFKC keeps but that split words invisibly.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Hyphen- and dash-like characters folded to one ASCII hyphen (NFKC leaves them alone).
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"), "-")
_ASCII_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_HAS_ASCII_ALNUM = re.compile(r"^[a-z0-9'’.\-]+$")

# Parts of speech that carry no topic: particles, auxiliaries, symbols, blanks.
_DROP_POS = frozenset({"助詞", "助動詞", "補助記号", "空白", "記号"})
# Light verbs and formal nouns that appear in nearly every question ("…したいのですが", "ことは").
_DROP_NORMALISED = frozenset(
    {
        "為る",
        "居る",
        "有る",
        "成る",
        "下さる",
        "事",
        "物",
        "方",
        "其の",
        "此の",
        "所",
        "様",
        "良い",
        "ため",
        "為",
    }
)
_EN_STOPWORDS_TEXT = (
    "a an and are as at be been but by can could did do does for from had has have how i if in into is "
    "it its me my of on or our please should so than that the their them then there these they this to "
    "us was we were what when where which who why will with would you your"
)
_EN_STOPWORDS = frozenset(_EN_STOPWORDS_TEXT.split())


def normalise(text: str) -> str:
    """NFKC, case-folded, with invisible characters removed and dash variants unified."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).translate(_DASHES)
    return text.casefold()


def _stem_en(word: str) -> str:
    """A deliberately light English stemmer (plural and a few common suffixes)."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: len(word) - len(suffix)] + repl
    return word


class Tokenizer:
    """Sudachi (sudachidict-core) for Japanese, a regex word splitter and light stemmer for English.

    Japanese words become their Sudachi normalised form (`かならず` → `必ず`, `ｽﾏﾎ` → `スマホ`); long
    compounds are indexed both whole (mode C) and as their short units (mode A), so `国民年金` matches
    `年金`. The dictionary is loaded on first use.
    """

    def __init__(self) -> None:
        self._tok: Any = None
        self._mode_a: Any = None
        self._lock = threading.Lock()

    def _tokenizer(self) -> Any:
        if self._tok is None:
            from sudachipy import Dictionary, SplitMode

            self._tok = Dictionary(dict="core").tokenizer(mode=SplitMode.C)
            self._mode_a = SplitMode.A
        return self._tok

    def tokenize(self, text: str) -> list[str]:
        """Index terms of `text` (normalised forms, stemmed English words), in order."""
        return [term for term, _ in self.terms(text)]

    def terms(self, text: str) -> list[tuple[str, str]]:
        """(index term, surface in the normalised text) pairs; the surface helps locate a match."""
        text = normalise(text)
        if not text.strip():
            return []
        out: list[tuple[str, str]] = []
        with self._lock:
            tok = self._tokenizer()
            # Sudachi has an input size limit; feed it line by line (and long lines in slices)
            for piece in _pieces(text):
                for m in tok.tokenize(piece):
                    surface = m.surface()
                    if _HAS_ASCII_ALNUM.match(surface):
                        out.extend((_stem_en(w), w) for w in _english_words(surface))
                        continue
                    pos = m.part_of_speech()
                    if pos[0] in _DROP_POS or (pos[1] == "非自立可能" and pos[0] in {"動詞", "形容詞"}):
                        continue
                    norm = m.normalized_form()
                    if norm in _DROP_NORMALISED or not norm.strip():
                        continue
                    out.append((norm, surface))
                    parts = m.split(self._mode_a)
                    if len(parts) > 1:
                        out.extend(
                            (p.normalized_form(), p.surface())
                            for p in parts
                            if p.part_of_speech()[0] not in _DROP_POS and p.normalized_form().strip()
                        )
        return out

    def noun_phrases(self, text: str) -> list[str]:
        """Japanese noun compounds of ``text`` in order (consecutive nouns joined, with a prefix such as
        新), skipping numbers, pronouns and anything inside 「」 quotes: what a post is about."""
        out: list[str] = []
        cur: list[str] = []
        nouns = 0
        quoted = 0
        with self._lock:
            tok = self._tokenizer()
            for piece in _pieces(unicodedata.normalize("NFKC", text)):
                for m in [*tok.tokenize(piece), None]:
                    surface, pos = (m.surface(), m.part_of_speech()) if m is not None else ("", ("", "", ""))
                    if surface in ("「", "『"):
                        quoted += 1
                    elif surface in ("」", "』") and quoted:
                        quoted -= 1
                    if (
                        not quoted
                        and pos[0] == "名詞"
                        and pos[1] in ("普通名詞", "固有名詞")
                        # 「先日」「3ヶ月」「快適」 say when, how many or how, not what the post is about
                        and pos[2] not in ("副詞可能", "助数詞可能", "形状詞可能")
                    ):
                        cur.append(surface)
                        nouns += 1
                    elif not quoted and pos[0] == "接頭辞" and not cur:
                        cur.append(surface)
                    else:
                        if nouns:
                            out.append("".join(cur))
                        cur, nouns = [], 0
        return out


def _english_words(surface: str) -> list[str]:
    return [w for w in _ASCII_WORD.findall(surface) if w not in _EN_STOPWORDS]


_BREAKS = "。．.!?！？、, "


def _pieces(text: str, limit: int = 4000) -> Iterable[str]:
    """Lines, with over-long lines cut after the last sentence or clause break before `limit`."""
    for line in text.splitlines():
        while len(line) > limit:
            cut = max(line.rfind(ch, 0, limit) for ch in _BREAKS) + 1
            if cut <= 0:
                cut = limit  # no break at all: cut hard
            if line[:cut].strip():
                yield line[:cut]
            line = line[cut:]
        if line.strip():
            yield line


@dataclass(frozen=True)
class BM25Params:
    """Okapi BM25 constants; the textbook defaults (Robertson & Zaragoza 2009), not fitted to any data."""

    k1: float = 1.2
    b: float = 0.75


@dataclass(frozen=True)
class RM3Params:
    """RM3 feedback constants: Anserini's defaults (fbDocs 10, fbTerms 10, original query weight 0.5)."""

    fb_docs: int = 10
    fb_terms: int = 10
    original_weight: float = 0.5


class BM25:
    """An in-memory Okapi BM25 index over pre-tokenised documents, keyed by string id."""

    def __init__(self, params: BM25Params | None = None) -> None:
        self.params = params or BM25Params()
        self._docs: dict[str, list[str]] = {}
        self._dirty = True
        self._ids: list[str] = []
        self._postings: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = {}
        self._idf: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._docs

    @property
    def ids(self) -> list[str]:
        self._build()
        return self._ids

    def put(self, doc_id: str, tokens: Sequence[str]) -> None:
        self._docs[doc_id] = list(tokens)
        self._dirty = True

    def remove(self, doc_id: str) -> None:
        if self._docs.pop(doc_id, None) is not None:
            self._dirty = True

    def clear(self) -> None:
        self._docs.clear()
        self._dirty = True

    def _build(self) -> None:
        if not self._dirty:
            return
        self._ids = list(self._docs)
        n = len(self._ids)
        lengths = np.array([len(self._docs[i]) for i in self._ids], dtype=np.float32)
        avg = float(lengths.mean()) if n and lengths.sum() > 0 else 1.0
        k1, b = self.params.k1, self.params.b
        norm = k1 * (1 - b + b * lengths / avg)
        rows: dict[str, list[tuple[int, int]]] = {}
        for idx, doc_id in enumerate(self._ids):
            for term, tf in Counter(self._docs[doc_id]).items():
                rows.setdefault(term, []).append((idx, tf))
        self._postings = {}
        self._idf = {}
        for term, plist in rows.items():
            docs = np.fromiter((d for d, _ in plist), dtype=np.int64, count=len(plist))
            freq = np.fromiter((t for _, t in plist), dtype=np.float32, count=len(plist))
            # precomputed term weight: tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg))
            self._postings[term] = (docs, (freq * (k1 + 1) / (freq + norm[docs])).astype(np.float32))
            df = len(plist)
            self._idf[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        self._dirty = False

    def scores(self, query_tokens: Sequence[str] | Mapping[str, float]) -> npt.NDArray[np.float32]:
        """BM25 score of every document (in `ids` order) for query tokens, or for term → query weight."""
        self._build()
        weighted = query_tokens if isinstance(query_tokens, Mapping) else Counter(query_tokens)
        out = np.zeros(len(self._ids), dtype=np.float32)
        for term, qtf in weighted.items():
            posting = self._postings.get(term)
            if posting is None:
                continue
            docs, weights = posting
            out[docs] += self._idf[term] * qtf * weights
        return out

    def expand(self, query_tokens: Sequence[str], params: RM3Params | None = None) -> dict[str, float]:
        """RM3 pseudo-relevance feedback: the query as term weights, mixed with terms of its top documents.

        Relevance model 1 over the `fb_docs` best documents (each weighted by its share of their BM25
        scores, terms by their frequency in the document), its `fb_terms` heaviest terms, interpolated
        with the original query (Lavrenko & Croft 2001; Abdul-Jaleel et al. 2004, as in Anserini).
        """
        params = params or RM3Params()
        counts = Counter(query_tokens)
        total = sum(counts.values())
        original = {term: c / total for term, c in counts.items()} if total else {}
        if not original:
            return {}
        scores = self.scores(counts)
        positive = int(np.count_nonzero(scores > 0))
        n = min(params.fb_docs, positive)
        if n <= 0:
            return original
        idx = np.argpartition(-scores, n - 1)[:n]
        doc_weights = scores[idx] / float(scores[idx].sum())
        model: dict[str, float] = {}
        for i, weight in zip(idx, doc_weights, strict=True):
            tokens = self._docs[self._ids[int(i)]]
            length = len(tokens)
            for term, tf in Counter(tokens).items():
                model[term] = model.get(term, 0.0) + float(weight) * tf / length
        feedback = sorted(model.items(), key=lambda kv: -kv[1])[: params.fb_terms]
        norm = sum(w for _, w in feedback) or 1.0
        out = {term: params.original_weight * w for term, w in original.items()}
        for term, w in feedback:
            out[term] = out.get(term, 0.0) + (1 - params.original_weight) * w / norm
        return out

    def top(
        self, query_tokens: Sequence[str] | Mapping[str, float], k: int, allowed: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """The best `k` documents with a positive score, optionally only among `allowed` ids."""
        scores = self.scores(query_tokens)
        if allowed is not None:
            mask = np.fromiter((i in allowed for i in self._ids), dtype=bool, count=len(self._ids))
            scores = np.where(mask, scores, 0.0).astype(np.float32)
        positive = int(np.count_nonzero(scores > 0))
        k = min(k, positive)
        if k <= 0:
            return []
        idx = np.argpartition(-scores, k - 1)[:k]
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        return [(self._ids[i], float(scores[i])) for i in idx]

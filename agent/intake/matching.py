"""Aho-Corasick term matching on normalised text, with ASCII word boundaries for Latin terms."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

import ahocorasick

from agent.intake.normalise import normalise

T = TypeVar("T")


def _is_ascii_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _joins(a: str, b: str) -> bool:
    """True when a and b would continue one ASCII word: letter next to letter, digit next to digit."""
    if not (_is_ascii_word_char(a) and _is_ascii_word_char(b)):
        return False
    return a.isdigit() == b.isdigit()


@dataclass(frozen=True, slots=True)
class TermHit(Generic[T]):
    """One occurrence of a term in a normalised text (offsets index the normalised text)."""

    term: str
    payload: T
    start: int
    end: int


class TermMatcher(Generic[T]):
    """Finds many terms at once in normalised text.

    A term is normalised like the text. A Latin term must not continue an ASCII word: a letter edge may
    not touch a letter and a digit edge not a digit (so 'acme' does not match 'acmes' nor 'bug' 'debug',
    but 'acmebuds' matches 'AcmeBuds2', a model number written without a space). Japanese has no
    spaces, so kana and kanji edges match anywhere.
    """

    def __init__(self, terms: Iterable[tuple[str, T]]) -> None:
        self._automaton = ahocorasick.Automaton()
        self._size = 0
        grouped: dict[str, list[tuple[str, T]]] = {}
        for term, payload in terms:
            key = normalise(term)
            if key:
                grouped.setdefault(key, []).append((term, payload))
        for key, entries in grouped.items():
            self._automaton.add_word(key, (key, tuple(entries)))
            self._size += 1
        if self._size:
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return self._size

    def find(self, normalised_text: str) -> list[TermHit[T]]:
        """All hits in text already passed through `normalise`, in order of their start."""
        if not self._size or not normalised_text:
            return []
        hits: list[TermHit[T]] = []
        for end_index, (key, entries) in self._automaton.iter(normalised_text):
            start = end_index - len(key) + 1
            end = end_index + 1
            if start > 0 and _joins(normalised_text[start - 1], key[0]):
                continue
            if end < len(normalised_text) and _joins(key[-1], normalised_text[end]):
                continue
            for term, payload in entries:
                hits.append(TermHit(term, payload, start, end))
        hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
        return hits


def longest_hits(hits: list[TermHit[T]]) -> list[TermHit[T]]:
    """Drop hits lying inside a longer hit (so 良くない wins over 良く), keeping the earliest-longest."""
    kept: list[TermHit[T]] = []
    for hit in sorted(hits, key=lambda h: (-(h.end - h.start), h.start)):
        if any(k.start <= hit.start and hit.end <= k.end and (k.start, k.end) != (hit.start, hit.end) for k in kept):
            continue
        kept.append(hit)
    kept.sort(key=lambda h: h.start)
    return kept

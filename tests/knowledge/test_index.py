"""HybridIndex over a real chroma PersistentClient: search modes, filters, idempotence, reopening."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from knowledge.embeddings import CachedEmbedder
from knowledge.index import HybridIndex, IndexConfig, IndexDoc, _combsum, split_passages

from .conftest import QUERIES, index_docs, new_client


def test_paraphrases_find_their_entry_in_every_mode(index: HybridIndex) -> None:
    for text, expected in QUERIES.values():
        hybrid = [h.id for h in index.search(text, k=3)]
        assert expected in hybrid, (text, hybrid)
    ranks = [h.id for h in index.search("配送料について知りたい", k=2, mode="dense")]
    assert "shipping-ja" in ranks


def test_hits_carry_scores_passage_and_metadata(index: HybridIndex) -> None:
    dense = index.search("パスワードを忘れた", k=2, mode="dense")
    assert dense[0].id == "password-ja"
    assert dense[0].dense_score is not None and 0 < dense[0].dense_score <= 1.0001
    assert dense[0].lexical_score is None
    assert dense[0].metadata["tags"] == "account"
    assert not any(key.startswith("_") for key in dense[0].metadata)

    lexical = index.search("迷惑メールフォルダ", k=2, mode="lexical")
    assert lexical[0].id == "password-ja"
    assert lexical[0].dense_score is None and lexical[0].lexical_score and lexical[0].lexical_score > 0
    assert "迷惑メール" in lexical[0].passage  # the body passage that matched, not the title
    assert "迷惑メール" not in index.search("パスワードを忘れた", k=1, mode="lexical")[0].passage

    hybrid = index.search("水濡れは保証の対象ですか", k=3)
    assert hybrid[0].id == "warranty-policy"
    assert hybrid[0].score > hybrid[-1].score
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)


def test_filters_on_kind_lang_status_and_tag(index: HybridIndex) -> None:
    for mode in ("hybrid", "dense", "lexical"):
        hits = index.search("返品 return", k=10, where={"lang": "en"}, mode=mode)
        assert hits and all(h.metadata["lang"] == "en" for h in hits), mode
        hits = index.search("保証", k=10, where={"kind": "policy"}, mode=mode)
        assert hits and all(h.metadata["kind"] == "policy" for h in hits), mode
        hits = index.search("修理", k=10, where={"tag": "repair"}, mode=mode)
        assert {h.id for h in hits} <= {"battery-ja", "warranty-policy"} and hits, mode
        hits = index.search("営業時間", k=10, where={"status": "published"}, mode=mode)
        assert "store-hours-ja" not in {h.id for h in hits}, mode
        hits = index.search("返品", k=10, where={"tag": "returns", "lang": "ja"}, mode=mode)
        assert {h.id for h in hits} == {"returns-ja"}, mode


def test_upsert_is_idempotent_and_detects_changes(index: HybridIndex, embedder: CachedEmbedder) -> None:
    before = index.fingerprints()
    assert set(before) == {d.id for d in index_docs()}
    computed = embedder.computed
    calls: list[tuple[int, int]] = []
    index.upsert(index_docs(), progress=lambda done, total: calls.append((done, total)))
    assert embedder.computed == computed  # nothing re-embedded
    assert index.fingerprints() == before
    assert calls[-1] == (len(before), len(before))

    doc = next(d for d in index_docs() if d.id == "points-ja")
    changed = replace(doc, body="ポイントに有効期限はありません。いつでもご利用いただけます。")
    index.upsert([changed])
    after = index.fingerprints()
    assert after["points-ja"] != before["points-ja"]
    assert {k: v for k, v in after.items() if k != "points-ja"} == {k: v for k, v in before.items() if k != "points-ja"}
    hit = index.search("いつでもご利用いただけます", k=1, mode="lexical")[0]
    assert hit.id == "points-ja"
    assert "失効" not in hit.passage  # the old body is gone

    retagged = replace(changed, metadata={**changed.metadata, "tags": "points|campaign"})
    index.upsert([retagged])
    assert [h.id for h in index.search("ポイント", k=5, where={"tag": "campaign"})] == ["points-ja"]


def test_delete_and_reset(index: HybridIndex) -> None:
    index.delete(["returns-ja", "does-not-exist"])
    for mode in ("hybrid", "dense", "lexical"):
        assert "returns-ja" not in {h.id for h in index.search("返品したい", k=10, mode=mode)}
    assert "returns-ja" not in index.fingerprints()
    index.reset()
    assert index.fingerprints() == {}
    assert index.search("返品", k=5) == []
    index.upsert(index_docs()[:2])
    assert len(index) == 2


def test_second_process_view_gets_same_results_and_refreshes(
    index: HybridIndex, chroma_path: Path, embedder: CachedEmbedder
) -> None:
    other = HybridIndex(new_client(chroma_path), "test-faq", embedder)
    for text, _ in QUERIES.values():
        for mode in ("hybrid", "lexical", "dense"):
            mine = [(h.id, round(h.score, 5)) for h in index.search(text, k=5, mode=mode)]
            theirs = [(h.id, round(h.score, 5)) for h in other.search(text, k=5, mode=mode)]
            assert mine == theirs, (text, mode)
    assert other.fingerprints() == index.fingerprints()

    index.upsert([IndexDoc("giftwrap-ja", "ギフト包装はできますか", "有料でラッピングを承ります。", {"lang": "ja"})])
    assert other.search("ラッピング", k=1, mode="lexical")[0].id == "giftwrap-ja"
    index.delete(["giftwrap-ja"])
    assert "giftwrap-ja" not in {h.id for h in other.search("ラッピング", k=5)}


def test_english_and_mixed_queries(index: HybridIndex) -> None:
    assert index.search("forgot password reset", k=3)[0].id in {"password-ja"}
    assert index.search("personal data in public replies", k=1)[0].id == "privacy-policy"
    assert index.search("", k=3) == []
    assert index.search("返品", k=0) == []


def test_bad_input_is_refused(index: HybridIndex) -> None:
    with pytest.raises(ValueError, match="reserved"):
        index.upsert([IndexDoc("x", "t", "b", {"_doc": "y"})])
    with pytest.raises(TypeError):
        index.upsert([IndexDoc("x", "t", "b", {"tags": ["a"]})])  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="mode"):
        index.search("返品", mode="fuzzy")  # type: ignore[arg-type]


def test_document_without_title(index: HybridIndex) -> None:
    index.upsert([IndexDoc("notitle", "", "年末年始の配送は1月4日から再開します。", {"lang": "ja"})])
    hit = index.search("年末年始の配送", k=1)[0]
    assert hit.id == "notitle"
    assert "1月4日" in hit.passage


def test_split_passages() -> None:
    text = "一文目です。二文目です。" + "長" * 50 + "。最後。"
    parts = split_passages(text, 20)
    assert parts[0] == "一文目です。二文目です。"
    assert all(len(p) <= 20 for p in parts)
    assert "".join(parts) == text
    assert split_passages("First sentence. Second one.", 100) == ["First sentence. Second one."]
    assert split_passages("", 10) == []


def test_settings_client_and_embedder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kizuki.core.settings import Settings

    settings = Settings(home=tmp_path / "home")
    idx = HybridIndex(settings=settings, embedder=None)
    idx.upsert([IndexDoc("a", "送料はいくらですか", "550円です。", {"lang": "ja"})])
    assert (tmp_path / "home" / "chroma").is_dir()
    assert (tmp_path / "home" / "cache" / "embeddings.sqlite").is_file()
    assert idx.name == settings.chroma_collection
    assert idx.search("送料", k=1)[0].id == "a"


def test_every_body_passage_is_embedded(chroma_path: Path, embedder: CachedEmbedder) -> None:
    filler = "".join(f"第{i}条は一般的な注意事項です。" for i in range(30))
    body = filler + "ペットの持ち込みは盲導犬と介助犬に限り認めています。"
    doc = IndexDoc("long", "店舗のご利用について", body, {"lang": "ja"})
    assert len(split_passages(body, IndexConfig().chunk_chars)) > 3
    idx = HybridIndex(new_client(chroma_path), "long", embedder)
    idx.upsert([doc, *index_docs()])
    hit = idx.search("盲導犬を連れて入れますか", k=1, mode="dense")[0]
    assert hit.id == "long"
    assert "盲導犬" in hit.passage  # the late passage matched, not the title
    first3 = HybridIndex(new_client(chroma_path), "long3", embedder, config=IndexConfig(dense_chunks=3))
    first3.upsert([doc])
    assert first3.fingerprints()["long"] != idx.fingerprints()["long"]  # the layout is part of the fingerprint


def test_fusion_choices(chroma_path: Path, embedder: CachedEmbedder) -> None:
    rrf = HybridIndex(new_client(chroma_path), "rrf", embedder, config=IndexConfig(fusion="rrf", rm3=False))
    rrf.upsert(index_docs())
    for text, expected in QUERIES.values():
        assert expected in [h.id for h in rrf.search(text, k=3)], text
    hits = rrf.search("水濡れは保証の対象ですか", k=5)
    assert all(0 < h.score <= 2 / 61 for h in hits)  # two rankings, k = 60


def test_combsum_normalises_each_side() -> None:
    fused = dict(_combsum([({"a": 0.9, "b": 0.5, "c": 0.1}, 0.5), ({"b": 30.0, "d": 10.0}, 0.5)]))
    assert fused == pytest.approx({"a": 0.5, "b": 0.75, "c": 0.0, "d": 0.0})
    assert _combsum([({"x": 2.0}, 0.5), ({}, 0.5)]) == [("x", 0.5)]
    assert [d for d, _ in _combsum([({"b": 1.0, "a": 1.0}, 1.0)])] == ["a", "b"]  # ties by id

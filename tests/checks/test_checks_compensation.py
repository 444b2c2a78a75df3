"""Compensation decided by meaning: an offer object and a first-person offer verb in one clause."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.checks import check

SET = Path(__file__).parents[2] / "benchmarks" / "checks" / "compensation.jsonl"


def _comp(text: str) -> list[tuple[str, str]]:
    res = check(text)
    out = []
    for f in res.findings:
        if f.category == "compensation":
            assert text[f.start : f.end] == f.match, (text, f)
            out.append((f.rule, f.match))
    return out


# The probe's fourteen plain promises that passed unflagged (12 plain, 2 obfuscated).
ISSUE_PROMISES = [
    "お詫びとしてQUOカード1,000円分をお送りいたします",
    "ギフト券（3,000円分）をお送りします",
    "ご購入代金を全額お返しいたします",
    "全額返金とさせていただきます",
    "返金に応じます",
    "交換品をすぐにお送りします",
    "ポイント500pt付与します",
    "You'll get your money back",
    "We will send you a $50 gift card",
    "We'll reimburse you",
    "We'll replace it for free",
    "We'll cover the cost of the repair",
    "全 額 返 金 い た し ま す",
    "お代はすべてお返しいたします",
]


@pytest.mark.parametrize("text", ISSUE_PROMISES, ids=[f"issue{i:02d}" for i in range(1, len(ISSUE_PROMISES) + 1)])
def test_plain_promises_are_flagged(text: str) -> None:
    res = check(text)
    assert "compensation" in res.categories
    assert res.verdict == "warn"  # a compensation finding puts the draft under the two-person rule


@pytest.mark.parametrize(
    "text",
    [
        # anything between the gift and the verb: amounts, counters, brackets, adverbs
        "お詫びに図書カード2,000円分を郵送いたします。",
        "電子ギフト（5,000円分）をメールでお届けします。",
        "差額の1,200円をお返しします。",
        "1,000円分のポイントをお客様のアカウントに加算いたします。",
        # honorific and humble forms
        "500ポイントを付与させていただきます。",
        "乗車券の代金を払い戻させていただきます。",
        "ご請求額から1,000円を差し引かせていただきます。",
        "今回の修理代は無料とさせていただきます。",
        # fee waivers are negative forms
        "今月分の利用料金は請求いたしません。",
        "お食事代は頂きません。",
        # exceptions
        "特例として、開封済みでも返品を承ります。",
        "保証期間外ですが、無料で修理いたします。",
        # width and spacing
        "３，０００円を返金致します。",
        "ｸｰﾎﾟﾝをお送りします",
        "ご・返・金・い・た・し・ま・す",
        "ヘンキンイタシマス",
        # English: contractions, modals, you-forms, passives
        "We'll refund the $25 delivery fee.",
        "I can refund the difference of ¥1,200.",
        "We'd like to send you a £20 gift voucher.",
        "We'll knock 10% off your bill.",
        "Your next month is on us.",
        "You won't be charged for this month.",
        "We won't charge you for the repair.",
        "Your subscription fee for March will be refunded.",
        "Let me refund that for you.",
        "We’ll refund you.",
        "we will r e f u n d you",
        "ＷＥ'ＬＬ ＲＥＦＵＮＤ ＹＯＵ",
        "We're so sorry! A replacement is on its way, free of charge.",
        "Just this once, it's on the house.",
    ],
)
def test_promise_variants_are_flagged(text: str) -> None:
    assert _comp(text), text


@pytest.mark.parametrize(
    "text",
    [
        # policy talk and conditions
        "保証期間内の故障は無償で修理いたします。",
        "初期不良の場合は新品と交換いたします。",
        "新品交換の対象は、到着から8日以内の初期不良です。",
        "無償修理の受付は終了しております。",
        "会員ランクに応じて、毎月ポイントを付与しております。",
        "3,000円以上のご注文で送料無料となります。",
        "Faults after 8 days are repaired free of charge under warranty.",
        "If you cancel within 14 days, you won't be charged.",
        "Refund conditions are on our site.",
        "Refunds usually take 5–10 business days to appear on your statement.",
        # refusals, "we can't promise"
        "返金はいたしかねます。",
        "恐れ入りますが、返金には応じかねます。",
        "We can't promise a refund here, please DM us.",
        "I'm afraid we can't refund digital purchases.",
        # questions and instructions
        "返金を希望されますか？",
        "Would you like a refund or a replacement?",
        "返金手続きはこちらから https://example.com/refund",
        "返金の手順をお送りします。",
        "交換方法をDMでお送りいたします。",
        "We'll send you the return instructions by DM.",
        "We'll get back to you about the refund by DM.",
        "Please don't share your card number here; we never ask for it to process a refund.",
        # case by case, quoted speech
        "返金の可否は、確認のうえ個別にご案内します。",
        "We'll look into whether a refund is possible.",
        "当社を名乗り「全額返金します」と連絡してくるアカウントにご注意ください。",
        # ordinary replies that share words with offers
        "今回に限り、という対応はいたしかねます。",
        "SIMカードはお申し込みから2〜4日でお届けします。",
        "ご注文の商品は明日お届けします。",
        "I'll send you a free guide to setting it up.",
        "We'll send you an update as soon as we know more.",
        "We are replacing, free of charge, the charging adapters whose lot number begins with 26C.",
    ],
)
def test_policy_talk_is_not_flagged(text: str) -> None:
    assert _comp(text) == [], text


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("差額を返金いたしました。ご確認ください。", "granted_ja"),
        ("クーポンを先ほどメールでお送りしました。", "granted_ja"),
        ("We've refunded your order.", "granted_en"),
        ("The refund was processed on 3 December.", "granted_en"),
    ],
)
def test_compensation_already_granted_is_reported_as_such(text: str, rule: str) -> None:
    """Not a promise, but compensation to this customer announced in public: still flagged, own rule."""
    assert [r for r, _ in _comp(text)] == [rule]


@pytest.mark.parametrize(
    "text",
    [
        "返金は元のお支払い方法に戻ります。",
        "The refund policy was updated on 1 December.",
        "割引クーポンの配布は終了しました。",
    ],
)
def test_facts_about_refunds_in_general_are_not_flagged(text: str) -> None:
    assert _comp(text) == []


def test_a_refusal_and_an_offer_in_one_sentence() -> None:
    assert [r for r, _ in _comp("返金はできかねますが、お詫びとしてクーポンをお送りします。")] == ["promise_ja"]
    assert _comp("We can't refund sale items, but we'll send you a $10 voucher.")


def test_spans_cover_the_original_text() -> None:
    text = "大変失礼しました。全　額　返　金　し　ま　す"
    [(rule, match)] = _comp(text)
    assert rule == "promise_ja" and match == "返　金　し　ま　す"
    [(rule, match)] = _comp("お詫びとしてQUOカード1,000円分をお送りいたします")
    assert match == "QUOカード1,000円分をお送りいたします"


def test_compensation_set_precision_and_recall() -> None:
    cases = [json.loads(x) for x in SET.read_text(encoding="utf-8").splitlines() if x.strip()]
    pos = [c for c in cases if "compensation" in c["expect"]]
    neg = [c for c in cases if "compensation" not in c["expect"]]
    assert len(pos) >= 100 and len(neg) >= 100
    assert {c["lang"] for c in pos} == {"ja", "en"} == {c["lang"] for c in neg}
    tp = sum(1 for c in pos if "compensation" in check(c["text"]).categories)
    fp = sum(1 for c in neg if "compensation" in check(c["text"]).categories)
    assert tp / len(pos) >= 0.95
    assert tp / (tp + fp) >= 0.95


# --- offer classes (not phrase lists) -------------------------------------------------------------------

HELDOUT = Path(__file__).parents[2] / "benchmarks" / "checks" / "compensation_heldout.jsonl"


def _assert_holds(path: Path) -> None:
    """Per language: at least 40 positives and 40 negatives, recall >= 0.95 and precision >= 0.97."""
    cases = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    for lang in ("ja", "en"):
        sub = [c for c in cases if c["lang"] == lang]
        got = [("compensation" in check(c["text"]).categories) for c in sub]
        tp = sum(1 for c, g in zip(sub, got, strict=True) if g and c["compensation"])
        fp = sum(1 for c, g in zip(sub, got, strict=True) if g and not c["compensation"])
        pos = sum(1 for c in sub if c["compensation"])
        assert pos >= 40 and len(sub) - pos >= 40
        assert tp / pos >= 0.95, lang
        assert tp / (tp + fp) >= 0.97, lang


@pytest.mark.parametrize(
    "text",
    [
        # (1) a quantity with a unit is an offer object when paired with a giving / adding / paying verb
        "お詫びとして、300ジェムをお送りいたします。",
        "遅延のお詫びに、2,000マイルを積算させていただきます。",
        "ご不便をおかけしましたので、コイン100枚を付与いたします。",
        "見舞金として3,000円をお支払いいたします。",
        "来月の請求額から500円をお引きいたします。",
        "ご迷惑をおかけしたため、ご請求額から利用料を差し引かせていただきます。",
        "We'll credit 3 months of premium to your account.",
        "I'm adding 500 bonus points to your account for the hassle.",
        "We'll transfer the full amount back to your card today.",
        "We'll give you two free months of streaming.",
        # (2) a fee or charge with a cancel / waive / reverse / remove / not-needed verb
        "解約手数料は今回に限り免除いたします。",
        "遅延損害金は不要とさせていただきます。",
        "事務手数料のご請求は取り消させていただきます。",
        "We'll reverse the late fee on your statement.",
        "We'll remove the delivery charge from your order.",
        "You won't have to pay the change fee.",
        # (3) free of charge + a service or a reshipment
        "ご注文品は、無償にて再送いたします。",
        "お詫びとして次回のお食事に無料でご招待いたします。",
        "I'll re-ship the order free of charge.",
        "We'll upgrade you to business class at no extra cost.",
        "Another new pair will ship tomorrow at no cost to you.",
        # (4) special treatment to this customer: honour, reinstate, upgrade, extend, 引き上げ
        "お部屋をスイートへアップグレードさせていただきます。",
        "お客様のポイントの有効期限を延長いたします。",
        "We'll honor the original price on your order.",
        # (6) outcome and hedged humble forms, "your money back", "Happy to ..."
        "全額ご返金となります。",
        "差し支えなければ、送料をこちらで負担させていただければと存じます。",
        "Glad to send you a replacement right away.",
        "Please accept a $15 voucher as an apology.",
        "A replacement unit is on its way to you now.",
        # adding, topping up, covering, extending, upgrading, "consider it free"
        "お詫びとして、保証期間を半年追加させていただきます。",
        "ご不便をおかけしたお詫びに、1,000円分をチャージいたします。",
        "同じ料金で上位のお部屋をご用意いたします。",
        "レイトチェックアウトを13時まで延長いたします。",
        "We'll cover your train fare home.",
        "We'll extend your free trial by a month.",
        "We'll upgrade your seat on the return flight.",
        "We'll top up your balance with 300 coins.",
        "Consider this month's delivery fees covered.",
        "We'll add 3 extra days to your pass.",
    ],
)
def test_offer_classes_are_flagged(text: str) -> None:
    assert _comp(text), text


@pytest.mark.parametrize(
    "text",
    [
        "会員ステータスをプラチナへ格上げいたしました。",
        "事務手数料のご請求は取り消しいたしました。",
        "二重請求分の取消処理を完了いたしました。",
        "ご返金の処理を本日行いました。",
        "お詫びとしてガチャ券5枚を配布いたしました。",
        "ご迷惑料として1,000円を口座にお振り込みいたしました。",
        "I've waived the restocking fee.",
        "We've deposited $20 into your wallet.",
        "We've reinstated your expired miles.",
        "I've restored your 800 gems.",
        "Your late fee has been removed.",
        "The cancellation fee has been waived.",
        "Your subscription has been refunded in full.",
        "Your wallet has been credited with $5.",
        "I've knocked it off your invoice.",
        "We've upgraded you to a larger room.",
    ],
)
def test_granted_classes_are_reported_as_granted(text: str) -> None:
    rules = [r for r, _ in _comp(text)]
    assert rules and all(r.startswith("granted_") for r in rules), (text, rules)


@pytest.mark.parametrize(
    "text",
    [
        # general facts that share the offer vocabulary: no offer to this customer
        "マイルは搭乗後に加算されます。",
        "年会費は初年度無料です。",
        "ポイントはご購入から3日以内に付与されます。",
        "ゴールド会員は送料無料です。",
        "ポイントの有効期限は1年間です。",
        "会員ランクは毎年1月に更新されます。",
        "会員ランクの引き上げは、年間ご利用額に応じて行っております。",
        "手数料の免除については、会員ランクによって異なります。",
        "お客様のご請求額は3,000円です。",
        "Points are added within 3 days of purchase.",
        "Fees are waived for members.",
        "Miles are credited to your account after the flight.",
        "Late fees are charged after 10 days.",
        "Gems can be bought in the store.",
        # counts, tickets and shipping that are orders, not gifts
        "ご注文の商品3個を明日お送りします。",
        "チケットは公演の1週間前に発送いたします。",
        "ご購入いただいたチケットは本日発送いたしました。",
        "ご注文のキャンセル処理を行いました。",
        "料金プランを来月から引き上げさせていただきます。",
        "本日よりクーポンを配布いたします。キャンペーン詳細はこちら。",
        "Your order has been cancelled as requested.",
        "Your order is on its way!",
        "Your new router ships tomorrow.",
        "A new version ships next week with bug fixes.",
        "We'll send your order in 3 days.",
        "We'll have someone call you tomorrow.",
        "We'll update the app for free for all users next week.",
        "We'll look into whether the late fee can be reversed.",
        "I've passed your request for a fee waiver to the billing team.",
        "Happy to look into this for you.",
        "Please accept our sincere apologies.",
        "We'll restore your account within 24 hours.",
        "We'll upgrade your plan to Premium from next month.",
        "We've taken it off the store while we fix it.",
        "We've upgraded our servers to prevent this.",
        "Trials can't be extended once they have started.",
        "チェックアウトは11時です。延長は1時間ごとに1,000円です。",
        "電子マネーのチャージ方法はアプリのヘルプをご覧ください。",
        # procedures described for everyone
        "後日、申請者の指定される口座へ費用をお振込みします。",
    ],
)
def test_general_facts_sharing_offer_vocabulary_are_not_flagged(text: str) -> None:
    assert _comp(text) == [], text


@pytest.mark.parametrize(
    "text",
    [
        'We will never message you saying "we\'ll send you a $100 gift card" to get your password.',
        "Accounts posting “we'll refund everyone in full” are not ours.",
        "「解約手数料は免除いたします」といったメッセージは当社からのものではありません。",
    ],
)
def test_quoted_offers_are_not_flagged(text: str) -> None:
    """An offer wholly inside quotation marks, in any script, is reported speech, not a promise."""
    assert _comp(text) == [], text


def test_an_offer_with_a_quoted_word_is_still_flagged() -> None:
    assert _comp('We\'ll send you a "sorry for the wait" coupon today.')
    assert _comp("「お詫びクーポン」をお送りいたします。")


def test_heldout_set_precision_and_recall() -> None:
    """The blind set scored P 0.988 R 0.705 before the classes above; keep it from sliding back."""
    _assert_holds(HELDOUT)


# Classes found missing by the second blind held-out set (none of its sentences are copied here).
@pytest.mark.parametrize(
    "text",
    [
        # price reductions and set-offs on this customer's bill, returned premiums, 申し上げます
        "次回のご請求から月額料金を1,000円減額させていただきます。",
        "ご請求分は翌月のお支払いと相殺させていただきます。",
        "未使用期間の会費をご返金申し上げます。",
        "保険料の過払い分は翌月末までに返戻いたします。",
        # free upgrades and switches, anything done 無料で/無償で, a gift with プレゼントさせていただきます
        "お客様のアカウントを上位プランへ無料で切り替えさせていただきます。",
        "点検費用はいただかず、無償で再調整させていただきます。",
        "ご迷惑をおかけしたお詫びに、追加容量10GB分をプレゼントさせていただきます。",
        "長らくお待たせしたため、データ容量3GB分を付与させていただきます。",
        # a cost we pay, the bill cancelled, this customer's charge stated as free
        "駐車場代につきましては、当社にて負担いたします。",
        "当方の手違いのため、請求を取り消させていただきます。",
        "お客様の今回の交換費用は無料となります。",
        "配送が遅れ申し訳ございませんでした。次回の送料は無料です。",
        # English: other verbs of sending, a team of ours as the offerer, the gift as the subject
        "I'll text you a $15 voucher this afternoon.",
        "Our support team will send you a $20 voucher.",
        "Our store manager will give you 20% off your next visit.",
        "A credit of $10 will appear on your next bill.",
        "The cost of the cancelled session will be refunded to you.",
        "We'll return your security deposit in full.",
        "I'll bump you up to the premium tier.",
        "We've put an extra 3GB on your line for the rest of the cycle, on us.",
        "Your next delivery is complimentary.",
        "Sorry for the mix-up. Your next ride is free.",
    ],
)
def test_heldout2_offer_classes_are_flagged(text: str) -> None:
    assert _comp(text), text


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("ご連絡の行き違いがあったため、今月のご請求は取り消しいたしました。", "granted_ja"),
        ("We've arranged a complimentary replacement for you.", "granted_en"),
        ("We've made an exception and won't bill you for the extra night.", "waiver_en"),
        ("I went ahead and refunded the late fee.", "granted_en"),
    ],
)
def test_heldout2_granted_and_waiver_classes_are_reported(text: str, rule: str) -> None:
    assert rule in [r for r, _ in _comp(text)], text


def test_a_start_date_after_an_apology_is_not_a_condition() -> None:
    """本日より alone marks a store-wide rule; after an apology to this customer it says when the remedy starts."""
    offer = "お部屋の件、申し訳ございませんでした。本日より、スイートへ無料でアップグレードさせていただきます。"
    assert _comp(offer)
    assert _comp("本日より、スイートへ無料でアップグレードさせていただきます。") == []


@pytest.mark.parametrize(
    "text",
    [
        # a fee taken off a refund is not an offer
        "返金額から振込手数料を差し引かせていただきます。",
        # price lists and plan descriptions
        "このプランは初月無料です。",
        "料金プラン: スタンダードは月額980円、初月無料です。",
        "次回の送料は無料です。",
        "次回以降のご注文は送料無料となります(5,000円以上の場合)。",
        "本日より全品送料無料とさせていただきます。",
        "申し訳ございません。本日より全品送料無料とさせていただきます。",
        "データ容量の追加は1GBあたり500円です。",
        "無料でお試しいただけるプランをご案内いたします。",
        # procedures and conditions sharing the vocabulary
        "家賃の減額には審査がございます。",
        "減額をご希望の場合は、管理会社までご相談ください。",
        "相殺の可否については担当部署で確認いたします。",
        "Shipping is free on orders over $50.",
        "Refunds will be issued to the original payment method.",
        "Refunds will be returned to you within 5-10 business days once approved.",
        "A refund will appear on your statement within 5-10 days once approved.",
        "Your first month is free on the annual plan.",
        "Your next bill will be issued on the 1st.",
        "All new members get an extra 5GB, on us.",
        # a team of ours doing something that is not a gift; other things sent, arranged or returned
        "Our team will review your refund request.",
        "Our team will send you the refund form.",
        "We'll email you the return label.",
        "We've arranged a call with our billing team.",
        "We'll return your call tomorrow.",
        "We can't make an exception, sorry.",
        # offers to everyone or on a condition, this order's charge as a plain fact, a receipt that names an amount
        "Our store will give 10% off to anyone who brings a receipt.",
        "Your next order is free when you refer a friend.",
        "We'll email you a 20% discount code after you sign up.",
        "The deposit will be returned to you at the end of the lease.",
        "We'll email you a receipt for the $25 payment.",
        "今回の送料は無料です。",
    ],
)
def test_heldout2_hard_negatives_are_not_flagged(text: str) -> None:
    assert _comp(text) == [], text


HELDOUT2 = HELDOUT.with_name("compensation_heldout2.jsonl")


def test_heldout2_set_precision_and_recall() -> None:
    """Batch 2 scored P 1.000 R 0.803 blind, before the classes above; keep it from sliding back."""
    _assert_holds(HELDOUT2)


# Batch 3 classes (heldout3 scored P 1.000 R 0.731 blind): new sentences of each class, not the set's own.
@pytest.mark.parametrize(
    "text",
    [
        # a named fee ending in 料 with a counter, returned
        "講座が中止となったため、参加料２回分をお返しいたします。",
        "Since the pool was closed, we'll give you your entry fee back.",
        # granted via 手続き / 済ませ / processed / refunded to your card / our team went ahead
        "ご注文代金の返金を本日手続きいたしました。",
        "経理部にて、ご返金を済ませております。",
        "I've processed a refund of $18 for the cold meal.",
        "The overpayment for your lesson has been refunded to your card.",
        "Our billing team went ahead and removed the card fee this afternoon.",
        # this customer only (お客様に限り), same goods again after an apology
        "次回の定期便は、お客様に限り10%割引でご用意いたします。",
        "破損していた件、申し訳ございません。同じ商品を改めてお送りいたします。",
        # fees we will not take
        "違約金は発生しないよう、こちらで処理させていただきます。",
        "遅延した回の受講料は、頂戴しないことといたしました。",
        # at our cost, same price for more, fee-less handling
        "当社負担でお部屋のエアコンを交換いたします。",
        "同額のままツインルームへ変更させていただきます。",
        "本来はお受けできない変更ですが、今回は手数料なしで変更させていただきます。",
        "We'll have a bigger room ready for you at the same rate.",
        # prices lowered for this customer
        "We can reduce your invoice by $75 for the delay.",
        "We're cutting this month's rent by 5% for the noise.",
        # free: at no cost to you, without charge, on its way
        "Our engineer will replace the router at no cost to you.",
        "We'll re-cut the key without any charge.",
        "A new cable is on its way to you at no charge.",
        "Your account will be moved up to the premium tier, free of charge.",
        # gift as the subject, our team as the giver
        "To apologise, a credit of two weeks' service will appear on your next bill.",
        "A voucher for one free coffee is on its way to your inbox.",
        "Our rewards team is adding 500 points to your account.",
        "Usually tickets can't be moved, but we'll make an exception and change yours.",
        # third parties on our side: courier, hotel
        "配送業者から、破損分の代金を弁償するとの回答をいただきました。",
        "提携旅館より宿泊費を返金する旨の連絡がございました。",
        "Our shipping partner has agreed to reimburse you for the lost parcel.",
        "The airline has confirmed they'll refund your seat fee.",
    ],
)
def test_heldout3_offer_classes_are_flagged(text: str) -> None:
    assert _comp(text), text


@pytest.mark.parametrize(
    "text",
    [
        # general rules in the present tense are policy, not an offer to this customer (decided: a plain
        # "repairs under warranty are at no cost to you" states the warranty terms, so it stays unflagged)
        "Repairs under warranty are at no cost to you.",
        "弊社負担となるのは初期不良の場合に限ります。",
        "Our partner hotels offer refunds within 24 hours of booking.",
        "Returns are accepted within 14 days.",
        "送料は弊社負担です。",
        "会員のお客様に限り送料無料でお届けいたします。",
        "資料をお送りいたします。",
        "材料費は別途頂戴いたします。",
        "We'll reduce the wait time by 50%.",
        "We'll send the parcel back to the sender.",
        "Your new phone is on its way.",
        "返金するとの連絡を装った詐欺メールにご注意ください。",
        "If the carrier has agreed to refund you, you'll get an email.",
        "同料金のままプラン変更が可能です。",
        "We can't make an exception for late returns.",
        "解約金が発生しないようご注意ください。",
        "The refund is processed within 5 days.",
        "Our team is looking into your refund.",
        "The update will be available at no cost to you.",
        "The new app will be free of charge.",
        "We'll lower our prices by 5% in spring.",
        "ご購入のお客様に限り、送料無料でお届けいたします。",
    ],
)
def test_heldout3_hard_negatives_are_not_flagged(text: str) -> None:
    assert _comp(text) == [], text


HELDOUT3 = HELDOUT.with_name("compensation_heldout3.jsonl")


def test_heldout3_set_precision_and_recall() -> None:
    """Batch 3 scored P 1.000 R 0.731 blind, before the classes above; keep it from sliding back."""
    _assert_holds(HELDOUT3)

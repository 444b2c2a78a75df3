"""Public-reply policy phrases: compensation, overpromise, uncertain.

Patterns run on :func:`policy_view` (NFKC, lower case, katakana read as hiragana, one character per
original character), so ``ゼッタイ`` and ``ぜったい`` and ``絶対`` differ only by the listed spellings.
Each rule may carry a *veto*: a pattern that, found in the same sentence after the match, means the
phrase is not a promise (``必ずご確認ください`` is an instruction, ``返金できかねます`` a refusal).
An ``uncertain`` phrase in a sentence that ends in ``?``/``？`` is a question or a suggestion, not a claim.

``compensation`` is decided by a small grammar instead of one pattern per phrase (see the section
below): an offer object and a first-person offer verb in one clause, with vetoes for conditions,
questions, refusals, instructions and quoted speech.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import jaconv

from .normalize import View

__all__ = ["COMPENSATION_RULES", "POLICY_RULES", "PolicyRule", "find_policy"]


def _p(pattern: str) -> re.Pattern[str]:
    return re.compile(jaconv.kata2hira(unicodedata.normalize("NFKC", pattern)), re.IGNORECASE)


@dataclass(frozen=True)
class PolicyRule:
    category: str
    rule: str
    pattern: re.Pattern[str]
    message: str
    suggestion: str
    veto_after: re.Pattern[str] | None = None  # searched from the match to the end of its sentence
    veto_before: re.Pattern[str] | None = None  # searched in the 30 characters before the match


_REQUEST = _p(
    r"(ください|下さい|願います|お願い|ないで|ないよう|しないこと|お控え|おやめ|禁止|ご注意|ご確認|ご用意|ご持参|"
    r"ご記入|ご入力|お持ち|お忘れなく|必要(です|があります|となります))"
)
_NEG_AFTER = _p(r"(でき(ません|かね|ない)|いたしかね|致しかね|しかね|わけで(は|も)|ません|ございません|ない)")
_EN_NEG_BEFORE = _p(r"(\bnot|\bno|n't|\bcannot|\bunable to|\bnever)\s+(be\s+)?(\w+\s+)?$")
_INTENT = _p(r"(たい|れば|ば|よう|ように)$")

_UNCERTAIN_SUGGESTION = (
    "推測を事実として書かず「確認中です。分かり次第お知らせします」とする / "
    'Say what is known: "We\'re looking into it and will update you as soon as we know."'
)

POLICY_RULES: tuple[PolicyRule, ...] = (
    # --- overpromise -----------------------------------------------------------------------------
    PolicyRule(
        "overpromise",
        "kanarazu",
        _p(r"(必ず|かならず|必ずや)(?!しも)"),
        "「必ず」は結果の約束になります (an absolute promise).",
        "「できる限り」「速やかに確認します」など約束しない表現に / promise the effort, not the outcome",
        veto_after=_REQUEST,
    ),
    PolicyRule(
        "overpromise",
        "zettai",
        _p(r"(絶対|ぜったい|決して)"),
        "「絶対」は結果の保証になります (an absolute promise).",
        "「できる限り対応いたします」のように言い換える / promise the effort, not the outcome",
        veto_after=_REQUEST,
    ),
    PolicyRule(
        "overpromise",
        "guarantee_ja",
        _p(
            r"((100|百)\s*(%|パーセント)\s*(の)?(保証|確実|安全|大丈夫|解決|直り|治り|返金)|"
            r"保証(いた|致)?します|保証させていただ|お約束(いた|致)?します|約束します|確実に(直|治|解決|お届け|届|改善|復旧|対応)|"
            r"間違いなく(直|治|解決|届|お届け|改善|復旧))"
        ),
        "結果を保証する表現です (a guarantee in public).",
        "保証はせず「確認のうえご案内します」とする / describe what you will check instead",
    ),
    PolicyRule(
        "overpromise",
        "never_again_ja",
        _p(
            r"二度と.{0,16}?(ございません|ありません|起こりません|起きません|いたしません|致しません|しません|させません|ないように(いた|致)?します)"
        ),
        "再発しないと約束しています (a promise it will never happen again).",
        "「再発防止に努めてまいります」のように努力を伝える / say you are working to prevent it",
    ),
    PolicyRule(
        "overpromise",
        "guarantee_en",
        _p(r"(?<![a-z])(guarantee[ds]?|guaranteeing)(?![a-z])"),
        '"guarantee" promises an outcome in public.',
        'Promise the effort, not the result: "we\'ll do everything we can".',
        veto_before=_EN_NEG_BEFORE,
    ),
    PolicyRule(
        "overpromise",
        "absolute_en",
        _p(
            r"(?<![a-z])(100\s?%\s?(sure|certain|guaranteed|safe|fixed)|"
            r"(will|won't|wil not)\s+(never\s+)?happen\s+again|never\s+(happen|occur)s?\s+again|"
            r"(definitely|certainly|absolutely)\s+(will|be|fix|resolve|arrive|work)|"
            r"we\s+promise|i\s+promise|promise\s+(you|that))(?![a-z])"
        ),
        "An absolute promise in public.",
        'Promise the effort, not the result: "we\'ll do everything we can".',
    ),
    # --- uncertain -------------------------------------------------------------------------------
    PolicyRule(
        "uncertain",
        "guess_ja",
        _p(
            r"(たぶん|多分|おそらく|恐らく|かもしれ(ません|ない)|かも(です|しれ)|と思われ(ます|る)|(はず|筈)(です|だ)|"
            r"(?<!いかが)でしょう(?!か)|だろう(?!か)|(て|で)いるようです|みたいです|らしいです)"
        ),
        "推測を事実のように述べています (a guess stated as fact).",
        _UNCERTAIN_SUGGESTION,
    ),
    PolicyRule(
        "uncertain",
        "think_ja",
        _p(r"(と|かと)(思い|存じ)ます"),
        "「〜と思います」は推測です (a guess).",
        _UNCERTAIN_SUGGESTION,
        veto_before=_INTENT,
    ),
    PolicyRule(
        "uncertain",
        "guess_en",
        _p(
            r"(?<![a-z])(probably|maybe|perhaps|presumably|most\s+likely|i\s+think|we\s+think|i\s+guess|"
            r"i\s+believe(?!\s+in)|we\s+believe(?!\s+in)|it\s+seems|seems\s+to\s+be|might\s+be|could\s+be\s+(due|caused|related)|"
            r"may\s+be\s+(fixed|resolved|due|caused|related|back)|"
            r"should\s+be\s+(fixed|resolved|back|working|fine|ok|okay|up|restored|delivered|available|arriving|"
            r"shipped|sorted|ready|live|there)|should\s+(arrive|reach\s+you|work\s+now|be\s+resolved))(?![a-z])"
        ),
        "A guess stated as fact.",
        _UNCERTAIN_SUGGESTION,
    ),
)

_SENTENCE_END = re.compile(r"[。．.!！?？\n]")
_QUESTION_MARKS = frozenset("?？")


# --- compensation: a small grammar ------------------------------------------------------------------
#
# A reply promises compensation when one clause has an OFFER OBJECT (money, a refund, credit, points, a
# coupon or gift card, replacement goods, a fee, something free) and an OFFER VERB in the first-person
# future or humble form (お送りします, お返しいたします, 付与させていただきます, 応じます; we'll send, I can
# refund, you'll get ... back), with anything in between (amounts, counters, brackets, adverbs). Some verbs
# are offers on their own (返金いたします, 免除いたします, we'll refund / reimburse / waive). Fee waivers are
# negative forms (請求いたしません, いただきません, we won't charge you), and an exception marker (今回に限り,
# 特別に, as an exception, just this once) with a first-person predicate is an offer too.
#
# Not a promise, so not flagged: policy talk and conditions (場合, 条件, 以内, 対象, 期間内, policy,
# eligible, if ...), unless the sentence also says it is an apology or an exception for this customer;
# refusals (返金いたしかねます, we can't refund: the verb patterns never match a negated verb); questions
# (a sentence ending in ?/？ or か); instructions and links (返金手続きはこちら, 返金の手順をお送りします:
# an object followed by 方法/手順/申請/条件/policy/form is not the thing offered); quoted speech
# (「全額返金します」と連絡するアカウント; any phrase wholly inside 「」『』“” or "...": we never DM customers
# saying "we'll refund you").
#
# Compensation already granted to this customer (返金いたしました, クーポンをお送りしました, we've refunded
# your order, the refund was processed on ...) is not a promise, but it is compensation announced in
# public: other customers read it as a precedent, and an agent could state it without the decision having
# been made. It is reported as ``granted_ja`` / ``granted_en`` under ``compensation`` (so
# the two-person rule applies). How refunds work in general (返金は5営業日以内に反映されます, refunds take 5-10 days)
# stays unflagged.
#
# The object and verb vocabularies are classes, not phrase lists:
# - a quantity with a currency, point, mile, in-game currency or "N months of service" unit is an offer
#   object (5,000マイル, ダイヤ500個, 2,000 bonus miles, two months of service); a bare count (10回分, 3個) is
#   one only next to a granting verb (付与, 配布, 加算) or in a sentence that makes up for something (お詫び);
# - giving verbs include paying, transferring, crediting and taking off (お支払い, お振り込み, 配布, お引き,
#   差し引き from ご請求額, credit, deposit, transfer, knock off), honouring and reinstating (honor the sale
#   price, reinstate your points), and "I'll have X shipped";
# - a fee, charge or bill with a cancel / waive / reverse / remove / not-needed verb (手数料は取り消し/不要と
#   させていただきます, 年会費のご請求は取り消させていただきます, we'll reverse the late fee, you won't need to
#   pay); anything first-person done "for free" / "free of charge" / "at no cost";
# - special treatment: a higher rank or class (会員ランクを引き上げ, お部屋をアップグレード) or a longer validity;
# - granted forms of all of these (配布いたしました, 取消処理を行いました, the fee has been reversed, I've
#   removed the fee, your double charge has been refunded).
# - price reductions and set-offs on this customer's bill (減額, 相殺, 値引き, 返戻, ご返金申し上げます), a fee
#   not taken before what we do (手数料は頂戴せず、…; 工賃は無料とし、…), anything done 無料で/無償で
#   (無償で切り替えいたしました), プレゼントさせていただきます, and this customer's charge stated as free
#   (お客様の今回の修理代金は無償となります; 次回の送料は無料です only when the reply apologises);
# - in English, other senders (email/text you a voucher, "our team will send you ..."), the gift as the
#   subject ("a credit of $10 will appear on your bill", "the tuition will be refunded to you", "your next
#   delivery is free", ", on us") and "we've arranged / bumped you up / went ahead and refunded".
# - (held-out batch 3) named fees ending in 料 (受講料) and the same goods again (同じ商品を改めて…); refunds
#   handled (返金を手続きいたしました, ご返金を済ませております, I've processed a refund, refunded to your card);
#   fees we will not take (頂戴しないことといたしました, 発生しないよう…手続きいたします); at our cost or the same price
#   (弊社負担で, 同料金のまま, 手数料なしで, at the same price, lowered "by $200/10%"); anything this customer gets
#   "at no cost to you" / "without charge" in a will/on-its-way/has-been clause; our team/partner/technician as
#   the giver; a party on our side that agreed to pay (配送業者から返金する旨の連絡, the hotel has agreed to
#   refund); お客様に限り (not 会員のお客様に限り) and "make an exception" / 通常は…が、今回は override conditions.
#   A rule in the present tense ("repairs under warranty are at no cost to you", 送料は弊社負担です) is policy.
# A fee taken off a refund (返金額から手数料を差し引かせていただきます) is not an offer; 本日より is a condition
# (a store-wide start date) unless the reply apologises to this customer.
# General facts that share the vocabulary stay unflagged because they have no first-person offer verb
# (マイルは搭乗後に加算されます, points are added within 3 days) or carry a condition word (年会費は初年度無料
# です has no offer verb; fees are waived for members, 申請者の口座へお振込みします are policy).
#
# Matching runs on a compact copy of the policy view: spaces and ・ between Japanese characters are
# dropped (「全 額 返 金」, 「ご・返・金」), runs of single spaced Latin letters are joined ("r e f u n d"),
# curly apostrophes read as "'"; every character keeps its original offset.

_COMP_SUGGESTION = (
    "公開返信では約束せず「詳細をDMでお伺いします」とする / don't promise compensation publicly; move it to DM"
)


def _comp(rule: str, pattern: str, message: str) -> PolicyRule:
    return PolicyRule("compensation", rule, _p(pattern), message, _COMP_SUGGESTION)


_CJK_CH = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff々〆ー]")
_SPACED = re.compile(
    r"[\u3040-\u30ff\u3400-\u9fff々][ \t・][\u3040-\u30ff\u3400-\u9fff々]|"
    r"(?<![a-z])[a-z] [a-z] [a-z](?![a-z])|[‘’\u3099\u309a]"
)


def _compact(view: View) -> View:
    """Drop spacing inside Japanese and inside spaced-out Latin words; keep original offsets."""
    t = view.text
    if not _SPACED.search(t):
        return view
    out: list[str] = []
    origin: list[int] = []
    n = len(t)
    for i, ch in enumerate(t):
        if ch in " \t・" and 0 < i < n - 1:
            prev, nxt = t[i - 1], t[i + 1]
            if ch != "・" and _CJK_CH.match(prev) and _CJK_CH.match(nxt):
                continue
            if (
                ch == "・"
                and _CJK_CH.match(prev)
                and _CJK_CH.match(nxt)
                and ((i >= 2 and t[i - 2] == "・") or (i + 2 < n and t[i + 2] == "・"))
            ):
                continue
            if (
                ch == " "
                and prev.isascii()
                and prev.isalpha()
                and nxt.isascii()
                and nxt.isalpha()
                and (i < 2 or not t[i - 2].isalpha())
                and (i + 2 >= n or not t[i + 2].isalpha())
            ):
                continue
        if ch in "\u3099\u309a" and out:  # half-width ﾎﾟ reads as two characters in the view: compose them
            composed = unicodedata.normalize("NFC", out[-1] + ch)
            if len(composed) == 1:
                out[-1] = composed
                continue
        out.append("'" if ch in "‘’" else ch)
        origin.append(view.origin[i])
    return View("".join(out), tuple(origin))


_SENT = re.compile(r"[^。．!！?？\n]*(?:[。．!！?？\n]+|$)")
_PERIOD = re.compile(r"\.(?=\s|$)")


def _sentences(t: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for m in _SENT.finditer(t):
        a, b = m.start(), m.end()
        if a == b:
            continue
        # an English full stop ends a sentence only before a space or the end ("$1.50", "example.com")
        cut = a
        for p in _PERIOD.finditer(t, a, b):
            out.append((cut, p.end()))
            cut = p.end()
        if cut < b:
            out.append((cut, b))
    return out


# Japanese -----------------------------------------------------------------------------------------

_AMOUNT = (
    r"(\d[\d,，.]*\s*(円|えん|ドル|ユーロ|ポンド|元|ウォン|pt|ぽいんと|ポイント|%|％|パーセント|割(?!れ)|マイル|"
    r"ダイヤ|ジェム|コイン|石|[ヶケかカヵ]月分|日分|泊)|"
    r"[¥￥$€£]\s*\d)"
)
# a bare count (500個, 10回分, 3枚) is an offer object only next to a granting verb (付与, 配布, 進呈...) or in
# a sentence that says it makes up for something (お詫び, 補填): 「商品3個を明日お送りします」 is an order
_COUNT_JA = _p(
    r"\d[\d,，.]*\s*(個|枚|本|回分|回|点|日分|日間|週間|[ヶケかカヵ]月|年|チケット|gb|mb|ギガ)|チケット|アイテム"
)
_GRANT_VERB_JA = _p(
    r"(付与|加算|積算|追加|チャージ|配布|進呈|贈呈|プレゼント|差し上げ|補填|補てん|お振り?込み|振込|還元)"
)
_MAKE_UP_JA = _p(r"(お詫び|おわび|補填|補てん|補償|埋め合わせ|ご迷惑|ご不便|申し訳)")
# Offer objects: money and fees, refunds, points, credit, coupons and gift cards, replacement goods, free.
_OBJ_JA = _p(
    r"(返金|へんきん|払い?戻し?|払戻|全額|ぜんがく|半額|差額|代金|お代|料金|利用料|使用料|基本料|通信料|会費|月額|"
    r"送料|配送料|運賃|手数料|キャンセル料|延滞料|工賃|費用|[一-龥ー]代(?!金)(?=[をはもの]|につき)|" + _AMOUNT + r"|"
    r"(?<![資材原飲食燃塗肥香染味史])(?<=[一-龥])料(?![理亭])|(同じ|同一の?)(商品|品|もの|製品|品物)|"
    r"ポイント|くーぽん|クーポン|[一-龥ァ-ヶ]券|ギフト|(図書|商品|プリペイド|(?<![a-z])(?!(sim|sd|ic|id|usb|nfc)カ)[a-z]{2,5})カード|"
    r"クレジット(?!カード)|"
    r"キャッシュバック|割引|割り引|値引|オフ|"
    r"交換品|交換用|代替(品|機|器)?|代品|代わりの(商品|品|もの|製品|機種)|新品|新しい(もの|商品|製品|品)|差し?替え品|"
    r"粗品|お詫びの品|品物|記念品|ノベルティ|プレゼント|補償金|見舞金|お見舞い金|慰謝料|解決金|補填|補てん|"
    r"((ご)?請求(額|金額|分)?|お会計|ご利用(額|金額))(?=(から|より))|"
    r"上位の(お部屋|客室|プラン|クラス|お席|座席|機種|モデル|グレード)|延長保証|"
    r"マイル|ダイヤ(モンド)?|ジェム|ゲーム内(通貨|コイン)|[有無]償石|魔法石|コイン(?!ランドリー|ロッカー|パーキング)|"
    r"無料|無償|むりょう|むしょう|ただで|返品|アップグレード|保証期間)"
    # ... but not when it only modifies what is talked about: 返金の手順, 交換方法, refund form
    r"(?!(の|に)?(ご|お)?(方法|手順|手続き(?!を)|申請|申し込み|フォーム|ぽりしー|規定|規約|条件|状況|可否|有無|対象|"
    r"期限|有効期限|残高|使い方|使用方法|計算|件|確認|受付|窓口|ページ|案内|について|に関して|に関する|かどうか|"
    r"額の|の方法|の手順))"
)
_HUMBLE = (
    r"((いた|致)します|します|させて(いただ|頂)きます|いたしますね|申し上げます|"
    r"させて(いただ|頂)(ければと|きたく)(存じ|思い)ます)(?!か)"
)
_HUMBLE_PAST = r"((いた|致)しました|しました|させて(いただ|頂)きました|申し上げました|を?(行い|実施(いた|致)?し)ました)"
# verbs that are an offer on their own (no object needed)
_SELF_JA = (
    r"(返金|へんきん|払い?戻し|払戻|弁償|補償|賠償|補填|補てん|キャッシュバック|免除|無償交換|無料交換|減額|相殺(?=させ)|返戻|"
    r"値引き?|ぷれぜんと(?=させ)|"
    r"さーびす(?=(いた|致)し|し|させ)|(無料|無償|むりょう|半額|全額|ただ|(?<![\d,.])0円|ゼロ)(と|に)|"
    r"(返金|払い?戻し|交換|返品)(の)?(処理|手続き)を(進め|開始|行い|行わせて|始め))"
)
# verbs that transfer an offer object
_GIVE_JA = (
    r"((お|ご)?(送り|届け|贈り|返し|戻し|取り?替え|取り?換え|付け|作り直し|渡し|貸し)|相殺|プレゼント|"
    r"付与|加算|進呈|贈呈|送付|発送|再発送|再送|郵送|同封|手配|発行|再発行|適用|延長|負担|割引|値引き?|交換|修理|"
    r"(お|ご)?(支払い?|振り?込み?|招待)|お引き|配布|還元|返還|積算|追加|チャージ|"
    r"アップグレード|提供|ご?用意|ご?対応|受付|ように)"
)
_GIVE_JA_GODAN = (
    r"(差し上げ|払い戻し|払い戻|割り引き|差し引き|受け付け|お受けいたし|承り|応じ|持ち|お持ちし)ます(?!か)|"
    r"(払い戻さ|差し引か|割り引か|受け付けさ)せて(いただ|頂)きます"
)
_GIVE_JA_GODAN_PAST = r"(差し上げ|払い戻し|割り引き|差し引き|受け付け|お受けいたし|応じ)ました"
_FEE_JA = r"(料金?|代金?|お代|費用?|手数料|運賃|工賃|会費|違約金|延滞金|損害金|解約金)"
_FEE_OBJ_JA = _FEE_JA + r"(の(ご)?請求(額|分)?)?|(ご)?請求(額|分|金額)"
_CANCEL_JA = r"(取り?消し?|取消|キャンセル|免除|不要|無料|無し|なし|ゼロ|0円)(と|に|を)?"
_RE_FEE_CANCEL_JA = _p(
    r"(" + _FEE_OBJ_JA + r")(は|も|を|につきましては|については)[^。．!！?？\n]{0,12}?"
    r"(" + _CANCEL_JA + r"\s*" + _HUMBLE + r"|取り?消させて(いただ|頂)(きます|ければと存じます))"
)
_RE_FEE_CANCEL_JA_PAST = _p(
    r"(" + _FEE_OBJ_JA + r")(は|も|を|につきましては|については)[^。．!！?？\n]{0,12}?"
    r"(" + _CANCEL_JA + r"\s*" + _HUMBLE_PAST + r"|取り?消させて(いただ|頂)きました|"
    r"(取り?消し?|取消|免除|返金)(の)?(処理|手続き)?(は|が)?(完了(いた|致)?しました|済みです|済んでおります))"
)
# 返金・取消の処理を行いました: a cancellation is compensation when a fee, a refund or money is in the sentence
_RE_PROCESS_JA_PAST = _p(
    r"(返金|払い?戻し|取り?消し?|取消|補填|補てん|付与|加算|お振り?込み|振込)(の)?(処理|手続き|手配)を"
    r"[^。．!！?？\n]{0,6}?(行い|実施(いた|致)?し|完了(いた|致)?し|させて(いただ|頂)き|(いた|致)し|し)ました"
)
_RE_MONEY_JA = _p(r"(請求|返金|" + _FEE_JA + r"|円|\d\s*(pt|ポイント|マイル))")
# special treatment to this customer: a higher rank or class, a longer validity
_RE_SPECIAL_JA = _p(
    r"((会員)?ランク|ステータス|グレード|クラス|会員(資格|種別)|お部屋|客室|座席|お席)[^。．!！?？\n]{0,15}?"
    r"(引き上げ|格上げ|ランクアップ|アップグレード)(を|に|と)?\s*(" + _HUMBLE + r"|" + _HUMBLE_PAST + r")|"
    r"(有効期限|利用期限|使用期限|保証期間|無料期間|お試し期間|チェックアウト|ご利用期間|会員期間|トライアル)"
    r"[^。．!！?？\n]{0,15}?延長(を|に|と)?\s*"
    r"(" + _HUMBLE + r"|" + _HUMBLE_PAST + r")"
)
_RE_SPECIAL_CUE_JA = _p(r"(延長|引き上げ|格上げ|ランクアップ|アップグレード)")
# 全額ご返金となります: the refund of this order, stated as the outcome
_RE_REFUND_OUTCOME_JA = _p(
    r"(全額|半額|差額|\d[\d,，.]*\s*円(分)?|代金|料金|送料)(を|は|も|の)?\s*(ご)?(返金|払い?戻し)(と|に)なります"
)

# a refund handled or settled: 返金を先ほど手続きいたしました, ご返金を済ませております
_RE_REFUND_DONE_JA = _p(
    r"(返金|払い?戻し|補填|補てん|弁償)を[^。．!！?？\n]{0,10}?((手続き|処理|手配)(を)?\s*("
    + _HUMBLE
    + r"|"
    + _HUMBLE_PAST
    + r")|済ませ(ております|ました))"
)
# a fee we will not take: 料金は頂戴しないことといたしました, 解約金は発生しないよう手続きいたします
_RE_FEE_NOT_JA = _p(
    _FEE_JA + r"(は|も|を|が)[^。．!！?？\n]{0,12}?((頂戴|請求|ご請求)(いた|致)?しない|いただかない|頂かない)"
    r"こと(と|に)\s*("
    + _HUMBLE
    + r"|"
    + _HUMBLE_PAST
    + r")|"
    + _FEE_JA
    + r"(は|も|が)[^。．!！?？\n]{0,6}?(発生しない|かからない|掛からない|生じない)(よう|ように)"
    r"[^。．!！?？\n]{0,20}?(" + _HUMBLE + r"|" + _HUMBLE_PAST + r")"
)
# at our cost: 弊社負担で修理を承ります; the same price for more: 同料金のままスイートルームへ変更させていただきます
_RE_OUR_COST_JA = _p(
    r"((弊社|当社|当店|当方|こちら|私ども|わたくしども)(の)?(負担|持ち)|(同|同じ)(料金|価格|金額|お値段)(のまま)?|同額|"
    r"追加(料金|費用)(なし|無し)|差額(なし|無し))(のまま|で)[^。．!！?？\n]{0,30}?"
    r"(" + _HUMBLE + r"|" + _HUMBLE_PAST + r"|" + _GIVE_JA_GODAN + r"|" + _GIVE_JA_GODAN_PAST + r")"
)
# a third party on our side agreed to pay: 配送業者から送料を返金する旨の連絡がございました
_RE_PARTY_JA = _p(
    r"(返金|払い?戻し|補償|弁償|補填|補てん|免除)(を)?(する|いたす|致す|させていただく|を行う|に応じる)(旨の?|との|という)(ご)?"
    r"(連絡|回答|返答|報告|確認|返事)(が|を)?\s*(ございました|ありました|(いただ|頂)き(ました|ましたので)|"
    r"(受け|いただい|頂い)て?おります|受けました|入りました)"
)

_RE_SELF_JA = _p(_SELF_JA + r"(を|に|と)?\s*" + _HUMBLE)
_RE_GIVE_JA = _p(_GIVE_JA + r"(を|に|と)?\s*" + _HUMBLE + r"|" + _GIVE_JA_GODAN)
_RE_SELF_JA_PAST = _p(
    _SELF_JA + r"(を|に|と)?\s*" + _HUMBLE_PAST + r"|(返金|払い?戻し|きゃっしゅばっく)(の)?(手続き|処理)?(は|が)?"
    r"[^。．!！?？\n]{0,20}?(完了(いた|致)?しました|完了しております|完了となりました|済みです|済んでおります)"
)
_RE_GIVE_JA_PAST = _p(_GIVE_JA + r"(を|に|と)?\s*" + _HUMBLE_PAST + r"|" + _GIVE_JA_GODAN_PAST)
_RE_WAIVE_JA = _p(
    _FEE_JA
    + r"(は|も|を)[^。．!！?？\n]{0,12}?(請求(いた|致)?しません|頂戴(いた|致)?しません|いただきません|頂きません|"
    r"結構です|不要です|いただかないこととします)|(ご)?負担(は|も)(ございません|ありません|いただきません)"
)
# anything first-person done for free: 無料で再訪問させていただきます, 無償で切り替えいたしました (the verb
# directly follows; 「無料でお試しいただけるプランをご案内いたします」 names a plan, so を/が/は stop the match)
_FREE_ACT_JA = (
    r"(無料|無償|むりょう|むしょう|(料金?|手数料|費用|送料|追加料金|追加費用)(なし|無し|不要|無料|ゼロ))で"
    r"[^。．!！?？\n、をがは]{0,20}?"
)
_RE_FREE_ACT_JA = _p(_FREE_ACT_JA + r"(させて(いただ|頂)きます|(いた|致)します)(?!か)")
_RE_FREE_ACT_JA_PAST = _p(_FREE_ACT_JA + r"(させて(いただ|頂)きました|(いた|致)しました)")
# a fee not taken, then what we do: 出張費は頂戴せず、…させていただきます; 工賃は無料とし、部品代のみで承ります
_RE_FEE_NOT_TAKEN_JA = _p(
    _FEE_JA + r"(は|も|を)[^。．!！?？\n]{0,12}?(頂戴(いた|致)?せず|いただかず|頂かず|(ご)?請求せず|"
    r"(無料|無償|不要|免除|0円|ゼロ)(と|に)し)[、,][^。．!！?？\n]{0,30}?ます(?!か)"
)
# the bill itself cancelled: 請求を取り消させていただきました
_RE_BILL_CANCEL_JA = _p(
    r"(ご)?請求(額|分|金額)?(を|は|も)\s*((取り?消し?|取消|撤回|キャンセル)(を|に|と)?\s*("
    + _HUMBLE
    + r"|"
    + _HUMBLE_PAST
    + r")|取り?消させて(いただ|頂)き(ます|ました))"
)
# this customer's charge stated as free: お客様の今回の修理代金は無償となります; 次回の送料は無料です (the
# 次回 form only in a reply that apologises). A plan's 初月無料 is a price list, not an offer.
_RE_FREE_CHARGE_JA = _p(
    r"(お客様の|今回の|次回の)[^。．!！?？\n]{0,15}?" + _FEE_JA + r"(は|も)\s*(無料|無償|0円|ゼロ|不要)\s*"
    r"(と(なり|させて(いただ|頂)き)ます|です)"
)
_RE_FIRST_TERM_JA = _p(r"(初月|初回|初年度|最初の|入会金)")
# a fee taken off a refund is not an offer: 返金額から振込手数料を差し引かせていただきます
_RE_FROM_REFUND_JA = _p(r"(返金|払い?戻し)(額|金額|分)?(から|より)")
_RE_DEDUCT_JA = _p(r"(差し?引|お引き)")
_RE_EXCEPT_JA = _p(r"(今回に限り|今回限り|今回だけ|今回のみ|特別に|例外的に|例外として|特例として|特例で|特別対応)")
# the first predicate after an exception marker: an offer only when it is affirmative, not past, not a question
_RE_HUMBLE_PAST_END = _p(_HUMBLE_PAST + r"$")
_RE_PRED_JA = _p(r"(かね|でき)?ま(す|せん|した)(か)?")
_RE_COND_JA = _p(
    r"(場合|条件|全品|全商品|対象(?!外(ですが|で(は)?(ございます|あります)が|となりますが))|以内|以上|未満|以降|期間内|期間中|(?<!今回)に限り|(?<!今回)限ります|であれば|"
    r"(?<!いただけ)(?<!頂け)(?<!くださ)(?<!差し支えなけ)(?<!差支えなけ)(?<!よろしけ)れば|(?<!でし)たら(?!い)|ならば|のなら|の方は|の方に|皆様|全員|毎月|毎回|通常|原則|"
    r"規約|規定|ぽりしー|ルール|(申請|対象|利用|加入|受給|購入)者(?!様)|(本日|明日|\d+日)より|キャンペーン|先着|抽選|に応じて|によって|ごとに|(?<![手実国交])際(は|に)|かどうか|可否|有無)"
)
# a reply-wide apology (申し訳ございませんが… introduces a refusal, so not that form)
_RE_SORRY_JA = _p(r"申し訳(ござい|あり)ません(でした)?(?![がけ])")
_RE_COND_WEAK_JA = _p(r"(本日|明日|\d+日)より")
_RE_APOLOGY = _p(
    r"(お詫び|おわび|ご迷惑をおかけ|ご不便をおかけ|今回に限り|今回限り|今回だけ|今回のみ|特別に|例外的に|例外として|特例|"
    r"(?<![のたるな])お客様に限り|(通常|普段|本来)[^。．!！?？\n]{0,30}?(が|けれど(も)?)、?今回(は|に限り)|(?<![a-z])(make|making)\s+an\s+exception(?![a-z])|"
    r"(?<![a-z])(as\s+an\s+apology|apolog|sorry|for\s+the\s+(trouble|hassle|inconvenience|wait|delay)|goodwill|"
    r"just\s+this\s+once|as\s+an?\s+(one-time\s+|special\s+)?exception|this\s+time)(?![a-z]))"
)
_RE_QUOTED = _p(r"^\s*([」』\"”]|(と|って)(の|いう|言|連絡|書|案内する|申|する|称))")
# quoted speech in any script: a phrase wholly inside quotation marks is reported, not said
_RE_QUOTE_SPAN = re.compile(r'"[^"\n]{1,300}"|“[^”\n]{1,300}”|「[^」\n]{1,300}」|『[^』\n]{1,300}』')
_RE_QUESTION_JA = _p(r"(か|かね|でしょうか)[。．\s]*$")

# English -----------------------------------------------------------------------------------------

_W = r"[^.!?\n]"  # inside one sentence
_DONE_EN = r"(shipped|sent|mailed|delivered|dispatched|couriered|issued|credited|applied|added)"  # "have it sent"
_NUM_EN = r"(a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)(?![a-z])"
_FEE_EN = (
    r"(?<![a-z])((late|annual|monthly|service|cancell?ation|rebooking|change|reconnection|delivery|shipping|"
    r"restocking|overdraft|booking|card|membership|subscription)\s+)?(fee|fees|charge|charges|fine|fines|penalty|"
    r"penalties|surcharge)(?![a-z])"
)
_OBJ_EN = (
    # every branch starts with a letter, a digit or a currency sign: the lookahead only makes the scan faster
    r"(?=[a-z\d$£€¥])((?<![a-z])(refund|reimbursement|credit|voucher|coupon|gift\s?card|gift\s+certificate|points|discount|"
    r"promo\s+code|free(?!\s+(guide|guides|tips|tutorial|webinar|video|resources?|checklist|e-?book|download|app|"
    r"newsletter|advice|info|information|updates?)(?![a-z]))|freebie|complimentary|replacement|upgrade|money\s+back|no\s+(extra\s+)?(charge|cost)|"
    r"on\s+us|on\s+the\s+house|new\s+(one|unit|pair|item|device|set)|another\s+(one|unit|pair)|exception|"
    r"(bonus|award|expired|lost|missing|your)\s+(miles|points)|gems|coins|diamonds|crystals|jewels|full\s+amount|"
    r"(sale|original|promo(tional)?|advertised|old|previous|discounted|quoted|listed|lower|earlier|member)\s+"
    r"(price|prices|pricing|rate|fare|deal))(?![a-z])|"
    r"\d+\s?%|[$£€¥]\s?\d[\d,.]*|(?<![a-z])(extra|free|bonus|additional)\s+\d[\d.]*\s?(gb|mb|tb|gigs?)(?![a-z])|\d[\d,.]*\s?(dollars|euros|pounds|yen|usd|eur|gbp|jpy|pts?)(?![a-z])|"
    r"(?<![a-z])(\d[\d,.]*|" + _NUM_EN + r")\s+(bonus\s+|extra\s+|free\s+|additional\s+)?"
    r"(miles|points|gems|coins|diamonds|crystals|jewels|tokens|credits|tickets|stars)(?![a-z])|"
    r"(?<![a-z])(\d[\d,.]*|" + _NUM_EN + r")\s+(free|extra|bonus|additional)\s+(months?|weeks?|days?|years?|nights?)"
    r"(?![a-z])|(?<![a-z])(\d[\d,.]*|" + _NUM_EN + r")\s+"
    r"(months?|weeks?|days?|years?|nights?)\s+(of\s+(free\s+)?(service|subscription|premium|membership|access|"
    r"streaming|storage|data|[a-z]+\s+service)|free|on\s+us)(?![a-z]))"
    r"(?!\s+(policy|policies|request|requests|form|process|status|terms|conditions|options?|page|details|"
    r"eligibility|link))"
)
_RE_OBJ_EN = _p(_OBJ_EN)
_SUBJ_EN = (
    r"(?<![a-z'])((we|i)('ll|\s+will|\s+shall|\s+can|\s+could|'d|\s+would|'re|\s+are|'m|\s+am)|"
    r"let\s+(me|us)|allow\s+(me|us)\s+to|"
    r"our\s+([a-z]+\s+)?(team|staff|department|manager|specialists?|agents?|store|shop|office|technicians?|engineers?|"
    r"partners?|couriers?|drivers?|support)('ll|\s+will|\s+can|\s+shall|\s+would|'s|\s+is|\s+are))"
)
# "Happy to give you your money back": a sentence that opens with "happy/glad to" speaks for us
_SUBJ_HAPPY_EN = r"^\W*(more\s+than\s+|so\s+|very\s+)?(happy|glad|pleased|delighted)\s+to"
_RE_HAPPY_EN = _p(_SUBJ_HAPPY_EN)
_MID_EN = (
    r"(\s+(also|then|now|just|gladly|happily|fully|personally|definitely|certainly|immediately|promptly|"
    r"right\s+away|be\s+(glad|happy|pleased|delighted)\s+to|(like|love|want)\s+to|going\s+to|happy\s+to|glad\s+to|"
    r"pleased\s+to|delighted\s+to|able\s+to|go\s+ahead\s+and))*\s+"
)
_SELF_EN = (
    r"(refund(ing)?|reimburs(e|ing)|compensat(e|ing)|waiv(e|ing)|comp(?=\s+(you|your|the|it|that|this))|"
    r"credit(ing)?(?=\s+(you|your|\$|£|€|¥|\d|it|the))|replac(e|ing)\s+(it|them|this|that|yours|your\s+[a-z]+)|"
    r"cover(ing)?\s+(the\s+|your\s+|all\s+|any\s+)?((full|entire|whole)\s+)?([a-z]+\s+)?(cost|costs|shipping|postage|fee|fees|bill|"
    r"repair|return|delivery|difference|expenses?|price|fares?|tickets?|charges?)|"
    r"upgrad(e|ing)\s+(you|your\s+([a-z]+\s+)?(seat|room|class|ticket|tier|"
    r"shipping|delivery|flight|car|rental))|"
    r"extend(ing)?\s+(your|the)\s+(free\s+)?(trial|subscription|membership|plan|warranty|coupon|voucher|points|expiry|"
    r"expiration|validity|checkout|stay|access)|return(ing)?\s+(your|the)\s+([a-z]+\s+)?(deposit|money|payment|"
    r"fees?|funds)|bump(ing)?\s+(you|your\s+[a-z]+)\s+up|pick(ing)?\s+up\s+the\s+(tab|bill|cost)|pay(ing)?\s+for\s+(the\s+|your\s+)?(shipping|postage|repair|return|delivery|"
    r"cost|costs|damage|fee)|make\s+an\s+exception|"
    r"(remov(e|ing)|revers(e|ing)|cancel(l?ing)?|void(ing)?|drop(ping)?|writ(e|ing)\s+off|tak(e|ing)\s+off|"
    r"knock(ing)?\s+off|waiv(e|ing)|refund(ing)?)(?![a-z])" + _W + r"{0,30}?" + _FEE_EN + r")(?![a-z])"
)
_GIVE_EN = (
    r"(send(ing)?|ship(ping)?|give|giving|offer(ing)?|issu(e|ing)|provid(e|ing)|add(ing)?|get(ting)?(?!\s+back)|"
    r"mail(ing)?|extend(ing)?|upgrad(e|ing)|swap(ping)?|replac(e|ing)|tak(e|ing)(?!\s+a\s+look)|knock(ing)?|"
    r"put(ting)?|throw(ing)?\s+in|redeliver(ing)?|re-?send(ing)?|apply(ing)?|arrang(e|ing)|accept(ing)?|"
    r"credit(ing)?|deposit(ing)?|transfer(ring)?|honou?r(ing)?|reinstat(e|ing)|restor(e|ing)|re-?issu(e|ing)|"
    r"award(ing)?|grant(ing)?|pay(ing)?|top(ping)?\s+up|e-?mail(ing)?|text(ing)?|"
    r"have(?=" + _W + r"{0,50}?" + _DONE_EN + r"))(?![a-z])"
)
_RE_SUBJ_EN = _p(_SUBJ_EN + "|" + _SUBJ_HAPPY_EN)
_RE_SELF_EN = _p(_SUBJ_EN + _MID_EN + _SELF_EN)
_RE_GIVE_EN = _p(_SUBJ_EN + _MID_EN + _GIVE_EN + r"(?P<mid>" + _W + r"{0,50}?)" + _OBJ_EN)
_RE_SELF_EN_HAPPY = _p(_SUBJ_HAPPY_EN + _MID_EN + _SELF_EN)
_RE_GIVE_EN_HAPPY = _p(_SUBJ_HAPPY_EN + _MID_EN + _GIVE_EN + r"(?P<mid>" + _W + r"{0,50}?)" + _OBJ_EN)
_RE_PROGRESSIVE_EN = _p(r"((we|i)('re|\s+are|'m|\s+am)|our\s+([a-z]+\s+)?[a-z]+('s|\s+is|\s+are))\s+[a-z]+ing(?![a-z])")
_RE_YOU = _p(r"(?<![a-z])(you|your|yours)(?![a-z])")
_RE_ABOUT_EN = _p(
    r"(?<![a-z])(about|regarding|concerning|whether|if|into|details|link|info|information|receipt|invoice|"
    r"confirmation|label|summary)(?![a-z])"
)
_RE_YOU_EN = _p(
    r"(?<![a-z])(you('ll|\s+will)(\s+(also|then|now|soon|still|automatically|shortly))?\s+(get|receive|be\s+getting|"
    r"be\s+receiving)(?![a-z])" + _W + r"{0,50}?(" + _OBJ_EN + r"|(?<![a-z])back(?![a-z]))|"
    r"you('ll|\s+will)\s+(be\s+)?(fully\s+)?(refunded|reimbursed|compensated|credited)(?![a-z])|"
    r"make\s+sure\s+(that\s+)?(you|the\s+[a-z]+|your\s+[a-z]+)" + _W + r"{0,40}?(money\s+back|refunded|reimbursed|"
    r"waived|credited|compensated)|"
    r"(is|are|will\s+be)\s+on\s+us|on\s+the\s+house|"
    r"your\s+" + _W + r"{0,40}?will\s+be\s+(fully\s+)?(refunded|reimbursed|waived|credited|free(\s+of\s+charge)?|"
    r"complimentary|covered)(?![a-z])|"
    r"consider\s+(your|it|this|that)\s+" + _W + r"{0,30}?(free|on\s+us|covered|refunded|waived)(?![a-z])|"
    r"please\s+accept\s+" + _W + r"{0,40}?" + _OBJ_EN + r"|"
    r"here('s|\s+is|\s+are)\s+" + _W + r"{0,20}?" + _OBJ_EN + r"|"
    # the thing is the subject and "you" the receiver: "the tuition for that module will be refunded to you"
    r"(the|that|this|your)\s+" + _W + r"{0,40}?will\s+be\s+(fully\s+)?(refunded|reimbursed|credited|paid\s+back)"
    r"(\s+in\s+full)?\s+to\s+you|"
    r"your\s+next\s+([a-z]+\s+)?[a-z]+\s+(is|will\s+be|'s)\s+(free|on\s+us|complimentary|on\s+the\s+house)|"
    # a gift as the subject: "a credit of $10 will appear on your next bill"
    r"(a|an)\s+([$£€¥]?\d[\d,.]*\s+)?(credit|voucher|coupon|gift\s?card|discount|refund\s+of\s+[$£€¥]?\d[\d,.]*)"
    r"(\s+(of|for)\s+" + _W + r"{1,30}?)?\s+will\s+(appear|show\s+up|arrive|be\s+(applied|added|credited|issued|"
    r"sent|e-?mailed|reflected))" + _W + r"{0,20}?(?<![a-z])your)(?![a-z])|'s\s+on\s+us(?![a-z])|,\s*on\s+us(?![a-z])"
)
# the gift is the subject: "A $50 gift card is on its way", "a new one ships tomorrow" (searched only when a
# sentence has one of the _RE_ON_WAY_CUE words)
_RE_ON_WAY_CUE = _p(r"(way|coming|head|being|ship|go|leav|arriv)")
_RE_ON_WAY_EN = _p(
    r"(?<![a-z])((a|an|your|the|another)\s+" + _W + r"{0,25}?(new\s+one|replacement|refund|credit|voucher|gift\s?card|"
    r"coupon|gift\s+certificate|discount\s+code|promo\s+code)(\s+[a-z]+|\s+(for|of|worth)\s+" + _W + r"{1,40}?)?"
    r"\s+(is|are|will\s+be|'s)\s+"
    r"(already\s+|now\s+)?(on\s+(its|the|their)\s+way|coming|headed|heading|being\s+(sent|processed|issued|shipped|"
    r"prepared))|(a|another)\s+(new|fresh|replacement)\s+(one|unit|pair|set|device|item)\s+(ships|will\s+ship|"
    r"is\s+shipping|goes\s+out|will\s+go\s+out|is\s+being\s+(sent|shipped)|will\s+be\s+(sent|shipped|dispatched)|"
    r"leaves|will\s+arrive|arrives))(?![a-z])"
)
# a fee or charge as the subject of a cancelling verb: promised ("will be") or done ("has been")
_RE_FEE_FUTURE_EN = _p(
    r"(?<![a-z])(the|your|this|that|this\s+year's|this\s+month's)\s+" + _W + r"{0,25}?" + _FEE_EN + r"\s+will\s+be\s+"
    r"(fully\s+)?(refunded|reversed|waived|removed|cancell?ed|voided|credited|dropped|written\s+off)(?![a-z])"
)
_RE_GRANTED_PASSIVE_EN = _p(
    r"(?<![a-z])((your\s+)?(account|wallet|card|balance)\s+(has|have)\s+(now\s+|already\s+|just\s+)?been\s+"
    r"(credited|refunded|topped\s+up)|(fee|fees|charge|charges|fine|fines|penalty|bill|payment|order|purchase|subscription|amount|"
    r"difference|deposit|cost|ticket|booking|fare)\s+(has|have)\s+(now\s+|already\s+|just\s+)?been\s+(fully\s+)?"
    r"(refunded|reversed|waived|credited|reimbursed)|"
    r"(has|have)\s+(now\s+|already\s+|just\s+)?been\s+(fully\s+)?(refunded|reimbursed|credited)\s+(back\s+)?"
    r"(to|into|onto)\s+(your|the\s+original)|"
    r"(the|your|this|that|this\s+year's|this\s+month's)\s+" + _W + r"{0,25}?" + _FEE_EN + r"\s+(has|have)\s+"
    r"(now\s+|already\s+|just\s+)?been\s+(removed|cancell?ed|voided|dropped|written\s+off|taken\s+off))(?![a-z])"
)
_RE_WAIVE_EN = _p(
    r"(?<![a-z])(you\s+(won't|will\s+not)\s+be\s+(charged|billed)|(we|i)\s+(won't|will\s+not)\s+(charge|bill)\s+you|"
    r"there('ll|\s+will)\s+be\s+no\s+(charge|cost|fee)|(we|i)('ve|\s+have)\s+" + _W + r"{0,40}?(?<![a-z])and\s+"
    r"(won't|will\s+not)\s+(charge|bill)\s+you|you\s+(won't|will\s+not)\s+(need|have)\s+to\s+pay|"
    r"no\s+need\s+to\s+pay\s+(the|this|that|for\s+(the|this|that)))(?![a-z])"
)
# any first-person action done for free: "we'll change your flight for free", "I'll re-ship it free of charge"
_FREE_EN = (
    _MID_EN + r"[a-z]+(?![a-z])" + _W + r"{0,40}?"
    r"(?<![a-z])(for\s+free|free\s+of\s+charge|at\s+no\s+(additional\s+|extra\s+)?(cost|charge)|"
    r"without\s+(any\s+)?(additional\s+|extra\s+)?(charge|cost|fee)s?)(?![a-z])"
)
_RE_FREE_EN = _p(_SUBJ_EN + _FREE_EN)
_RE_FREE_EN_HAPPY = _p(_SUBJ_HAPPY_EN + _FREE_EN)
_RE_FREE_CUE = _p(r"(free|no\s+(additional\s+|extra\s+)?(cost|charge)|without)")
# anything this customer gets, done free and promised or under way: "a new charger is on its way to you at no charge",
# "your plan will be bumped up to Pro, free of charge" (a present-tense rule, "repairs are free of charge", is policy)
_RE_FREE_ANY_EN = _p(
    r"(?<![a-z])((we|i|our\s+([a-z]+\s+)?[a-z]+|your\s+([a-z]+\s+)?[a-z]+)('ll|\s+will|\s+has\s+been|\s+have\s+been)|"
    r"on\s+(its|their)\s+way|being\s+(sent|shipped|prepared))(?![a-z])"
    + _W
    + r"{0,80}?(?<![a-z])(free\s+of\s+charge|at\s+no\s+(additional\s+|extra\s+)?(cost|charge)|"
    r"without\s+(any\s+)?(additional\s+|extra\s+)?(charge|cost|fee)s?)(?![a-z])"
)
# a price lowered for this customer: "we can lower your quote by $200", "we're discounting this month's fees by 10%";
# more for the same price: "we'll have a larger model ready for you at the same price"
_RE_LOWER_EN = _p(
    _SUBJ_EN
    + _MID_EN
    + r"(lower(ing)?|reduc(e|ing)|cut(ting)?|discount(ing)?|drop(ping)?|bring(ing)?\s+down)\s+"
    + r"(your|this\s+(month|week|year|term)'s)\s+"
    + _W
    + r"{0,30}?(quote|price|bill|invoice|fee|rate|total|cost|subscription|rent|fare|tuition)s?(?![a-z])"
    + _W
    + r"{0,20}?(?<![a-z])by\s+([$£€¥]\s?\d|\d[\d.]*\s?%)|"
    + _SUBJ_EN
    + _W
    + r"{0,60}?(?<![a-z])(larger|bigger|better|higher|nicer|premium|upgraded|newer|faster|suite)(?![a-z])"
    + _W
    + r"{0,40}?(?<![a-z])(at|for)\s+(the\s+)?same\s+(price|rate|cost|fare)(?![a-z])"
)
# "we'll give you your money back"
_RE_BACK_EN = _p(
    _SUBJ_EN + _MID_EN + r"(give|giving|pay(ing)?|hand(ing)?)\s+(you\s+)?(your|the)\s+([a-z']+\s+){0,2}?back(?![a-z])"
)
# a party on our side agreed to pay: "our courier partner has confirmed they'll reimburse you"
_RE_PARTY_EN = _p(
    r"(?<![a-z])(our|the)\s+([a-z]+\s+)?(partners?|couriers?|carriers?|hotels?|airlines?|suppliers?|manufacturers?|"
    r"vendors?|insurers?|merchants?|restaurants?|venues?|operators?)\s+(has|have)\s+(now\s+|already\s+)?"
    r"(confirmed|agreed|promised|told\s+us|let\s+us\s+know|offered)\s+(that\s+)?(they('ll|\s+will)|it('ll|\s+will)|to)"
    r"\s+(fully\s+)?(refund|reimburse|compensate|cover|waive|credit|replace|pay\s+for)(?![a-z])"
)
_RE_EXCEPT_EN = _p(
    r"(?<![a-z])(as\s+an?\s+(one-time\s+|one-off\s+|special\s+)?exception|just\s+this\s+once|this\s+one\s+time|"
    r"as\s+a\s+(one-time|one-off|special|goodwill)\s+(exception|gesture))(?![a-z])"
)
_RE_GRANTED_EN = _p(
    r"(?<![a-z'])((we|i|our\s+([a-z]+\s+)?(team|staff|department|manager|support|partner|courier))"
    r"(('ve|\s+have|\s+has)(\s+(just|already|now|gone\s+ahead\s+and))*|(\s+(just|already))?\s+went\s+ahead\s+and)"
    r"\s+(refunded|reimbursed|credited|waived|"
    r"compensated|comped|made\s+an?\s+(one-time\s+|special\s+)?exception|bumped\s+(you|your\s+[a-z]+)\s+up|"
    r"(issued|re-?issued|processed|initiated|approved|sent|re-?sent|added|applied|given|mailed|shipped|deposited|transferred|arranged|e-?mailed|"
    r"extended|upgraded|restored|reinstated|honou?red|paid|knocked|awarded|granted|topped\s+up)"
    + _W
    + r"{0,40}?"
    + _OBJ_EN
    + r"|upgraded\s+(you|your\s+([a-z]+\s+)?(seat|room|class|ticket|tier|flight))|"
    r"(taken|knocked|wiped)\s+(it|that|this|them)\s+off\s+(your|the)\s+(bill|account|invoice|statement|order|total)|"
    r"(removed|reversed|cancell?ed|voided|dropped|written\s+off|taken|refunded)" + _W + r"{0,30}?" + _FEE_EN + r")|"
    r"(the|your)\s+refund\s+(has\s+been|was|is\s+now)\s+(processed|issued|completed|sent|approved|paid))(?![a-z])"
)
_RE_COND_EN = _p(
    r"(?<![a-z])(if|unless|whether|eligible|eligibility|qualify|qualifies|policy|terms|entitled|provided\s+that|"
    r"as\s+long\s+as|during\s+the|(for|to)\s+(all|every)\s+(users?|customers?|players?|subscribers?|members?)|"
    r"for\s+everyone|any\s*time|usually|normally|generally|members?|orders?\s+over|anyone|anybody|everyone|everybody|"
    r"(when|once|after)\s+you\s+(sign|refer|subscribe|join|buy|purchase|spend|switch|upgrade|withdraw|cancel|register)|"
    r"(can't|cannot|can\s+not|unable\s+to|not\s+able\s+to)\s+(promise|say|confirm|guarantee))(?![a-z])"
)

_MSG_PROMISE = "補償・返金・特典を公開の場で約束しています (compensation promised in public)."
_MSG_WAIVE = "料金の免除を公開の場で約束しています (a fee waived in public)."
_MSG_EXCEPT = "例外・特別対応を公開の場で約束しています (an exception promised in public)."
_MSG_GRANTED = (
    "この方への補償・返金の実施を公開の場で述べています。約束ではありませんが他の方への先例になります "
    "(compensation to this customer announced in public)."
)

COMPENSATION_RULES: tuple[PolicyRule, ...] = (
    _comp("promise_ja", _GIVE_JA, _MSG_PROMISE),
    _comp("waiver_ja", _FEE_JA, _MSG_WAIVE),
    _comp("exception_ja", r"(今回に限り|特別に|例外的に|特例)", _MSG_EXCEPT),
    _comp("granted_ja", _SELF_JA, _MSG_GRANTED),
    _comp("promise_en", _SUBJ_EN, _MSG_PROMISE),
    _comp("waiver_en", r"charge", _MSG_WAIVE),
    _comp("exception_en", r"exception", _MSG_EXCEPT),
    _comp("granted_en", r"refund", _MSG_GRANTED),
)
_COMP = {r.rule: r for r in COMPENSATION_RULES}
_TRIGGER = _p(
    r"(返金|へんきん|戻|返し|代|料|費|負担|券|ポイント|くーぽん|クーポン|ギフト|カード|クレジット|キャッシュバック|割|引|オフ|"
    r"交換|代替|代わり|新品|新しい|替え|粗品|品|無料|無償|むりょう|むしょう|ただ|返品|アップグレード|保証|弁償|補|賠償|免除|"
    r"今回|特別|例外|特例|さーびす|\d|延長|らんく|すてーたす|ぐれーど|くらす|格上げ|請求|払|振|配布|付与|加算|招待|取り?消|"
    r"まいる|だいや|じぇむ|こいん|ちけっと|あいてむ|石|"
    r"fee|charge|fine|penalt|been|happy|glad|pleased|delighted|please|new|another|replacement|free|gems|coins|miles|"
    r"we|i'|i\s|let\s|allow|you|your|here|there|on\s+us|house|exception|once)"
)


def _ja_object_before(s: str, at: int) -> int | None:
    """Start of the first offer object in the 40 characters before ``at`` (same sentence)."""
    for m in _OBJ_JA.finditer(s, max(0, at - 40)):
        if m.start() >= at:
            break
        if m.end() <= at:
            return m.start()
    return None


def _comp_hits(s: str, reply_apology: bool = False) -> list[tuple[str, int, int]]:
    """Candidate (rule, start, end) inside one sentence ``s`` (``reply_apology``: the reply apologises)."""
    hits: list[tuple[str, int, int]] = []
    if "ま" in s or "です" in s:  # every Japanese offer predicate ends in ます / ません / です
        hits += _comp_hits_ja(s, reply_apology)
    if _RE_LATIN_WORD.search(s):
        hits += _comp_hits_en(s)
    return hits


_RE_LATIN_WORD = re.compile(r"[a-z]{2}")


def _ja_given_before(s: str, m: re.Match[str]) -> int | None:
    """Start of what the giving verb ``m`` gives: an offer object, or a bare count when it makes up for something."""
    a = _ja_object_before(s, m.start())
    if a is not None:
        return a
    if _GRANT_VERB_JA.match(s, m.start()) or _MAKE_UP_JA.search(s):
        for c in _COUNT_JA.finditer(s, max(0, m.start() - 40), m.start()):
            return c.start()
    return None


def _comp_hits_ja(s: str, reply_apology: bool = False) -> list[tuple[str, int, int]]:
    hits: list[tuple[str, int, int]] = []
    from_refund = _RE_FROM_REFUND_JA.search(s) is not None
    for m in _RE_SELF_JA.finditer(s):
        hits.append(("promise_ja", m.start(), m.end()))
    for m in _RE_GIVE_JA.finditer(s):
        if from_refund and _RE_DEDUCT_JA.match(m.group(0)):
            continue  # a fee taken off a refund is not an offer
        a = _ja_given_before(s, m)
        if a is not None:
            hits.append(("promise_ja", a, m.end()))
    if "なります" in s:
        for m in _RE_REFUND_OUTCOME_JA.finditer(s):
            hits.append(("promise_ja", m.start(), m.end()))
    if _RE_SPECIAL_CUE_JA.search(s):
        for m in _RE_SPECIAL_JA.finditer(s):
            past = _RE_HUMBLE_PAST_END.search(m.group(0)) is not None
            hits.append(("granted_ja" if past else "exception_ja", m.start(), m.end()))
    for rx in (_RE_WAIVE_JA, _RE_FEE_NOT_TAKEN_JA):
        for m in rx.finditer(s):
            hits.append(("waiver_ja", m.start(), m.end()))
    for m in _RE_FREE_ACT_JA.finditer(s):
        hits.append(("promise_ja", m.start(), m.end()))
    for rule, rx in (
        ("granted_ja", _RE_REFUND_DONE_JA),
        ("waiver_ja", _RE_FEE_NOT_JA),
        ("promise_ja", _RE_OUR_COST_JA),
        ("granted_ja", _RE_PARTY_JA),
    ):
        for m in rx.finditer(s):
            hits.append((rule, m.start(), m.end()))
    if not _RE_FIRST_TERM_JA.search(s):
        for m in _RE_FREE_CHARGE_JA.finditer(s):
            if reply_apology or (not m.group(1).startswith("次") and not m.group(0).endswith("です")):
                hits.append(("waiver_ja", m.start(), m.end()))
    for m in _RE_BILL_CANCEL_JA.finditer(s):
        past = _RE_HUMBLE_PAST_END.search(m.group(0)) is not None or m.group(0).endswith("ました")
        hits.append(("granted_ja" if past else "waiver_ja", m.start(), m.end()))
    for m in _RE_FEE_CANCEL_JA.finditer(s):
        hits.append(("waiver_ja", m.start(), m.end()))
    past_tense = "ました" in s or "済" in s or "完了" in s
    if past_tense:
        for m in _RE_FEE_CANCEL_JA_PAST.finditer(s):
            hits.append(("granted_ja", m.start(), m.end()))
        for m in _RE_PROCESS_JA_PAST.finditer(s):
            if m.group(1).startswith(("返", "払", "補", "付", "加", "お", "振")) or _RE_MONEY_JA.search(s):
                hits.append(("granted_ja", m.start(), m.end()))
    ex = _RE_EXCEPT_JA.search(s)
    if ex:
        pred = _RE_PRED_JA.search(s, ex.end())
        if pred and pred.group(2) == "す" and pred.group(1) != "かね" and not pred.group(3):
            hits.append(("exception_ja", ex.start(), pred.end()))
    if not past_tense:
        return hits
    for m in _RE_SELF_JA_PAST.finditer(s):
        hits.append(("granted_ja", m.start(), m.end()))
    for m in _RE_FREE_ACT_JA_PAST.finditer(s):
        hits.append(("granted_ja", m.start(), m.end()))
    for m in _RE_GIVE_JA_PAST.finditer(s):
        if from_refund and _RE_DEDUCT_JA.match(m.group(0)):
            continue
        a = _ja_given_before(s, m)
        if a is not None:
            hits.append(("granted_ja", a, m.end()))
    return hits


def _comp_hits_en(s: str) -> list[tuple[str, int, int]]:
    hits: list[tuple[str, int, int]] = []
    first_person: list[re.Pattern[str]] = [_RE_SELF_EN, _RE_GIVE_EN]
    if _RE_HAPPY_EN.search(s):
        first_person += [_RE_SELF_EN_HAPPY, _RE_GIVE_EN_HAPPY]
    if _RE_FREE_CUE.search(s):
        first_person += [_RE_FREE_EN, _RE_FREE_EN_HAPPY]
    for rx in first_person:
        for m in rx.finditer(s):
            if "mid" in rx.groupindex and _RE_ABOUT_EN.search(m.group("mid")):
                continue  # "we'll get back to you about the refund": the refund is the topic, not the gift
            if _RE_PROGRESSIVE_EN.match(m.group(0)) and not _RE_YOU.search(s):
                continue  # "we are replacing, free of charge, the adapters where ...": a programme, not an offer to you
            hits.append(("promise_en", m.start(), m.end()))
    third_person = [_RE_YOU_EN]
    if _RE_ON_WAY_CUE.search(s):
        third_person.append(_RE_ON_WAY_EN)
    if "be " in s:
        third_person.append(_RE_FEE_FUTURE_EN)
    if _RE_FREE_CUE.search(s):
        third_person.append(_RE_FREE_ANY_EN)
    if " by " in s or "same" in s:
        third_person.append(_RE_LOWER_EN)
    if "back" in s:
        third_person.append(_RE_BACK_EN)
    if " ha" in s:
        third_person.append(_RE_PARTY_EN)
    for rx in third_person:
        for m in rx.finditer(s):
            hits.append(("promise_en", m.start(), m.end()))
    if "been" in s:
        for m in _RE_GRANTED_PASSIVE_EN.finditer(s):
            hits.append(("granted_en", m.start(), m.end()))
    for m in _RE_WAIVE_EN.finditer(s):
        hits.append(("waiver_en", m.start(), m.end()))
    ex = _RE_EXCEPT_EN.search(s)
    if ex and _RE_SUBJ_EN.search(s):
        hits.append(("exception_en", ex.start(), ex.end()))
    for m in _RE_GRANTED_EN.finditer(s):
        hits.append(("granted_en", m.start(), m.end()))
    return hits


def _find_compensation(view: View) -> list[tuple[PolicyRule, int, int]]:
    cv = _compact(view)
    t = cv.text
    if not _TRIGGER.search(t):
        return []
    out: list[tuple[PolicyRule, int, int]] = []
    quotes = [m.span() for m in _RE_QUOTE_SPAN.finditer(t)] if any(q in t for q in '"“「『') else []
    reply_apology = _RE_APOLOGY.search(t) is not None or _RE_SORRY_JA.search(t) is not None
    for s0, s1 in _sentences(t):
        s = t[s0:s1]
        hits = _comp_hits(s, reply_apology)
        if not hits:
            continue
        body = s.rstrip()
        if (body and body[-1] in _QUESTION_MARKS) or _RE_QUESTION_JA.search(body):
            continue  # a question to the customer promises nothing
        apology = _RE_APOLOGY.search(s) is not None
        if not apology and reply_apology and not _RE_COND_EN.search(s):
            conds = [m.group(0) for m in _RE_COND_JA.finditer(s)]
            # 本日より… after an apology says when the remedy starts; it is no rule for everyone
            apology = bool(conds) and all(_RE_COND_WEAK_JA.fullmatch(c) for c in conds)
        if not apology and (_RE_COND_JA.search(s) or _RE_COND_EN.search(s)):
            continue  # policy talk: conditions, eligibility, case-by-case decisions
        taken: list[tuple[int, int]] = []
        for rule, a, b in sorted(hits, key=lambda h: (h[1], -h[2])):
            if _RE_QUOTED.search(s[b:]) or any(x <= s0 + a and s0 + b <= y for x, y in quotes):
                continue  # 「全額返金します」と連絡するアカウント, saying "we'll refund you": quoted, not said
            if any(a < y and x < b for x, y in taken):
                continue
            taken.append((a, b))
            out.append((_COMP[rule], *cv.span(s0 + a, s0 + b)))
    return out


def find_policy(view: View) -> list[tuple[PolicyRule, int, int]]:
    """(rule, start, end) with original offsets."""
    t = view.text
    out: list[tuple[PolicyRule, int, int]] = []
    for rule in POLICY_RULES:
        for m in rule.pattern.finditer(t):
            a, b = m.start(), m.end()
            end = _SENTENCE_END.search(t, b)
            if rule.veto_after is not None:
                tail = t[b : end.start() if end else len(t)]
                if rule.veto_after.search(tail):
                    continue
            if rule.veto_before is not None and rule.veto_before.search(t[max(0, a - 30) : a]):
                continue
            if rule.category == "uncertain" and end is not None and t[end.start()] in _QUESTION_MARKS:
                continue  # "Perhaps a power cycle too?": a suggestion asked, not a guess stated as fact
            out.append((rule, *view.span(a, b)))
    out += _find_compensation(view)
    return out

"""Public-reply policy phrases: compensation, overpromise, uncertain.

Patterns run on :func:`policy_view` (NFKC, lower case, katakana read as hiragana, one character per
original character), so ``ゼッタイ`` and ``ぜったい`` and ``絶対`` differ only by the listed spellings.
Each rule may carry a *veto*: a pattern that, found in the same sentence after the match, means the
phrase is not a promise (``必ずご確認ください`` is an instruction, ``返金できかねます`` a refusal).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import jaconv

from .normalize import View

__all__ = ["POLICY_RULES", "PolicyRule", "find_policy"]


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
    # --- compensation ----------------------------------------------------------------------------
    PolicyRule(
        "compensation",
        "refund_ja",
        _p(
            r"(全額|一部|代金の?|料金の?)?(返金|ご返金|払い戻し|返品返金)(を|に|の)?\s?"
            r"(いた|致|させていただ|し(ま|て)|する|対応|手続きを(いた|致|し)|手配|でき(ます|る))"
        ),
        "返金を公開の場で約束しています (a refund promised in public).",
        "公開返信では約束せず「詳細をDMでお伺いします」とする / move the details to DM",
        veto_after=_NEG_AFTER,
    ),
    PolicyRule(
        "compensation",
        "gift_ja",
        _p(
            r"(ギフト券|ギフトカード|クーポン|商品券|ポイント|割引券|quoカード|amazonギフト|粗品|お詫びの品|"
            r"記念品|ノベルティ|プレゼント|割引|代替品|新品)を?\s?(お送り|送付|進呈|付与|差し上げ|お届け|ご用意|発行|贈|お付け|適用|交換)"
        ),
        "特典・補償を公開の場で約束しています (a gift or compensation promised in public).",
        "公開返信では約束せず、個別の対応はDMで / handle compensation privately",
        veto_after=_NEG_AFTER,
    ),
    PolicyRule(
        "compensation",
        "exception_ja",
        _p(
            r"(今回に限り|今回限り|特別に|例外的に|特例として|特例で|送料(を)?無料に|送料は?(弊社|当社|こちら)(で)?負担|"
            r"無償(で|にて)?(交換|修理|対応|提供|お送り)|(補償|賠償)(いた|致|させていただ|します)|"
            r"(代金|料金)を?(お返し|免除|無料に)|無料(にいたします|にします|で交換|で対応|にて交換))"
        ),
        "例外・無償対応を公開の場で約束しています (an exception promised in public).",
        "公開返信では約束せず「詳細をDMでお伺いします」とする / move the details to DM",
        veto_after=_NEG_AFTER,
    ),
    PolicyRule(
        "compensation",
        "refund_en",
        _p(
            r"(?<![a-z])((full|partial|100\s?%)\s+refund|refund\s+(you|your|the\s+full)|"
            r"(issue|process|give|send|offer|provide)(ing)?\s+(you\s+)?(a\s+|an\s+)?(full\s+|partial\s+|free\s+)?"
            r"(refund|voucher|coupon|gift\s?card|store\s+credit|discount\s+code|replacement|credit)|"
            r"free\s+(replacement|of\s+charge|upgrade)|as\s+a\s+(one-time|special|goodwill)\s+(exception|gesture)|"
            r"just\s+this\s+once|on\s+the\s+house|waive\s+(the|your)|compensate\s+you)(?![a-z])"
        ),
        "Compensation promised in public.",
        "Don't promise compensation publicly; offer to look into it by DM.",
        veto_before=_EN_NEG_BEFORE,
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


def find_policy(view: View) -> list[tuple[PolicyRule, int, int]]:
    """(rule, start, end) with original offsets."""
    t = view.text
    out: list[tuple[PolicyRule, int, int]] = []
    for rule in POLICY_RULES:
        for m in rule.pattern.finditer(t):
            a, b = m.start(), m.end()
            if rule.veto_after is not None:
                end = _SENTENCE_END.search(t, b)
                tail = t[b : end.start() if end else len(t)]
                if rule.veto_after.search(tail):
                    continue
            if rule.veto_before is not None and rule.veto_before.search(t[max(0, a - 30) : a]):
                continue
            out.append((rule, *view.span(a, b)))
    return out

"""The `offline` model: a deterministic FunctionModel that searches the knowledge and composes grounded replies.

It takes part in the same agent loop as a real model. It reads the prompt (the fenced post, the triage
JSON, the channel and any reviewer instructions), calls ``search_knowledge`` (and ``get_customer_history``
for complaints), then composes a reply from the post and the retrieved entries and answers through the
output tool. When the output validator sends findings back, it repairs its previous draft: it drops the
sentences the findings point at, moves the matter to DM, shortens, or rewords.

What it can do: name the post's product, error code and symptom as the post puts it ("片耳から音が出ない",
"the code that never arrives"), or, for a post its tables do not know, the first thing the post names
(Sudachi nouns in Japanese, a list of device and store words in English); open with a sentence that
answers the post's situation (in a hurry, just bought it, others affected, going on for days); answer in
Japanese (丁寧語) or English; thank praise without apologising; apologise and give the next step taken
from the best-matching entry, reworded with equivalent phrasings (`paraphrase.reword`: quotes, links and
numbers are never touched); escalate with 「確認中です」 when no entry in the post's language matches,
worded for trouble, a question or a comment; move personal data and order matters to DM without
repeating them; fit X's weighted length; ignore instructions in the post.
What it cannot do: understand a post beyond keyword tables (sarcasm, implicit products, mixed topics),
write genuinely new sentences, or answer from knowledge it has no keywords for. Wording is chosen by a
hash of the post from phrases built of independent parts, so different posts mostly get different
sentences while one post always gets the same; two posts asking the same thing still share the entry's
step, which is why replies to the same question stay more alike than a language model's would.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryFeedbackPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.usage import RequestUsage

from agent.checks.length import X_LIMIT
from agent.checks.length import weighted_length as _checks_weighted_length
from agent.llm.paraphrase import restructure, reword
from agent.prompts.fencing import unfence
from knowledge.lexical import Tokenizer

__all__ = ["OFFLINE_MODEL_NAME", "compose_reply", "offline_model"]

OFFLINE_MODEL_NAME = "offline"
MIN_RELEVANCE = 4.0
"""An entry must score at least this on product/topic/error-code overlap to count as an answer."""
REWORD_OPTIONS = 6
"""Alternative compositions tried when a template finding asks for a reply unlike recent ones."""

# --- what the offline model "knows" about the domain: products and topics -----------------------------


@dataclass(frozen=True)
class Product:
    tag: str
    ja: str
    en: str
    names: tuple[str, ...]  # what names this product and no other
    kinds: tuple[str, ...] = ()  # what kind of thing it is ("earbuds"): ours unless the post names a rival

    @property
    def aliases(self) -> tuple[str, ...]:
        return (*self.names, *self.kinds)


PRODUCTS: tuple[Product, ...] = (
    Product("kamado", "KAMADO K-3", "KAMADO K-3", ("kamado", "k-3", "カマド"), ("炊飯器", "rice cooker")),
    Product(
        "sorabuds", "SoraBuds 2", "SoraBuds 2", ("sorabuds", "ソラバッズ"), ("イヤホン", "イヤフォン", "earbud", "buds")
    ),
    Product(
        "kurumi",
        "Kurumi R7",
        "Kurumi R7",
        ("kurumi", "r7", "クルミ"),
        ("ロボット掃除機", "掃除機", "robot vacuum", "vacuum"),
    ),
    Product(
        "charger",
        "充電アダプター（HZ-AC05）",
        "HZ-AC05 charging adapter",
        ("hz-ac05",),
        ("充電器", "アダプター", "アダプタ", "charger", "adapter"),
    ),
    Product("app", "Hoshizoraアプリ", "Hoshizora app", (), ("アプリ", " app", "app ", "application")),
)


@dataclass(frozen=True)
class Topic:
    id: str
    ja_words: tuple[str, ...]
    en_words: tuple[str, ...]
    ja: str
    en: str
    hints: tuple[str, ...] = ()
    problem: bool = False
    order: bool = False
    department: str | None = None


TOPICS: tuple[Topic, ...] = (
    Topic(
        "safety",
        ("発火", "発煙", "煙", "焦げ臭", "異常に熱", "発熱", "火傷", "やけど", "燃え", "膨ら"),
        ("smoke", "fire", "burn", "overheat", "spark", "melted", "really hot", "too hot", "swollen", "swelling"),
        "安全に関わる症状",
        "a safety concern",
        (),
        True,
        False,
        "quality",
    ),
    Topic(
        "legal",
        ("訴え", "弁護士", "裁判", "消費者センター", "訴訟"),
        ("sue ", "lawyer", "lawsuit", "legal action"),
        "ご指摘",
        "your concern",
        (),
        True,
        False,
        "legal",
    ),
    Topic(
        "privacy_incident",
        ("個人情報", "情報漏", "情報管理", "別人の名前", "流出"),
        ("leaked my", "who has my data", "data breach", "my data", "privacy breach"),
        "個人情報の取り扱い",
        "your personal data",
        (),
        True,
        False,
        "legal",
    ),
    Topic(
        "charger",
        ("充電器", "アダプター", "アダプタ", "26c", "26d", "26e", "hz-ac05", "刻印", "無償交換"),
        ("charger", "adapter", "hz-ac05", "lot number", "replacement notice"),
        "充電アダプターのお知らせ",
        "the charger replacement notice",
        ("charger",),
    ),
    Topic(
        "scam",
        ("カード番号", "詐欺", "なりすまし", "偽物のアカウント", "偽アカウント"),
        ("card number", "scam", "phishing", "fake account"),
        "当社を名乗るメッセージ",
        "messages claiming to be from us",
        ("privacy",),
    ),
    Topic(
        "pairing",
        ("接続", "つなが", "繋が", "ペアリング", "片耳", "音が出ない", "途切れ", "bluetooth"),
        (
            "connect",
            "disconnect",
            "cuts out",
            "pair",
            "bluetooth",
            "silent",
            "one bud",
            "right one",
            "left one",
            "no sound",
        ),
        "接続",
        "connection",
        ("pairing",),
        True,
    ),
    Topic(
        "twofa",
        ("二段階", "確認コード", "認証コード", "sms"),
        ("2fa", "two-step", "verification code", "code never", "sms"),
        "確認コード",
        "the verification code",
        ("2fa", "app-login"),
        True,
    ),
    Topic(
        "login",
        ("ログイン", "パスワード", "サインイン", "しばらくしてから"),
        ("log in", "login", "sign in", "password"),
        "ログイン",
        "logging in",
        ("app-login",),
        True,
    ),
    Topic(
        "crash",
        ("落ちる", "クラッシュ", "起動しない", "起動直後", "強制終了"),
        ("crash", "keeps closing"),
        "起動時の不具合",
        "crashes on start",
        ("app-crash",),
        True,
    ),
    Topic(
        "firmware",
        ("ファームウェア", "アップデート", "更新"),
        ("firmware", "update"),
        "ファームウェア更新",
        "the firmware update",
        ("firmware", "pairing"),
    ),
    Topic(
        "shipping",
        ("届かない", "届きません", "届いてない", "発送", "配送", "まだ来"),
        (
            "hasn't shipped",
            "not shipped",
            "shipping",
            "delivery",
            "hasn't arrived",
            "not arrived",
            "not received",
            "hasn't come",
        ),
        "ご注文の商品のお届け",
        "your order's delivery",
        ("shipping",),
        True,
        True,
    ),
    Topic(
        "order_change",
        ("キャンセル", "色を変更", "注文内容", "変更したい"),
        (
            "cancel my order",
            "change my order",
            "cancel the order",
            "cancel order",
            "change the colour",
            "change the color",
        ),
        "ご注文内容の変更",
        "changing your order",
        ("order-change",),
        False,
        True,
    ),
    Topic(
        "returns",
        ("返品", "交換したい", "交換できますか", "交換してほしい"),
        ("return", "exchange"),
        "返品・交換",
        "returns and exchanges",
        ("returns", "initial-defect"),
        False,
        True,
    ),
    Topic(
        "refund",
        ("返金",),
        ("refund", "money back"),
        "返金のご相談",
        "your refund request",
        ("compensation",),
        True,
        True,
    ),
    Topic("warranty", ("保証",), ("warranty",), "保証期間", "the warranty", ("warranty",)),
    Topic("repair", ("修理",), ("repair",), "修理のお申し込み", "repairs", ("repair",)),
    Topic(
        "battery",
        ("バッテリー", "電池", "充電もち", "充電もつ", "充電が持"),
        ("battery",),
        "バッテリー",
        "battery life",
        ("battery",),
    ),
    Topic(
        "hardness",
        ("硬さ", "かため", "かたさ", "かたすぎ", "硬すぎ", "柔らか", "やわらか", "固め"),
        ("softer", "harder", "firmer", "mushy", "too soft", "too hard"),
        "ご飯の硬さ",
        "rice texture",
        ("hardness",),
    ),
    Topic(
        "maintenance",
        ("お手入れ", "メンテ", "交換時期", "毎週", "フィルター"),
        ("maintenance", "filter", "replace parts", "how often"),
        "お手入れ",
        "maintenance",
        ("maintenance",),
    ),
    Topic(
        "hours",
        ("何時まで", "何時から", "受付時間", "営業時間", "電話窓口", "電話がつなが", "土曜", "日曜"),
        ("phone hours", "opening hours", "talk to a human", "phone support", "call you", "hours"),
        "サポートの受付時間",
        "our support hours",
        ("business-hours",),
    ),
    Topic(
        "competitor",
        ("acme", "他社", "どっちがいい", "どちらがいい", "迷ってる"),
        ("acme", " vs ", "versus", "better than"),
        "製品選び",
        "comparing products",
        ("competitor",),
    ),
    Topic(
        "feature",
        ("機能追加", "要望", "できるようにして", "してほしい", "欲しい"),
        ("feature request", "please add", "would love", "please let us", "wish"),
        "機能のご要望",
        "your feature request",
        (),
    ),
    Topic(
        "compat",
        ("対応してますか", "使えますか", "対応機種"),
        ("work with", "compatible"),
        "対応状況",
        "compatibility",
        (),
    ),
    Topic(
        "broken",
        ("壊れ", "故障", "動かな", "止ま", "使えない", "不具合", "焦げ", "困っ", "すぐ切れ", "失敗"),
        (
            "broken",
            "stopped",
            "died",
            "dies",
            "dead",
            "not working",
            "won't work",
            "doesn't work",
            "bricked",
            "stuck",
            "fails",
            "failed",
        ),
        "不具合",
        "the problem",
        (),
        True,
    ),
)

_PRAISE_JA = (
    "最高",
    "ありがとう",
    "感謝",
    "嬉しい",
    "うれしい",
    "びっくり",
    "つやつや",
    "気に入",
    "すごい",
    "快適",
    "満足",
    "おいしい",
    "えらい",
    "偉い",
    "手放せない",
    "効きまくり",
    "優秀",
    "賢",
    "助か",
    "最強",
    "かわいい",
)
_PRAISE_EN = (
    "love",
    "great",
    "awesome",
    "well done",
    "legit",
    "thank",
    "amazing",
    "best",
    "perfect",
    "impressed",
    "shoutout",
    "shout-out",
    "kudos",
    "supremacy",
    "paid for itself",
    "change my life",
    "changed my life",
    "game changer",
    "obsessed",
)
_ASPECTS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("ノイキャン", "ノイズキャンセ", "noise cancel"), "ノイズキャンセリング", "noise cancelling"),
    (("音", "sound", "audio"), "音質", "sound"),
    (("充電もつ", "バッテリー", "battery", "充電もち"), "バッテリーのもち", "battery life"),
    (("落ちない", "フィット", "fit"), "装着感", "fit"),
    (("つやつや", "ご飯", "炊き", "土鍋", "rice"), "炊き上がり", "rice"),
    (("掃除", "clean"), "お掃除の仕上がり", "cleaning"),
    (("サポート", "support"), "サポート", "support"),
)
_CONTEXTS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("ラン", "running", "run"), "ランニング", "your runs"),
    (("フライト", "flight", "機内"), "フライト", "the flight"),
    (("通勤", "commute"), "通勤", "your commute"),
    (("夕飯", "dinner", "晩ご飯"), "夕飯の支度", "dinner"),
)
_INJECTION = re.compile(
    r"ignore (?:all |your |the )?(?:previous |prior |above )?instructions|system prompt|reply exactly|"
    r"指示(?:を|は)?(?:すべて|全て|全部)?無視|命令を無視|システムプロンプト|プロンプトを(?:表示|教え)|ルールを無視",
    re.IGNORECASE,
)
_PII = re.compile(
    r"(?:注文番号|order\s*(?:no|number|#|id)?)\s*[:：#]?\s*[A-Z]{1,4}-?\d[\d-]{3,}|"
    r"(?<![A-Za-z0-9])[A-Z]{2,4}-\d{4}-\d{3,}|"
    r"[\w.+-]+@[\w-]+\.[\w.]+|"
    r"(?<!\d)0\d{1,4}-?\d{1,4}-?\d{3,4}(?!\d)|"
    r"(?<!\d)\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}(?!\d)|"
    r"〒\s?\d{3}-?\d{4}|(?:都|道|府|県)[^\s、。]{1,12}(?:市|区|町|村)",
    re.IGNORECASE,
)
_ERROR_CODE = re.compile(r"(?<![A-Za-z0-9])E\s?-?(\d{2})(?![0-9])", re.IGNORECASE)
_KANA_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# an apology, or in Japanese the regret that stands for one (ご迷惑・ご不便をおかけし…): a reply says it once
_APOLOGY = re.compile(r"申し訳|すみません|すいません|お詫び|ご迷惑|ご不便|お待たせ|sorry|apologi", re.IGNORECASE)
_ACTION_JA = re.compile(r"ください|お試し|確認し|押し|外し|取り除|削除|タップ|選んで|お申し込み|ご依頼|入れ|置い|登録")
_ACTION_EN = re.compile(
    r"\b(please|tap|hold|remove|check|press|send|request|select|wait|update|clean|switch|put|register|keep|rinse|replace|stop|refit|run)\b",
    re.I,
)
_CONTACT = re.compile(r"0120-000-000|support@example\.co\.jp|\d{2,4}-\d{2,4}-\d{3,4}|@[\w.-]+\.\w+")
_RISKY = re.compile(
    r"必ず|絶対|guarantee|無料|free of charge|新品と交換|exchange it for a new|注文番号|order number|無償",
    re.I,
)


_WHOLE_WORDS = frozenset({"fire"})
"""Topic words that must end where the word ends: "fired the support team" is no fire."""


@lru_cache(maxsize=1024)
def _word_pattern(w: str) -> re.Pattern[str] | None:
    if not (w.isascii() and w[:1].isalnum()):
        return None
    return re.compile(rf"(?<![a-z0-9]){re.escape(w)}" + ("(?![a-z])" if w in _WHOLE_WORDS else ""))


def _has_word(n: str, w: str) -> bool:
    """``w`` in normalised text ``n``; ASCII words must start at a word boundary ("pair" not in "repair")."""
    if w not in n:
        return False
    pat = _word_pattern(w)
    return pat is None or pat.search(n) is not None


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _hash(*parts: str) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest(), "big")


def weighted_length(text: str) -> int:
    """X's weighted length, counted exactly as the checks count it (`agent.checks.length`), so a reply the
    model fitted is never flagged as too long."""
    return _checks_weighted_length(text)[0]


# --- reading the post ----------------------------------------------------------------------------------


@dataclass
class PostFacts:
    text: str
    lang: str
    intent: str
    sentiment: str
    flame_risk: int
    followers: int
    product: Product | None
    topics: list[Topic]
    code: str | None
    pii: bool
    injection: bool
    praise: bool
    aspects: list[tuple[str, str]]
    context: tuple[str, str] | None
    channel: str | None
    limit: int | None  # the channel's length limit as the prompt states it (the organisation's rules)
    instructions: str | None
    brand: bool = True
    tried: set[str] = field(default_factory=set)
    when: dict[str, str] = field(default_factory=dict)  # the post's own time words by situation (`when_words`)
    how_to: bool = False  # a plain how-to question that names no failure (`_HOW_TO`, `_FAILURE`); read_post sets it

    @property
    def order_matter(self) -> bool:
        return any(t.order for t in self.topics)

    @property
    def trouble(self) -> bool:
        return not self.praise and (
            self.intent in ("complaint", "bug_report")
            or self.sentiment == "negative"
            or self.code is not None
            # a problem topic is trouble, except a how-to topic in a plain how-to question:
            # 「片耳モードってありますか」, "how do I pair them with a second phone?" get thanks, not an apology
            or any(t.problem and not (t.id in _HOW_TO_TOPICS and self.how_to) for t in self.topics)
        )

    @property
    def unanswerable(self) -> bool:
        """A question the knowledge cannot hold (compatibility with other products, feature requests)."""
        return any(t.id in ("compat", "feature") for t in self.topics)


_RIVALS = ("acme", "他社", "other brand", "another brand")
_HOW_TO_TOPICS = frozenset(("pairing", "twofa", "login"))
"""Problem topics a customer also asks plain how-to questions about (a safety or data question is always trouble)."""
_FAILURE = re.compile(
    # Japanese: a verb in the negative or a failure noun; not the preventive 「切れないように」「解除されないように」,
    # 「落ち着いた」 or the polite request 「できないでしょうか」
    r"(?:できな|出な|つながらな|繋がらな|届かな|届いてな|届いていな|動かな|反応しな|使えな|聞こえな|来な|"
    r"認識されな|表示されな|見つからな|うまくいかな|進まな|ならな|受け取れな|保持されな|"
    r"切れな|解除されな|止まらな)(?!いように|いでしょうか|いですか|くても)|"
    r"できません|出ません|つながりません|繋がりません|届きません|使えません|来ません|うまくいきません|なりません|"
    r"切れ(?!ないように)|切断|解除され(?!ないように)|落ち(?!着)|エラー|失敗|壊れ|困っ|困る|困り|止ま|"
    r"おかしい|不具合|弾かれ|ロックされ|忘れ(?!ないように)|ダメ|だめ|無理|途切れ|直し|直せ|直ら|直る|すぎ|過ぎ|"
    # English: a failure verb or noun, or a negation next to the thing that fails; a false alarm ("I've never
    # paired earbuds before") only keeps the apology a question about a problem topic always had
    r"\b(?:(?:won|can|doesn|didn|isn|aren|couldn|wouldn|hasn|haven|wasn)['’]?t|cannot|unable|unstable|"
    r"don['’]?t (?:connect|pair|work|arrive|get|receive|show|appear|remember|come|load|open)|"
    r"why don['’]?t|mine don['’]?t|"
    r"not (?:working|connecting|pairing|arriving|charging|turning on|showing|responding|loading|received)|"
    r"never (?:arrives?|came|comes|works?|worked|connects?|connected|pairs?|paired|shows? up)|"
    r"fail\w*|errors?|broken|stopped|stuck|crash\w*|dies|died|drains?|draining|drops?|dropping|dropped|"
    r"disconnect(?:s|ed|ing)|(?<!to )(?<!i )disconnect|cuts? out|cutting out|timing out|timed out|locked out|"
    r"wrong password|no sound|silent|too (?:soft|hard|mushy)|problems?|issues?|trouble|forgot\w*|lost|"
    r"nothing happens|invalid|incorrect|"
    r"reject\w*|refuses?|refused|no codes?|not accepted|not recogni[sz]ed|loses|losing|loop|fix|fixed)\b"
)
"""Words that say something fails (on normalised text): a question naming one is trouble, never a plain how-to."""
_HOW_TO = re.compile(
    r"ありますか|あります\?|できますか|できる\?|使えますか|使える\?|どこ|どうやって|やり方|方法を教え|手順を教え|"
    r"には\?|対応してますか|対応していますか|何秒|何分|何台|何回|何日|ですか|ますか|"
    r"(?:^|[.!?:,]\s*|\bhi\b\W*)(?:@\S+\s+)?(?:how|can i|could i|can you|is there|are there|does|do|where|is it|"
    r"which|what|when|should i)\b"
)
"""A how-to or can-it question: 「片耳モードってありますか」, "How do I pair them with a second phone?"."""


def read_post(
    text: str,
    triage: dict[str, Any],
    *,
    channel: str | None,
    followers: int,
    instructions: str | None,
    limit: int | None = None,
) -> PostFacts:
    """Extract what the offline model uses from a post: product, topics, error code, personal data."""
    n = _norm(text)
    lang = str(triage.get("language") or "")
    if lang not in ("ja", "en"):
        lang = "ja" if _KANA_KANJI.search(text) else "en"
    # a post that names a rival ("my Acme buds", 「他社のイヤホン」) is ours only where it names our product
    rival = any(r in n for r in _RIVALS)
    found = []
    for k, p in enumerate(PRODUCTS):
        at = [i for a in (p.names if rival else p.aliases) if (i := f" {n} ".find(a)) >= 0]
        if at:
            found.append((min(at), k, p))
    product = min(found)[2] if found else None
    code_m = _ERROR_CODE.search(unicodedata.normalize("NFKC", text))
    code = f"E{code_m.group(1)}" if code_m else None
    topics = [t for t in TOPICS if any(_has_word(n, w) for w in (*t.ja_words, *t.en_words))]
    if any(t.id == "twofa" for t in topics):  # a code that "never arrives" is not a parcel
        topics = [t for t in topics if t.id != "shipping"]
    if not (product and product.tag == "sorabuds") and not any(w in n for w in ("bluetooth", "ペアリング", "pair")):
        topics = [t for t in topics if t.id != "pairing"]  # "人につながらない" is not a Bluetooth problem
    if code and product is None:
        product = next((p for p in PRODUCTS if p.tag == {"03": "kamado", "12": "kurumi"}.get(code[1:], "")), None)
    if product and product.tag == "charger" and not any(t.id == "charger" for t in topics):
        topics.insert(0, next(t for t in TOPICS if t.id == "charger"))
    intent = str(triage.get("intent") or "other")
    sentiment = str(triage.get("sentiment") or "neutral")
    praise_words = any(w in n for w in (_PRAISE_JA if lang == "ja" else _PRAISE_EN))
    problem = any(t.problem for t in topics)
    ours = product is not None or any(b in n for b in ("星空電機", "hoshizora", "星空さん"))
    # a topic word alone makes a post ours, unless the post names another company ("Acme announces Q3
    # results", "my Acme buds won't connect"): that one is about them
    brand = ours or (bool(topics) and not rival)
    praise = intent == "praise" or (praise_words and sentiment != "negative" and not problem and intent != "question")
    praise = praise and not any(t.id in ("feature", "compat") for t in topics)  # "would love a widget" asks
    aspects = [(ja, en) for words, ja, en in _ASPECTS if any(w in n for w in words)]
    context = next(((ja, en) for words, ja, en in _CONTEXTS if any(w in n for w in words)), None)
    return PostFacts(
        text=text,
        lang=lang,
        intent=intent,
        sentiment=sentiment,
        flame_risk=int(triage.get("flame_risk") or 0),
        followers=followers,
        product=product,
        topics=topics,
        how_to=(intent == "question" or bool(_HOW_TO.search(n))) and not _FAILURE.search(n),
        code=code,
        pii=bool(_PII.search(text)),
        injection=bool(_INJECTION.search(n)),
        praise=praise,
        aspects=aspects[:2],
        context=context,
        channel=channel,
        limit=limit,
        instructions=instructions,
        brand=brand,
        tried=_already_tried(n),
        when=when_words(text, lang),
    )


_TRIED_MARK = re.compile(
    r"確認済み|済みです|やってる|やった|試した|試しました|とっくに|already|even after|tried|twice|again and again"
)
_TRIED_WORDS = (
    "パッキン",
    "ふた",
    "ブラシ",
    "再起動",
    "電源",
    "リセット",
    "brush",
    "restart",
    "reset",
    "unpair",
    "re-pair",
    "clean",
)


def _already_tried(n: str) -> set[str]:
    """Step keywords the customer says they already tried (so the reply moves on to the next step)."""
    if not _TRIED_MARK.search(n):
        return set()
    return {w for w in _TRIED_WORDS if w in n}


# --- choosing knowledge --------------------------------------------------------------------------------


@dataclass
class Entry:
    key: str
    revision: int
    lang: str
    kind: str
    title: str
    body: str
    score: float


def relevance(entry: Entry, facts: PostFacts) -> float:
    """Overlap of product, topics and error code between the post and an entry (not the retrieval score)."""
    key = entry.key.lower()
    title = _norm(entry.title)
    score = 0.0
    for t in facts.topics:
        if any(h in key for h in t.hints):
            score += 4
        elif any(w in title for w in (*t.ja_words, *t.en_words)):
            score += 1.5
    if facts.product:
        if facts.product.tag in key or _norm(facts.product.en) in title:
            score += 3
        elif any(p.tag in key for p in PRODUCTS if p is not facts.product and p.tag not in ("app", "charger")):
            score -= 4
    codes = set(re.findall(r"e\d{2}", key))
    if facts.code:
        score += 5 if facts.code.lower() in codes else (-5 if codes else 0)
    elif codes:
        score -= 1
    return score


def choose_entries(entries: Sequence[Entry], facts: PostFacts) -> tuple[Entry | None, Entry | None]:
    """(best FAQ answer in the post's language or None, a supporting policy entry or None)."""
    same = [e for e in entries if e.lang == facts.lang]
    ranked = sorted(same, key=lambda e: (-relevance(e, facts), -e.score, e.key))
    answer = next((e for e in ranked if relevance(e, facts) >= MIN_RELEVANCE), None)
    policy_ids = {"refund": "compensation", "competitor": "competitor", "scam": "privacy"}
    wanted = [policy_ids[t.id] for t in facts.topics if t.id in policy_ids]
    if facts.praise:
        wanted.append("praise")
    # a policy binds in every language: one in the post's language first, else the one the company wrote
    policies = sorted((e for e in entries if e.kind == "policy"), key=lambda e: e.lang != facts.lang)
    policy = next((e for w in wanted for e in policies if w in e.key), None)
    if answer is not None and answer.kind == "policy" and policy is None:
        policy = answer
    if answer is not None and answer.kind == "policy":
        answer = None
    return answer, policy


# --- sentences ---------------------------------------------------------------------------------------------


def split_sentences(text: str) -> list[str]:
    """Sentences of a Japanese (。！？) or English (. ! ? followed by a space) text."""
    if _KANA_KANJI.search(text):
        parts = re.split(r"(?<=[。！？])", text)
    else:
        parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"(])", text)
    return [p.strip() for p in parts if p and p.strip()]


@lru_cache(maxsize=4096)
def _content_terms(text: str) -> frozenset[str]:
    """Index terms of ``text`` (Sudachi normalised forms, stemmed English words) longer than one character."""
    return frozenset(t for t in _tokenizer().tokenize(text) if len(t) > 1 and not t.isdigit())


_BRAND_TERMS = frozenset({"星空", "電機", "hoshizora", "アプリ", "app", "sorabud", "kamado", "kurumi", "r7", "k-3"})
_POST_NOISE = frozenset(
    (
        "help", "show", "won", "cook", "normal", "send", "question", "day", "own", "anyone", "else", "since",
        "yesterday", "tonight", "guest", "quick", "tip", "impress", "not", "what", "should",
    )
)  # fmt: skip
"""Words of how a post is put, not of what it is about ("Help!" must not match "if that does not help")."""
"""Terms that name the company or a product: in every post and entry about it, so no evidence of a match."""

_POINTS_BACK = re.compile(r"この手順|この方法|上記の|this procedure|these steps|the steps above", re.IGNORECASE)
"""A sentence that refers to another one of the entry ("this procedure"): meaningless as the only step."""
_FALLBACK = re.compile(
    r"^(?:それでも|改善しな|解決しな)|ても[^。、]{0,30}(?:場合|とき)は"
    r"|\bif (?:that|this|it|E\d+) (?:still|remains|does not|doesn't)|\bstill appears|\bremains\b",
    re.IGNORECASE,
)
"""A sentence that presupposes an earlier step ("それでも解決しない場合は…", "…てもE12が出る場合は",
"If E03 remains, …", "…; if E12 still appears, …")."""


def _step_candidates(entry: Entry, facts: PostFacts, troubled: bool | None = None) -> list[tuple[float, int, str]]:
    """(score, position, sentence) of the entry's sentences as the reply's step, best first. ``troubled``: the
    reply is to something wrong (an action scores most), else to a question (a fact or a number scores too);
    by default, whether the post reads as trouble at all."""
    troubled = facts.trouble if troubled is None else troubled
    n = _norm(facts.text)
    said = {w for t in facts.topics for w in (*t.ja_words, *t.en_words) if w in n}
    # the post's topic words, and the topic's other words (a post's "2FA" is the entry's "two-step")
    words = {w for t in facts.topics if t.id != "broken" for w in (*t.ja_words, *t.en_words) if len(w) > 2} - said
    own = _content_terms(facts.text) - _BRAND_TERMS - _POST_NOISE
    safety_step = any(t.id == "charger" for t in facts.topics)
    out = []
    for i, raw in enumerate(split_sentences(entry.body)):
        # our phone number and address in brackets are dropped: public replies point to DM instead
        s = re.sub(r"（[^）]*(?:0120|@)[^）]*）|\([^)]*(?:0120|@)[^)]*\)", "", raw)
        ns = _norm(s)
        score = 0.0
        action = bool((_ACTION_JA if facts.lang == "ja" else _ACTION_EN).search(s))
        score += (3 if troubled else 1) if action else 0
        if not troubled and re.search(r"\d", s):
            score += 1
        score += sum(1.5 for w in said if w in ns) + min(1.5, sum(0.75 for w in words if w in ns))
        fallback = bool(_FALLBACK.search(s))
        score += min(3.0, 1.5 * len(own & _content_terms(s)))  # the post's own words ("延長", "resend")
        if facts.code and facts.code.lower() in ns and not fallback:
            score += 2
        if fallback and not facts.tried:
            score -= 2.5  # a fallback is the next step after another one, not the first
        if safety_step and re.search(r"stop using|使用を中止", s, re.I):
            score += 4  # a recall: the step that keeps the customer safe comes first
        if facts.product and any(a in ns for a in facts.product.aliases):
            score += 0.5
        if _CONTACT.search(s):
            score -= 4
        if _POINTS_BACK.search(s):
            score -= 3  # 「この手順で回復します」 gives no step on its own
        if _RISKY.search(s):
            score -= 3
        if any(w in ns for w in facts.tried):
            score -= 4
        if len(s) > (90 if facts.lang == "ja" else 220):
            score -= 1
        out.append((score, i, s))
    return sorted(out, key=lambda x: (-x[0], x[1]))


_IMPERATIVE_EN = frozenset(
    (
        "please", "tap", "hold", "remove", "check", "press", "send", "request", "select", "choose", "pick", "wait",
        "update", "clean", "switch", "turn", "put", "register", "keep", "rinse", "replace", "stop", "refit", "run",
        "make", "empty", "wipe", "open", "close", "charge", "unplug", "give", "enter", "install", "start", "retry",
        "confirm", "reconnect", "restart", "reset", "use", "try", "go", "contact",
    )
)  # fmt: skip
"""First words of an instruction: only an instruction gets a lead-in such as "A good first step: "."""

_LEAD_JA = re.compile(r"^(?:まず|次に|その後、?|なお、?|また、?)")
_LEAD_EN = re.compile(r"^(?:First|Then|Next|Also),?\s+", re.IGNORECASE)


_STATEMENT_LEADS = (
    ("結論から申し上げますと、", "簡単にご説明すると、", "", "端的に申しますと、", "要点としては、", "",
     "お答えとしては、",
     "まとめると、"),
    ("Short answer: ", "In short, ", "", "The key point: ", "Quick answer: ", "", "Here's the answer: ",
     "Simply put, "),
)  # fmt: skip
"""Lead-ins for a step that states a fact (it answers a question) rather than asking for an action."""
_REQUEST_LEADS = (
    ("お手数ですが、", "一度、", "", "まずは", "よろしければ、", "", "恐れ入りますが、"),
    ("", "Could you try this: ", "A good first step: ", "What usually helps: ", "Here's what to do: ", "Try this: "),
)
"""Lead-ins for a step that asks the customer to do something."""
_STEP_LEAD = re.compile(
    "^(?:" + "|".join(re.escape(x) for leads in (*_STATEMENT_LEADS, *_REQUEST_LEADS) for x in leads if x) + ")"
)
"""Any lead-in the model puts before a step (taken off again when a cue already introduces the step)."""
_ANNOUNCES_STEP = re.compile(
    r"here's (?:what to do|the answer|what we know|what to know|how it works|the quick fix|the fastest thing to try|"
    r"the next step|what comes next|the quickest fix|what we'd try first|where we'd start|a first step|"
    r"the quick version)|there's (?:a quick thing to try|one thing worth trying)|try this first|"
    r"quick answer on|straight to the point on|the short version on|in brief, on|"
    r"(?:ご案内|お伝え|お知らせ|お答え)(?:いた)?します",
    re.IGNORECASE,
)
"""A sentence that introduces the step ("Here's what to do.", 「手短にご案内します。」): once the opening or a
situation sentence has said one, the step gets no lead-in and no second "here's what we'd try first"."""


def _paraphrase_step(sentence: str, facts: PostFacts, pick: int, *, lead: bool = True, answer: bool = False) -> str:
    """Deterministic rewording of an extracted sentence: equivalent wordings (`paraphrase.reword`), a
    varied lead-in (a request gets "お手数ですが、", a fact answering a question ``answer`` gets
    "結論から申し上げますと、") and a varied ending."""
    lead = lead and not _FALLBACK.search(sentence)
    sentence = restructure(reword(sentence, facts.lang, pick), facts.lang, pick)
    if facts.lang == "ja":
        s = _LEAD_JA.sub("", sentence).strip()
        if not s.endswith(("。", "！", "？")):
            s += "。"
        endings = (
            ("てください。", "てください。"),
            ("てください。", "ていただけますでしょうか。"),
            ("てください。", "てみてください。"),
            ("てください。", "ていただけますと幸いです。"),
        )
        old, new = endings[pick % len(endings)]
        if s.endswith(old) and not s.endswith(("てみてください。", "ておいてください。")):
            s = s[: -len(old)] + new
        # a lead-in ("お手数ですが、") belongs to a request, not to a statement of fact
        if not re.search(r"(?:ください|でしょうか|幸いです)。$", s):
            return (_STATEMENT_LEADS[0][(pick // 4) % len(_STATEMENT_LEADS[0])] if lead and answer else "") + s
        leads = _REQUEST_LEADS[0]
        return (leads[(pick // 4) % len(leads)] if lead else "") + s
    s = re.sub(r"^(Please )also ", r"\1", _LEAD_EN.sub("", sentence).strip())  # "also" of a later step
    imperative = s.split(" ", 1)[0].lower().strip(",:") in _IMPERATIVE_EN
    first, _, rest = s.partition(" ")
    low = first[:1].lower() + first[1:] if first[1:].islower() or len(first) == 1 else first
    en_leads = _REQUEST_LEADS[1] if imperative else _STATEMENT_LEADS[1] if answer else ("",)
    chosen = en_leads[pick % len(en_leads)] if lead else ""
    return (f"{chosen}{low} {rest}" if chosen else s[:1].upper() + s[1:]).strip()  # "Then select" -> "Select"


_Combo = tuple[tuple[str, ...], ...]
"""A phrase built from parts: one option of each part, each chosen independently (6 x 8 parts give 48
sentences from 14 phrases, so two posts rarely get the same sentence). An option may name a value in braces:
``{s}`` the subject, ``{w}`` the post's own time words for its situation ("1ヶ月", "tonight"); an option
naming a value the post does not have is left out of the choice (`_say`)."""


class _Cue(NamedTuple):
    """A situation a post can be in, the words that show it, and the sentences that answer it."""

    name: str
    ja_words: tuple[str, ...]
    en_words: tuple[str, ...]
    ja: _Combo
    en: _Combo


_CUES: tuple[_Cue, ...] = (
    _Cue(
        "urgent", ("至急", "週末まで", "今夜", "急ぎ"), ("tonight", "guests", "asap", "urgent", "help!"),
        (("お急ぎのところ、", "{w}までに必要なところ、", "時間がない中、", "お急ぎの中、"),
         ("要点だけお伝えします。", "手短にご案内します。", "お待たせしないようご案内します。",
          "簡潔にお伝えしますね。")),
        (("We know you're short on time, so here's the quick version.", "With {w} so close, let's keep this short.",
          "Since you're in a hurry, straight to the point.", "Time is tight, so here it is in brief.",
          "Bad timing, we know, so let's be quick."),),
    ),
    _Cue(
        "new", ("買って", "届いたばかり", "新しい"), ("day 3 of owning", "just bought", "brand new"),
        (("お使い始めたばかりで", "ご購入から{w}で", "せっかくの新しい製品なのに、", "まだ使い始めのうちに"),
         ("このようなことになり、", "ご不便をおかけし、", "残念な思いをさせてしまい、", "お手数をおかけし、"),
         ("申し訳ありません。", "すみません。", "申し訳ございません。", "心苦しく思います。", "心苦しい限りです。")),
        (("Not the start you wanted with a new purchase.", "Only {w} in, that's disappointing, sorry.",
          "A new purchase should just work, sorry it hasn't.", "That's a rough start, and we want to fix it.",
          "Sorry, that's not how the first {w} with it should go."),),
    ),
    _Cue(
        "others", ("同じ人いる", "みんな", "ほかにも"), ("anyone else", "everyone", "others"),
        (("同じようなお声は", "いただいたお声は", "こうしたご報告は", "今回の内容は"),
         ("担当部署にも共有します。", "チームにも届けます。", "開発チームにも伝えます。",
          "社内で共有させていただきます。")),
        (("We're passing reports like yours on to the team.", "Reports like this help us spot patterns, thank you.",
          "We'll share this with the team too.", "Thanks, reports like yours reach the team that works on it.",
          "Good to hear about it, we collect reports like this."),),
    ),
    _Cue(
        "since", ("昨日から", "朝から", "ずっと"), ("since yesterday", "all day", "for days"),
        (("{w}から", "しばらく", "長く"), ("続いているとのこと、", "お困りとのこと、", "この状態とのこと、"),
         ("お待たせしてすみません。", "ご不便をおかけしています。", "申し訳ありません。",
          "お気持ちお察しします。", "早く解決できるようお手伝いします。")),
        (("Sorry it's been going on since {w}.", "Sorry this has dragged on.",
          "A problem that lingers is extra annoying, we get it.", "Sorry it's been like this for a while.",
          "Since {w} is a long time to put up with it, sorry.", "Since {w} is a long time to wait for a fix.",
          "That's a long time to put up with it."),),
    ),
    _Cue(
        "repair", ("サポートに出す", "修理に出", "送るべき"), ("send it in", "should i return"),
        (("修理に出す前に、", "お預かりの前に、", "修理をご依頼いただく前に、"),
         ("まず次の点をお試しください。", "ご自宅でできる確認があります。", "試していただきたいことがあります。")),
        (("Before sending it in, there's one thing worth trying.", "You may not need to send it in yet.",
          "Try this before sending it anywhere.", "It may be fixable at home first.",
          "Hold off on sending it in for a moment."),),
    ),
    _Cue(
        "normal", ("普通なの", "仕様なの", "これって普通"), ("is it normal", "is this normal"),
        (("気になりますよね。", "ご心配ですよね。", "不安になりますよね。"),
         ("ご連絡ありがとうございます。", "教えていただきありがとうございます。",
          "確認してくださってありがとうございます。")),
        (("Good call asking.", "Fair to wonder, and thanks for checking with us.", "Thanks for checking with us.",
          "Worth asking, thanks.", "Glad you asked rather than worrying."),),
    ),
    _Cue(
        "ask", ("どうすれば", "対処法", "教えて"), ("what should i do", "any tips", "any ideas", "what do i do"),
        (("いちばん早く試せる方法から", "試していただきたいことを", "すぐに試せる方法を", "ご自宅でできる対処法を",
          "まずはこちらの手順を"),
         ("ご案内します。", "お伝えします。", "お知らせします。")),
        (("Here's the quickest fix we know.", "Here's what we'd try first.", "There's a quick thing to try.",
          "Here's where we'd start.", "Here's a first step."),),
    ),
    _Cue(
        "upset", ("困った", "困ってる", "最悪", "がっかり"), ("not impressed", "annoying", "frustrating",
                  "disappointed"),
        (("お困りのところ、", "ご不快な思いをさせてしまい、", "困らせてしまい、", "がっかりさせてしまい、"),
         ("本当にすみません。", "申し訳ありません。", "申し訳ございません。")),
        (("Fair enough, and we'd like to make it right.", "We hear you, and we want to win you back.",
          "That's fair criticism, and we want to fix it.", "Understood, and we'd like to turn this around.",
          "You're right to be annoyed, and we want to help."),),
    ),
)  # fmt: skip
"""Situations a post can be in, in the order a reply answers them (at most two, `_cue_sentences`)."""

_WHEN: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    # the post's own words for its situation (ja, en), said back in the reply: 「ご購入から1ヶ月で」,
    # "Sorry it's been going on since yesterday"; never a time the post did not give
    "urgent": (
        re.compile(r"(週末|今夜|今日中|明日|土曜|日曜|来週)まで|(今夜)"),
        re.compile(r"\b(tonight|this weekend|tomorrow)\b"),
    ),
    "new": (
        re.compile(r"買って(\d{1,2}|一|二|三|半)(ヶ月|か月|カ月|週間|日)"),
        re.compile(
            r"\bday (\d{1,2}) of owning|\b(\d{1,2}|a|one|two|three|four|five|six) (days?|weeks?) (?:in|old|after)\b"
        ),
    ),
    "since": (
        re.compile(r"(昨日|昨夜|今朝|朝|先週|\d{1,2}日前)から"),
        re.compile(r"\bsince (yesterday|this morning|last night|last week|monday|tuesday|wednesday|thursday|friday)\b"),
    ),
}
_EN_COUNT = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def when_words(text: str, lang: str) -> dict[str, str]:
    """The post's own time words by situation: {"new": "1ヶ月"}, {"since": "yesterday", "urgent": "tonight"}."""
    n = _norm(text)
    out: dict[str, str] = {}
    for cue, (ja, en) in _WHEN.items():
        m = (ja if lang == "ja" else en).search(n)
        if m is None:
            continue
        if lang == "ja":
            out[cue] = m.group(1) + m.group(2) if cue == "new" else m.group(1) or m.group(2) or ""
        elif cue == "new":
            num, unit = (m.group(1), "day") if m.group(1) else (m.group(2), m.group(3).rstrip("s"))
            count = _EN_COUNT[int(num)] if num.isdigit() and int(num) < len(_EN_COUNT) else num
            out[cue] = f"{count} {unit}" if count in ("a", "one") else f"{count} {unit}s"
        else:
            out[cue] = m.group(1)
    return {k: v for k, v in out.items() if v}


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _say(bank: _Combo, seed: int, slot: str, *, avoid: re.Pattern[str] | None = None, **values: str | None) -> str:
    """One option of each part of ``bank``, each chosen independently by ``seed``, filled in with ``values``;
    an option that names a value not given (``{w}`` for a post without time words) is left out of the choice,
    and so is one that matches ``avoid`` (`_APOLOGY` once the reply has apologised), where a part has another."""
    chosen = []
    for i, part in enumerate(bank):
        usable = [o for o in part if all(values.get(k) for k in _PLACEHOLDER.findall(o))] or part
        if avoid is not None:
            usable = [o for o in usable if not avoid.search(o)] or usable
        chosen.append(_pick(usable, seed, f"{slot}{i}"))
    text = "".join(chosen).format(**{k: v or "" for k, v in values.items()})
    return text[:1].upper() + text[1:]


def _carried(sentence: str, replies: Sequence[str], share: float = 0.5) -> bool:
    """Whether most of ``sentence``'s character 3-grams already appear in one of ``replies``."""
    grams = {sentence[i : i + 3] for i in range(len(sentence) - 2)}
    if not grams:
        return False
    for reply in replies:
        other = {reply[i : i + 3] for i in range(len(reply) - 2)}
        if len(grams & other) >= share * len(grams):
            return True
    return False


_APOLOGETIC_CUES = ("new", "since", "upset")
_UPSET_PLAIN_JA: _Combo = (
    ("お気持ちはもっともです。", "お気持ち、よくわかります。", "お気持ち、お察しします。"),
    ("しっかり対応させてください。", "きちんと解決できるよう努めます。", "お力になれるよう努めます。"),
)  # fmt: skip
"""The Japanese upset cue once the reply has apologised: every wording of the cue's own bank apologises."""
_NO_FIX_YET: dict[str, _Combo] = {
    "ja": (("今のところ、", "現時点では、", "すぐには"),
           ("確かな対処法をお伝えできず", "お伝えできる対処法がなく", "はっきりした解決策をご案内できず"),
           ("すみません。", "申し訳ありません。", "心苦しいです。", "心苦しく思います。")),
    "en": (("There's no fix we can point you to just yet, sorry.", "No quick fix we can share yet, sorry.",
            "We don't have a proven fix to share yet.", "Sorry, no reliable workaround to share just yet.",
            "There isn't a home fix we can recommend yet.", "We can't give you a tested workaround yet.",
            "Nothing we'd stand behind as a fix yet, unfortunately.", "A workaround we'd trust isn't ready yet.",
            "This one needs our team, not a guess."),),
}  # fmt: skip


_URGENT_WAIT: dict[str, _Combo] = {
    "ja": (("お急ぎのところ、", "{w}までに必要なところ、", "お急ぎの中、"),
           ("すぐにお答えできず申し訳ありません。", "お待たせしてすみません。", "お時間をいただき申し訳ありません。",
            "できるだけ早く確認します。", "なるべく早くお返事します。")),
    "en": (("Sorry we can't give you a quick fix when you're in a hurry.", "We know time is tight, sorry for the wait.",
            "With {w} so close, sorry we can't be quicker.", "Sorry to keep you waiting when you're short on time.",
            "Bad timing, we know, and we're sorry it needs a check first.",
            "We'd love to have an instant answer for you.", "We'll be as quick as we can.",
            "With {w} so close, we'll move as fast as we can.", "We'll get on it right away."),),
}  # fmt: skip
"""The urgent cue in an escalation: there is no quick answer to give, so the reply says sorry for the wait, or,
when it has apologised already, that it will be quick."""


def _no_home_fix(facts: PostFacts) -> bool:
    """No "try this before sending it in": the customer tried already, asks for the repair itself, or it is an app."""
    return (
        bool(facts.tried)
        or any(t.id == "repair" for t in facts.topics)
        or bool(facts.product and facts.product.tag == "app")
    )


_NOT_URGENT = re.compile(r"急ぎではな|急ぎじゃな|急ぎません|急がな|\bnot urgent\b|\bno rush\b|\bno hurry\b")
_ASKS_FOR_SPEED = ("至急", "急ぎ", "asap", "urgent", "help!")


def _hurries(facts: PostFacts) -> bool:
    """Whether the urgent cue makes the reply hurry: for a post in trouble or asking something, or one that
    asks for speed in so many words (「至急」, "asap"); "stargazing tonight" does not."""
    n = _norm(facts.text)
    if _NOT_URGENT.search(n):
        return False
    return facts.trouble or facts.intent in ("question", "request") or any(w in n for w in _ASKS_FOR_SPEED)


def _cue_sentences(
    facts: PostFacts, seed: int, *, escalating: bool = False, limit: int = 2, apologised: bool = False
) -> list[tuple[str, str]]:
    """Sentences answering the post's situation (urgency, a new purchase, others affected, duration, a
    plain "what do I do", frustration), in the order of `_CUES`, at most ``limit``.

    The cues that announce a fix ("ask", "repair") are left out when the reply has no step to give:
    an escalation, or a post whose author already tried the basics ("repair"). The urgent cue is left out
    for a post that neither is in trouble nor asks anything (`_hurries`). Once the reply has apologised
    (``apologised``: its opening did, or an earlier cue), a cue is worded without another apology.
    """
    n = _norm(facts.text)
    lang = "ja" if facts.lang == "ja" else "en"
    out: list[tuple[str, str]] = []
    for cue in _CUES:
        if any(w in n for w in (cue.ja_words if lang == "ja" else cue.en_words)):
            regret = _APOLOGY if apologised else None  # once the reply has said sorry, a cue does not again
            if cue.name == "urgent" and not _hurries(facts):
                continue  # "stargazing tonight" asks for nothing: no hurry to answer, nothing to be sorry for
            if cue.name == "ask" and escalating and facts.trouble:
                out.append((cue.name, _say(_NO_FIX_YET[lang], seed, cue.name, avoid=regret)))
            elif cue.name == "urgent" and escalating:  # no quick answer to give: say we hurry instead
                out.append(
                    (cue.name, _say(_URGENT_WAIT[lang], seed, cue.name, avoid=regret, w=facts.when.get(cue.name)))
                )
            elif (
                (cue.name == "repair" and _no_home_fix(facts))
                or ((escalating or not facts.trouble) and cue.name in ("ask", "repair"))
                or (cue.name == "ask" and facts.tried)  # "the quickest fix" to one who tried it: the tail says so
            ):
                continue
            elif not facts.trouble and cue.name in (*_APOLOGETIC_CUES, "normal"):
                continue  # a question from a new owner is not a reason to apologise
            else:
                bank = cue.ja if lang == "ja" else cue.en
                if cue.name == "upset" and lang == "ja" and apologised:
                    bank = _UPSET_PLAIN_JA
                out.append((cue.name, _say(bank, seed, cue.name, avoid=regret, w=facts.when.get(cue.name))))
            apologised = apologised or bool(out and _APOLOGY.search(out[-1][1]))
        if len(out) == limit:
            break
    return out


def _pick(options: Sequence[str], seed: int, slot: str) -> str:
    return options[_hash(str(seed), slot) % len(options)]


_CUE_ACKS: dict[str, tuple[_Combo, _Combo, _Combo, _Combo]] = {
    # an opening that names the subject ({s}) and answers the post's situation at once:
    # (ja trouble, en trouble, ja question, en question); trouble openings apologise, and a question
    # gets a situation opening only where its situation changes what to say (urgent, new, others)
    "urgent": (
        (("お急ぎのところ、", "時間がない中、", "{w}までに必要なところ、", "お急ぎの中、"),
         ("{s}でご不便をおかけしてすみません。", "{s}でご迷惑をおかけし、申し訳ありません。",
          "{s}とは、本当に申し訳ございません。", "{s}でお困りとのこと、申し訳ありません。"),
         ("要点だけお伝えします。", "手短にご案内します。", "", "すぐ試せることからお伝えします。")),
        (("Sorry about {s}", "So sorry for {s}", "Apologies for {s}", "Sorry, {s} is the last thing you need"),
         (" with {w} coming up", " when you're in a hurry", " when time is short", ""),
         ("; here's the quick fix.", ". Let's be quick.", ". Straight to it.", ". Here's the fastest thing to try.",
          "!")),
        (("{s}について、", "{s}の件、", "{s}のご質問、"),
         ("お急ぎとのことですので要点だけお伝えします。", "手短にお答えしますね。", "結論から先にお伝えします。",
          "要点をまとめてお伝えします。")),
        (("Quick answer on {s}", "Straight to the point on {s}", "The short version on {s}", "In brief, on {s}"),
         (", since you're in a hurry.", ", as you're short on time.", ".", ", with {w} coming up.")),
    ),
    "new": (
        (("お使い始めたばかりで、", "ご購入から{w}で、", "せっかくの新しい製品なのに、", "ご購入早々に"),
         ("{s}でお困りとは、", "{s}のトラブルとは、", "{s}で"),
         ("残念な思いをさせてしまい申し訳ありません。", "ご迷惑をおかけしてすみません。",
          "お手数をおかけし、申し訳ございません。", "ご不便をおかけしております。")),
        (("Not the start you wanted: sorry about {s}.",
          "A new purchase shouldn't come with {s}, sorry! Let's fix that.",
          "Sorry your first days come with {s}.", "Only {w} in and already {s}? Sorry about that.",
          "Sorry, {s} this early on is no fun."),),
        (("お使い始めの", "新しくお使いの", "ご購入まもない"), ("{s}について、", "{s}の件、"),
         ("ご案内します。", "ご質問ありがとうございます。", "お答えしますね。", "ご連絡ありがとうございます。")),
        (("Welcome aboard!", "Congrats on the new purchase!", "New to it? No problem.",
          "Good question while you're getting set up."),
         (" Here's the answer on {s}.", " Here's what to know about {s}.", " About {s}, here's the answer.")),
    ),
    "others": (
        (("{s}の件、", "{s}について、"),
         ("ご迷惑をおかけしてすみません。", "ご不便をおかけし申し訳ありません。", "ご迷惑をおかけしております。"),
         ("同じようなお声は担当部署にも共有します。", "いただいたお声はチームにも届けます。",
          "こうしたご報告は開発チームにも伝えます。")),
        (("Sorry about {s}", "Sorry for {s}", "Apologies for {s}"),
         ("; reports like yours go straight to the team.", "! Reports like this help us spot patterns.",
          "; we're collecting reports like yours.", ". We're sharing reports like this with the team.")),
        (("{s}について、", "{s}の件、"),
         ("ご案内します。", "お答えしますね。", "わかっていることをお伝えします。", "ご質問ありがとうございます。")),
        (("Here's the answer on {s}.", "Happy to share what we know about {s}.",
          "Good question on {s}; here's what to know.", "Thanks for asking about {s}."),),
    ),
    "since": (
        (("{s}の件、", "{s}について、"),
         ("{w}から続いているとのこと、", "しばらく続いているとのこと、", "長引いてしまい、", "続いているとのこと、"),
         ("お待たせしてすみません。", "ご不便をおかけして申し訳ありません。", "申し訳ございません。",
          "大変ご迷惑をおかけしています。")),
        (("Sorry {s} has dragged on like this.", "Sorry, {s} lingering for days is extra annoying, we get it.",
          "Sorry it's taken this long with {s}.", "Sorry you've had {s} since {w}.",
          "Since {w} with {s} is a long time, sorry."),),
        (),
        (),
    ),
    "repair": (
        (("{s}の件、", "{s}について、"),
         ("ご不便をおかけしてすみません。", "ご迷惑をおかけしています。", "申し訳ありません。"),
         ("修理に出す前に、ご自宅でできる確認があります。", "お預かりの前に、まず試していただきたいことがあります。",
          "修理の前に、一つお試しいただけますか。", "お送りいただく前に、確認していただきたい点があります。")),
        (("Sorry about {s}.", "Sorry for the trouble with {s}.", "Apologies for {s}."),
         (" Before sending it in, there's one thing worth trying.", " You may not need to send it in yet.",
          " It may be fixable at home first.", " Try this before sending it anywhere.")),
        (),
        (),
    ),
    "normal": (
        (("{s}の件、", "{s}について、"),
         ("ご心配をおかけしてすみません。", "ご不安にさせてしまい申し訳ありません。",
          "気になりますよね、申し訳ありません。"),
         ("確認の手順をご案内します。", "", "まず確認したい点があります。")),
        (("Sorry about {s}", "Sorry for the worry over {s}", "Sorry {s} has you wondering"),
         (", and good call asking.", "; thanks for checking with us.", ". Worth asking!", ". Glad you checked.")),
        (),
        (),
    ),
    "ask": (
        (("{s}の件、", "{s}について、"),
         ("申し訳ありません。", "ご不便をおかけしてすみません。", "ご迷惑をおかけしております。"),
         ("いちばん早く試せる方法からご案内します。", "試していただきたいことをお伝えします。",
          "すぐに試せる方法があります。",
          "まずはこちらをお試しください。", "ご自宅でできる対処法があります。")),
        (("Sorry about {s}", "Sorry for the hassle with {s}", "Sorry you're stuck with {s}"),
         ("; here's the quickest fix we know.", ". Here's what we'd try first.", ", there's a quick thing to try.",
          ". Here's where we'd start.", ". Try this first.")),
        (),
        (),
    ),
    "upset": (
        (("{s}で", "{s}の件で"),
         ("お困りのところ、", "困らせてしまい、", "がっかりさせてしまい、", "ご不快な思いをさせてしまい、"),
         ("申し訳ありません。", "本当にすみません。", "申し訳ございません。")),
        (("Fair enough, and sorry about {s}; we'd like to make it right.",
          "We hear you on {s}, sorry! We want to win you back.", "Sorry, {s} isn't the experience we want you to have.",
          "That's fair, and sorry for {s}. Let's fix it.", "Sorry about {s}; we get the frustration."),),
        (),
        (),
    ),
}  # fmt: skip


def _cue_ack(facts: PostFacts, subj: str, seed: int, *, troubled: bool) -> tuple[str, str] | None:
    """(cue, opening) when the post's first situation cue has an opening that names the subject."""
    n = _norm(facts.text)
    at = (0 if facts.lang == "ja" else 1) + (0 if troubled else 2)
    cue = next(
        (
            c
            for c in _CUES
            if _CUE_ACKS.get(c.name, ((), (), (), ()))[at]
            and not (c.name == "repair" and _no_home_fix(facts))
            and not (c.name == "ask" and facts.tried)  # "try this first" to one who tried: the next step instead
            and not (c.name == "urgent" and not _hurries(facts))
            and any(w in n for w in (c.ja_words if facts.lang == "ja" else c.en_words))
        ),
        None,
    )
    if cue is None:
        return None
    return cue.name, _say(_CUE_ACKS[cue.name][at], seed, "cue-ack", s=subj, w=facts.when.get(cue.name))


def _subject_topic(facts: PostFacts) -> Topic | None:
    for wanted in (
        lambda t: t.id not in ("broken", "firmware", "competitor"),
        lambda t: t.id == "firmware",
        lambda t: t.id == "broken",
        lambda t: True,
    ):
        found = next((t for t in facts.topics if wanted(t)), None)
        if found is not None:
            return found
    return None


_SYMPTOMS: dict[str, tuple[tuple[tuple[str, ...], str, str], ...]] = {
    # the post's own symptom, more specific than the topic's name: (words in the post, ja, en)
    "pairing": (
        (
            ("片耳から音", "片耳だけ", "片方から音", "one bud", "right one", "left one"),
            "片耳から音が出ない症状",
            "one earbud going silent",
        ),
        (("音が出ない", "no sound", "silent"), "音が出ない症状", "the missing sound"),
        # a connection that fails or drops is said as such, never "sorry for the connection on your SoraBuds 2";
        # "how do I disconnect them from my old phone" is not a dropout
        (
            (
                "disconnects",
                "disconnecting",
                "disconnected",
                "keeps dropping",
                "drops out",
                "connection drops",
                "cuts out",
                "cutting out",
            ),
            "接続",
            "the connection dropouts",
        ),
        (("t connect", "not connect", "unable to connect", "fails to connect"), "接続", "the connection problem"),
        (("t pair", "not pairing", "fails to pair", "unable to pair"), "ペアリング", "the pairing problem"),
        (("ペアリング", "pair"), "ペアリング", "pairing"),
    ),
    "twofa": (
        (
            ("届かない", "never arrives", "not arriving", "doesn't arrive"),
            "確認コードの未着",
            "the code that never arrives",
        ),
        (("2fa", "二段階", "two-step"), "二段階認証", "two-step verification"),
    ),
    "login": (
        (("忘れ", "forgot"), "パスワードの再設定", "the forgotten password"),
        (("パスワード", "password"), "パスワード", "your password"),
    ),
    "battery": ((("すぐ切れ", "dies fast", "drains", "減りが早"), "バッテリーの減りの早さ", "battery draining fast"),),
    "hardness": (
        # "softer" is what one with too hard rice wants, and "firmer" the other way round
        (("かたすぎ", "硬すぎ", "too hard", "softer"), "ご飯のかたさ", "rice coming out too hard"),
        (("柔らか", "やわらか", "too soft", "mushy", "firmer"), "ご飯のやわらかさ", "rice coming out too soft"),
    ),
    "maintenance": (
        (("フィルター", "filter"), "フィルターのお手入れ", "filter care"),
        (("交換時期", "how often", "replace parts"), "部品の交換時期", "when to replace parts"),
    ),
    "warranty": ((("延長", "extend", "length", "how long"), "保証期間の延長", "how long the warranty lasts"),),
    "crash": (
        (("更新したら", "after the update"), "更新後に落ちる症状", "crashes since the update"),
        (("落ちる", "crash"), "アプリが落ちる症状", "the crashes"),
    ),
    "firmware": (
        (("失敗", "fails", "failed"), "ファームウェア更新の失敗", "the failed firmware update"),
        (("after the update", "更新後"), "更新後の不具合", "trouble since the update"),
    ),
    "repair": ((("修理に出", "send it in", "needs a repair"), "修理のご依頼", "getting it repaired"),),
}


_FAILURE_SYMPTOMS = frozenset(
    (
        "one earbud going silent", "the missing sound", "the connection dropouts", "the connection problem",
        "the pairing problem", "the code that never arrives", "the forgotten password", "battery draining fast",
        "crashes since the update", "rice coming out too hard", "rice coming out too soft",
        "the crashes", "the failed firmware update", "trouble since the update",
    )
)  # fmt: skip
"""Symptoms (their English names) that are a failure: a plain how-to question is never told it has one."""


def _topic_name(facts: PostFacts, topic: Topic) -> tuple[str, str]:
    """The topic as this post puts it (its symptom when the table knows it), in (ja, en); a symptom that is a
    failure never for a plain how-to question (「片耳だけでも使えますか」 is not about one bud going silent)."""
    n = _norm(facts.text)
    for words, ja, en in _SYMPTOMS.get(topic.id, ()):
        if any(_has_word(n, w) for w in words) and not (facts.how_to and en in _FAILURE_SYMPTOMS):
            return ja, en
    return topic.ja, topic.en


_EN_NOUNS = (
    "mic", "microphone", "case lid", "case", "lid gasket", "gasket", "lid", "status light", "map", "dock",
    "charging base", "base", "side brushes", "side brush", "brushes", "wheels", "cliff sensor", "sensor", "layout",
    "notifications", "permissions", "permission", "location", "schedule", "voice prompts", "volume",
    "touch controls", "ear tips", "eartips", "discount", "price", "store", "booth", "chat support", "emails",
    "design", "timer", "clock", "manual", "recall", "serial number", "display", "buttons", "cable", "devices",
    "account", "inner pot", "keep-warm", "steam", "noise", "sound quality", "plastic", "ads", "invoice", "receipt",
)  # fmt: skip
"""Things a post can be about that the topic table has no entry for (generic device, app and store words)."""
_GENERIC_NOUNS_JA = frozenset(
    (
        "一切", "日", "客", "こと", "もの", "物", "事", "製品", "商品", "件", "方", "時", "今日", "昨日", "今朝",
        "今", "前", "後", "感じ", "気", "全部", "本当", "普通", "週間", "時間", "毎日", "毎朝", "最近", "自分",
        "私", "俺", "人", "皆", "みんな", "何", "家族", "家", "子供", "親", "母", "父", "正直", "とりあえず", "笑",
        "草", "値段", "以前", "指示", "全て", "返信", "テスト", "お世話", "恐れ入り", "うち", "名前", "期待",
        "かまど", "おかげ", "先日", "先週", "先月",
    )
)  # fmt: skip


def _post_noun(facts: PostFacts) -> str | None:
    """The first thing the post names that is not the brand or a product (when no topic matched)."""
    return _first_noun(facts.text, facts.lang)


_BRAND_WORDS = ("星空", "電機", "hoshizora", "アプリ", *(a.strip() for p in PRODUCTS for a in p.aliases))


@lru_cache(maxsize=1)
def _tokenizer() -> Tokenizer:
    """The offline model's own Sudachi tokenizer: the knowledge index's one is locked while it indexes."""
    return Tokenizer()


@lru_cache(maxsize=1024)
def _first_noun(text: str, lang: str) -> str | None:
    if _INJECTION.search(_norm(text)):
        return None  # never echo words from a post that tries to instruct us
    text = re.sub(r"https?://\S+|[@＠][\w.]+", " ", text)  # a handle or a link is not what the post is about
    n = _norm(text)
    if lang == "ja":
        for noun in _tokenizer().noun_phrases(text):
            noun = re.sub(r"[wｗ]{2,}$", "", noun)  # 「迷子ｗｗｗ」 is about 迷子
            low = _norm(noun)
            if 1 < len(noun) <= 20 and noun not in _GENERIC_NOUNS_JA and not any(b in low for b in _BRAND_WORDS):
                return noun
        return None
    found = [
        (i, -len(w), w)
        for w in _EN_NOUNS
        if (m := re.search(rf"(?<!in )\b{re.escape(w)}\b", n)) and (i := m.start()) >= 0
    ]
    return min(found)[2] if found else None


def _subject(facts: PostFacts, seed: int = 0) -> str:
    """What the post is about, in a phrase for the reply to name: product, error code, symptom."""
    topic = _subject_topic(facts)
    p = facts.product
    name_ja, name_en = _topic_name(facts, topic) if topic else ("", "")
    bare = name_en.removeprefix("the ")  # "the {bare} on your …", never "the the …"
    form = _hash(str(seed), "subject") % 3
    if facts.lang == "ja":
        if p and facts.code:
            return (
                f"{p.ja}の「{facts.code}」表示",
                f"{p.ja}に出た「{facts.code}」",
                f"{p.ja}の「{facts.code}」エラー",
            )[form]
        if p and topic and topic.id not in ("charger", "shipping", "order_change", "hours"):
            return f"{p.ja}の{name_ja}"
        if topic:
            return name_ja
        noun = _post_noun(facts)
        if noun:
            return f"{p.ja}の{noun}" if p else noun
        return p.ja if p else "ご連絡の内容"
    if p and facts.code:
        return (
            f"the {facts.code} error on your {p.en}",
            f"your {p.en} showing {facts.code}",
            f"{facts.code} on your {p.en}",
        )[form]
    if p and topic and topic.id not in ("charger", "shipping", "order_change", "hours", "refund", "scam", "competitor"):
        if topic.id == "broken":
            return f"your {p.en} not working"
        if name_en.startswith("a "):  # "a safety concern with your KAMADO K-3"
            return f"{name_en} with your {p.en}"
        if name_en.startswith("your "):  # never "… about your feature request about your Hoshizora app"
            return f"{name_en} regarding the {p.en}"
        if topic.problem or name_en != topic.en:
            return (f"the {bare} on your {p.en}", f"{name_en} with your {p.en}", f"the {bare} on the {p.en}")[form]
        return (f"{name_en} for the {p.en}", f"the {p.en}'s {bare}", f"{name_en} on the {p.en}")[form]
    if topic:
        return name_en
    noun = _post_noun(facts)
    if noun:
        return (
            (f"the {noun} on your {p.en}", f"your {p.en}'s {noun}", f"the {p.en} {noun}")[form] if p else f"the {noun}"
        )
    return f"your {p.en}" if p else "your post"


# --- composing ---------------------------------------------------------------------------------------------------


@dataclass
class Composition:
    text: str
    language: str
    citations: list[dict[str, Any]]
    needs_dm: bool
    action: str
    escalate_to: str | None
    rationale: str

    def args(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "language": self.language,
            "citations": self.citations,
            "needs_dm": self.needs_dm,
            "action": self.action,
            "escalate_to": self.escalate_to,
            "rationale": self.rationale,
        }


def _post_kind(facts: PostFacts, troubled: bool) -> str:
    """What an escalation answers: ``trouble`` (something is wrong), a ``question``, or ``other`` (feedback,
    news, a comment): each gets its own wording, so a comment is not asked "when did the symptom start"."""
    if troubled:
        return "trouble"
    if facts.intent == "question" or _QUESTION.search(facts.text):
        return "question"
    return "other"


_QUESTION = re.compile(
    r"[?？]|(?:ますか|ですか|でしょうか)[。！!]*$"
    r"|(?:^|[.!]\s+)(?:how|can|does|do|is|are|will|where|when|which|why|what(?! an?\b))\b",
    re.IGNORECASE | re.MULTILINE,
)
"""A real question: a question mark, a question ending, or a sentence opening with an interrogative
("What a joke of a company." is not one)."""

_ESC_ACKS: dict[tuple[str, str], _Combo] = {
    ("ja", "trouble"): (
        ("{s}の件、", "{s}について、", "{s}で、"),
        ("ご不便をおかけして申し訳ございません。", "お困りとのこと、大変申し訳ございません。",
         "ご心配をおかけしております。申し訳ございません。", "ご迷惑をおかけしてすみません。",
         "お困りの状況を拝見しました。申し訳ございません。", "ご不安な思いをさせてしまい、申し訳ありません。"),
    ),
    ("ja", "question"): (
        ("{s}について", "{s}の件、", "{s}について、"),
        ("ご質問ありがとうございます。", "お問い合わせいただき、ありがとうございます。",
         "お尋ねいただきありがとうございます。",
         "ご連絡ありがとうございます。", "気にかけていただきありがとうございます。"),
    ),
    ("ja", "other"): (
        ("{s}について、", "{s}の件、"),
        ("拝見しました。", "お知らせいただきありがとうございます。", "貴重なお声をありがとうございます。",
         "ご意見ありがとうございます。", "ご投稿ありがとうございます。"),
    ),
    ("en", "trouble"): (
        ("Sorry about {s}.", "We're sorry for the trouble with {s}.", "Sorry you're dealing with {s}.",
         "Apologies for {s}.", "Sorry to hear about {s}.", "That's not good, sorry about {s}."),
    ),
    ("en", "question"): (
        ("Thanks for asking about {s}.", "Good question on {s}.", "Thanks for reaching out about {s}.",
         "Thanks for the question about {s}.", "Fair question on {s}.", "Glad you asked about {s}."),
    ),
    ("en", "other"): (
        ("Thanks for telling us about {s}.", "We saw your post on {s}.", "Thanks for sharing this about {s}.",
         "Noted on {s}, thank you.", "Thanks for the heads-up on {s}.", "Thanks for flagging {s}."),
    ),
}  # fmt: skip

_ESC_SENTENCES: dict[tuple[str, str], _Combo] = {
    # every Japanese one says 「確認中です」 and every English one "looking into it": reviewers and the
    # evals look for exactly that
    ("ja", "trouble"): (
        (
            "担当部署にて",
            "現在、担当者が",
            "ただいま社内で",
            "詳しい者が状況を",
            "製品担当と連携して",
            "技術担当が原因を",
            "いただいた内容をもとに、担当チームが",
            "同じ症状が出ていないかも含めて",
            "推測でお答えするのは控え、正確な情報を",
            "原因について、担当者が",
        ),
        ("確認中です。",),
        (
            "分かり次第ご案内いたします。",
            "もう少しお時間をください。",
            "改めてご連絡いたします。",
            "進展があればご報告します。",
            "お返事まで少々お待ちください。",
            "しばらくお待ちいただけますでしょうか。",
            "わかり次第こちらでお知らせします。",
        ),
    ),
    ("ja", "question"): (
        (
            "担当部署に",
            "詳しい担当者が",
            "ただいま社内で",
            "推測でお答えするのは控え、",
            "正確な情報を",
            "担当者が詳細を",
            "正しい情報をお伝えできるよう、",
        ),
        ("確認中です。",),
        (
            "分かり次第こちらでお答えします。",
            "少しお時間をください。",
            "改めてご案内いたします。",
            "お返事まで少々お待ちください。",
            "このスレッドでお答えします。",
            "わかり次第お知らせします。",
        ),
    ),
    ("ja", "other"): (
        (
            "いただいたお声は担当部署に共有し、",
            "担当部署で",
            "ご意見をしっかり受け止め、社内で",
            "担当チームにも共有したうえで、",
            "関係部署と",
            "内容を担当部署に伝え、",
        ),
        ("確認中です。",),
        (
            "",
            "お伝えできることがあればこちらからご連絡します。",
            "必要に応じてご連絡いたします。",
            "進展があればお知らせします。",
        ),
    ),
    ("en", "trouble"): (
        ("", "We'd rather check than guess, so ", "We don't have an answer yet, but ", "Thanks for your patience: ",
         "To be sure, ", "Rather than guess, "),
        ("we're looking into it", "our team is on it", "the right people are looking into it",
         "we're checking it with our product specialists", "support is looking into it now",
         "an engineer is checking it", "we're already looking into it"),
        (" and will update you soon.", " and will get back to you here.", "; you'll hear from us here.",
         ", and we'll follow up once we know more.", " and will be back in touch.", ".", " and will report back.",
         "; more soon."),
    ),
    ("en", "question"): (
        ("", "We'd rather give you the right answer than a guess, so ", "Honest answer: we're not sure yet, so ",
         "Our guides don't cover this yet, so ", "To give you a proper answer, "),
        ("we're looking into it", "the team is looking into it", "we're looking into it for you",
         "someone who knows is looking into it", "we're looking into it now"),
        (" and will answer here.", " and will reply in this thread.", ".", ", and we'll get back to you soon.",
         "; expect an answer here.", " and will come back with the details."),
    ),
    ("en", "other"): (
        ("", "Thanks for raising it; ", "Your feedback is with the team, and ", "We've passed this on, and ",
         "It's been shared internally, and "),
        ("we're looking into it", "the team concerned is looking into it"),
        (".", " internally.", " and will follow up if there's anything to share."),
    ),
}  # fmt: skip


_ANSWER_ACKS: dict[tuple[str, str], _Combo] = {
    ("ja", "trouble"): (
        ("{s}の件、", "{s}で、", "{s}について、", "せっかくお使いいただいているのに、{s}で",
         "ご連絡ありがとうございます。{s}の件、", "{s}でお困りとのこと、"),
        ("ご不便をおかけして申し訳ございません。", "ご迷惑をおかけしております。", "申し訳ありません。",
         "ご心配をおかけして申し訳ありません。", "お手数をおかけしてすみません。"),
    ),
    ("ja", "question"): (
        ("{s}について、", "{s}の件、", "{s}ですね。", "{s}に関して、"),
        ("ご質問ありがとうございます。", "お問い合わせありがとうございます。", "お答えします。", "ご案内いたします。",
         "ご連絡ありがとうございます。"),
    ),
    ("en", "trouble"): (
        ("Sorry about {s}", "We're sorry you're running into {s}", "Thanks for flagging {s}, and sorry for the hassle",
         "That sounds frustrating, sorry about {s}", "Apologies for the trouble with {s}", "Sorry to hear about {s}"),
        (".", "; let's get it sorted.", ". Let's fix it.", ", and we're on it.", ". Here's what to do."),
    ),
    ("en", "question"): (
        ("Thanks for asking about {s}", "Good question about {s}", "Happy to help with {s}",
         "Thanks for reaching out about {s}", "Glad you asked about {s}", "Thanks for the question on {s}"),
        (".", "!", ", here's the answer.", "; here's what we know.", ", here's how it works."),
    ),
}  # fmt: skip
"""The opening of a reply that answers from the knowledge: the subject, then thanks or an apology."""

_ANSWER_CLOSES: dict[tuple[str, str], _Combo] = {
    # a trouble reply invites the customer back if the step did not work; an answer to a question does not
    ("ja", "trouble"): (
        ("解決しない場合は", "うまくいかなければ", "それでも直らなければ", "改善しないときは",
         "変わらないようでしたら"),
        ("お気軽にご連絡ください。", "いつでもお知らせください。", "またお声がけください。",
         "もう一度ご連絡ください。"),
    ),
    ("ja", "question"): (
        ("ほかにも気になる点があれば", "何かあれば", "ご不明な点があれば", "わかりにくい点があれば",
         "ほかにご質問があれば"),
        ("お気軽にご連絡ください。", "いつでもお知らせください。", "またお声がけください。",
         "遠慮なくお尋ねください。"),
    ),
    ("en", "trouble"): (
        ("Let us know if that doesn't do it.", "Tell us how it goes.", "Let us know if it's still acting up.",
         "We're here if it keeps happening.", "Tell us if that doesn't fix it.", "Keep us posted.",
         "Shout if it's still misbehaving."),
    ),
    ("en", "question"): (
        ("Hope that helps!", "Let us know if you need anything else.", "Happy to help with anything else.",
         "Any other questions, just ask.", "Tell us if anything's unclear.", "Hope this clears it up.",
         "Anything else, we're here."),
    ),
}  # fmt: skip
_TRIED: dict[str, _Combo] = {
    "ja": (("すでにご自身でお試しいただいたとのこと、ありがとうございます。", "ご確認済みの点を踏まえてご案内します。",
            "いろいろお試しいただいたのですね。次の手順をご案内します。"),),
    "en": (("Thanks for already trying the basics.", "Since you've already tried the usual fix, here's the next step.",
            "You've covered the basics, so here's what comes next."),),
}  # fmt: skip


_PRAISE_ACKS: dict[str, _Combo] = {
    # {t}: what the post praised ("SoraBuds 2の音質", "the battery life on your SoraBuds 2")
    "ja": (
        ("{t}を気に入っていただけて、", "{t}についての温かいお言葉、", "{t}をお楽しみいただけているとのこと、",
         "{t}へのお褒めの言葉、", "{t}を楽しんでいただけて、", "{t}のうれしいご感想、"),
        ("とても嬉しいです！", "ありがとうございます！", "励みになります。", "本当にうれしいです。", "光栄です！"),
    ),
    "en": (
        ("Thank you for the kind words about {t}!", "So glad to hear you're enjoying {t}.",
         "That's wonderful to hear about {t}.", "It makes our day that {t} worked so well for you.",
         "Love hearing this about {t}.", "Thanks for the shout-out for {t}!"),
        ("", " Thanks for sharing!", " We'll pass it on to the team.", " Thank you!"),
    ),
}  # fmt: skip
_PRAISE_NOUN: dict[str, _Combo] = {
    # a second sentence of a thank-you that names what the post praised, in the post's own words ({n})
    "ja": (("{n}のお話、", "{n}についての一言、", "{n}のこと、"),
           ("開発チームにも伝えますね。", "とても励みになります。", "チーム一同よろこんでいます。",
            "しっかり共有します。")),
    "en": (("We'll pass the bit about the {n} on to the team.", "Glad the {n} made a difference.",
            "Noted on the {n}, that's great to hear.", "The team will love hearing about the {n}."),),
}  # fmt: skip
_PRAISE_CONTEXT: dict[str, _Combo] = {
    "ja": (("{c}のお供にしていただけて何よりです。", "{c}でも活躍しているようでうれしいです。",
            "{c}でお役に立てて光栄です。"),),
    "en": (("Glad to be part of {c}.", "Great to hear it made {c} better.", "Happy it fits into {c} so well."),),
}  # fmt: skip
_PRAISE_CLOSES: dict[str, _Combo] = {
    "ja": (("これからもどうぞよろしくお願いいたします。", "今後ともご愛用いただけますと幸いです。",
            "また使い心地を聞かせてください。",
            "これからも毎日のお供にしていただけたらうれしいです。", "今後ともよろしくお願いいたします。",
            "またいつでも感想をお聞かせください。"),),
    "en": (("Enjoy!", "Thanks for being with us.", "Here's to many more days together.",
            "Tell us anytime how it's going.",
            "Glad it's working out for you."),),
}  # fmt: skip


_ESC_PLAIN_ACKS: dict[tuple[str, str], _Combo] = {
    # an opening without the subject, when the escalation sentence names it instead (`_subject_in_escalation`)
    ("ja", "trouble"): (("ご不便をおかけして申し訳ございません。", "お困りのところ、申し訳ありません。",
                         "ご連絡ありがとうございます。ご迷惑をおかけしております。",
                             "ご心配をおかけしてすみません。"),),
    ("ja", "question"): (("ご質問ありがとうございます。", "お問い合わせありがとうございます。",
                          "お尋ねいただき、ありがとうございます。"),),
    ("ja", "other"): (("ご投稿ありがとうございます。", "お声をお寄せいただき、ありがとうございます。",
     "拝見しました。"),),
    ("en", "trouble"): (("Sorry for the trouble.", "We're sorry about this.", "Sorry to hear this.",
                         "Thanks for telling us, and sorry.", "That's frustrating, sorry.", "Ugh, sorry about that.",
                         "Sorry, that shouldn't happen."),),
    ("en", "question"): (("Thanks for the question.", "Good question!", "Thanks for asking.", "Fair question.",
                          "Thanks for checking with us.", "Glad you asked."),),
    ("en", "other"): (("Thanks for letting us know.", "Thanks for the post.", "Appreciate you sharing this.",
                       "Thanks for flagging this.", "Noted, thank you."),),
}  # fmt: skip
_ESC_SUBJECT_LEADS = {
    "ja": ("{s}については、", "{s}の件は、", "{s}について、"),
    "en": ("On {s}, ", "As for {s}, ", "About {s}: ", "Regarding {s}, "),
}
_GENERIC_SUBJECTS = ("your post", "ご連絡の内容")
"""What `_subject` says when it knows nothing about the post: never named as if it were a subject."""


def _subject_in_escalation(subj: str, seed: int) -> bool:
    """Whether an escalation names the subject in its "looking into it" sentence (one in three) rather than
    in its opening: two escalations then differ in how they are built, not only in their words."""
    return subj not in _GENERIC_SUBJECTS and _hash(str(seed), "esc-form") % 3 == 0


def _escalation_ack(facts: PostFacts, subj: str, seed: int, kind: str, *, repeat: bool) -> str:
    if repeat and kind == "trouble":
        return (
            f"たびたびご迷惑をおかけし、申し訳ございません。{subj}の件を承りました。"
            if facts.lang == "ja"
            else f"Sorry again for the hassle with {subj}."
        )
    lang = facts.lang if facts.lang == "ja" else "en"
    if subj in _GENERIC_SUBJECTS or _subject_in_escalation(subj, seed):
        return _say(_ESC_PLAIN_ACKS[(lang, kind)], seed, "eack")
    return _say(_ESC_ACKS[(lang, kind)], seed, "eack", s=subj)


_PRODUCT_TEAM = re.compile(r"product specialists|製品担当|技術担当|同じ症状")


def _escalation_sentence(facts: PostFacts, subj: str, seed: int, kind: str, *, dept: str = "support") -> str:
    bank = _ESC_SENTENCES[(facts.lang if facts.lang == "ja" else "en", kind)]
    if dept in ("legal", "pr"):  # a data leak or a public storm is not for the product team
        bank = tuple(tuple(o for o in part if not _PRODUCT_TEAM.search(o)) or part for part in bank)
    if not _subject_in_escalation(subj, seed):
        return _say(bank, seed, "esc")
    text = _say((("",), *bank[1:]), seed, "esc")  # the subject is the lead-in: no second one
    lang = "ja" if facts.lang == "ja" else "en"
    lead = _pick(_ESC_SUBJECT_LEADS[lang], seed, "esc-lead").format(s=subj)
    return lead + (text if lang == "ja" else text[:1].lower() + text[1:])


_DM_BY_KIND: dict[tuple[str, str], tuple[str, ...]] = {
    ("ja", "question"): (
        "ご不明な点は @hoshizora_support へのDMでもお気軽にどうぞ。",
        "DM（@hoshizora_support）でも承りますので、お気軽にどうぞ。",
        "詳しくお知りになりたい点があれば、@hoshizora_support にDMをお送りください。",
        "ほかにも気になることがあれば、@hoshizora_support へのDMでお聞かせください。",
        "DMでのご質問も歓迎です。",
        "DMでもお気軽にご相談ください。",
    ),
    ("ja", "other"): (
        "よろしければ、@hoshizora_support へのDMで詳しくお聞かせください。",
        "詳しいお話は @hoshizora_support へのDMで伺えます。",
        "もう少しお聞かせいただける場合は、@hoshizora_support へDMをお送りください。",
        "よろしければDMで詳しく教えてください。",
        "詳しいお話はDMでも伺います。",
    ),
    ("en", "question"): (
        "You can also DM @hoshizora_support any time.",
        "Questions by DM are welcome too: @hoshizora_support.",
        "Feel free to DM @hoshizora_support if you'd like more detail.",
        "If anything else comes up, @hoshizora_support takes DMs.",
        "Our DMs are open too.",
        "You can also DM us anytime.",
    ),
    ("en", "other"): (
        "If you'd like to tell us more, DM @hoshizora_support.",
        "Our DMs at @hoshizora_support are open if you want to share more.",
        "Happy to hear more by DM at @hoshizora_support.",
        "Feel free to DM us with more.",
        "DM us if you'd like to share more.",
    ),
}


_DM_TROUBLE: dict[str, _Combo] = {
    # asking for what helps with a product's trouble: what it does, since when, the model
    "ja": (
        ("", "よろしければ、", "差し支えなければ、", "個別に確認いたしますので、", "お手数ですが、"),
        ("詳しい状況を", "お使いの型番と症状を", "いつ頃からの症状かを", "ご利用の環境と症状を", "症状の詳細を"),
        ("@hoshizora_support へのDMで", "DM（@hoshizora_support）で", "DMで", "こちらのアカウントへのDMで"),
        ("お聞かせください。", "教えていただけますか。", "お知らせいただけると助かります。",
         "お送りいただけますでしょうか。"),
    ),
    "en": (
        ("Feel free to DM", "Please DM", "If you can, DM", "Send a DM to", "DM"),
        (" @hoshizora_support", " us", " us at @hoshizora_support"),
        (" with more details", " with what you're seeing", " with when it started", " with a few details"),
        (".", " so we can dig in.", " and we'll follow up.", " and we'll take it from there."),
    ),
}  # fmt: skip


def _dm_sentence(facts: PostFacts, seed: int, kind: str = "trouble") -> str:
    """The sentence that moves the matter to DM: privacy, an order, or (by ``kind``) more detail."""
    opts: tuple[str, ...]
    if not facts.pii and not facts.order_matter and (kind != "trouble" or facts.product is None):
        # the trouble bank asks for the model and the symptom: only a product has those
        kind = "other" if kind == "trouble" else kind
        return _pick(_DM_BY_KIND[(facts.lang if facts.lang == "ja" else "en", kind)], seed, "dm")
    if facts.lang == "ja":
        if facts.pii:
            opts = (
                "個人情報を守るため、公開の投稿ではなく @hoshizora_support へのDMで詳細をお知らせください。",
                "お客様の情報保護のため、詳しい内容はDM（@hoshizora_support）でお送りいただけますでしょうか。",
                "大切な個人情報ですので、続きは @hoshizora_support へのDMにてお願いいたします。",
                "公開の場ではなく、@hoshizora_support へのDMで続きをお聞かせください。",
                "個人情報は公開の投稿に書かず、DMでお知らせいただけますか。",
            )
        elif facts.order_matter:
            opts = (
                "ご注文の状況を個別にお調べしますので、@hoshizora_support までDMをお送りください。",
                "ご購入状況を確認いたしますので、お手数ですがDM（@hoshizora_support）でご連絡をお願いいたします。",
                "個別に確認のうえご案内しますので、@hoshizora_support へDMをいただけますでしょうか。",
                "ご注文に関わる内容ですので、続きは @hoshizora_support とのDMでお願いします。",
                "ご注文の詳細はDMで伺いますので、こちらのアカウントへメッセージをお送りください。",
            )
        else:
            return _say(_DM_TROUBLE["ja"], seed, "dm")
    elif facts.pii:
        opts = (
            "To keep your details private, please DM @hoshizora_support rather than posting them publicly.",
            "For your privacy, please send the details by DM to @hoshizora_support and we'll take it from there.",
            "Personal details are safest in a direct message, so please DM @hoshizora_support to continue.",
            "Please keep personal details out of public posts and DM us instead.",
        )
    elif facts.order_matter:
        opts = (
            "Could you DM @hoshizora_support so we can check your order privately?",
            "Please send us a DM at @hoshizora_support and we'll look up the order details with you.",
            "We'd like to check your purchase privately, so please DM @hoshizora_support.",
            "DM us and we'll go through the order with you privately.",
        )
    else:
        return _say(_DM_TROUBLE["en"], seed, "dm")
    return _pick(opts, seed, "dm")


_TAGS_AND_LINKS = re.compile(r"[@#][\w-]+|https?://\S+")


def _bare_mention(text: str) -> bool:
    """Nothing but our name: once handles, hashtags, links, our brand and product names and everything that is
    not a letter are taken out, at most four characters are left ("Hoshizora", "#SoraBuds2 #unboxing",
    「＠hoshizora_support テスト」). A post with anything more to say is read, never only liked."""
    rest = _TAGS_AND_LINKS.sub(" ", _norm(text))
    for word in _BRAND_WORDS:
        rest = rest.replace(word, " ")
    return len(re.sub(r"[\W_\d]+", "", rest)) <= 4


def _no_words(facts: PostFacts, action: str, rationale: str) -> Composition:
    """A decision that writes nothing: ``ignore`` or ``like_only``."""
    return Composition(
        text="",
        language=facts.lang,
        citations=[],
        needs_dm=False,
        action=action,
        escalate_to=None,
        rationale=rationale,
    )


def compose_reply(
    facts: PostFacts,
    entries: Sequence[Entry],
    *,
    history: Sequence[dict[str, Any]] = (),
    salt: int = 0,
    avoid: frozenset[str] = frozenset(),
    unlike: Sequence[str] = (),
    lean: bool = False,
) -> Composition:
    """Compose a reply from the post's facts and the retrieved entries (deterministic for given inputs).

    ``unlike`` are replies this one must not resemble (a template finding named them): a step sentence
    they already carry gives way to the entry's next relevant step, when it has one. ``lean``: only the
    step, no second fact from the entry (what two answers to one question share most).
    """
    seed = _hash(facts.text, facts.instructions or "", str(salt))
    answer, policy = choose_entries(entries, facts)
    ja = facts.lang == "ja"
    subj = _subject(facts, seed)
    p = facts.product
    safety = next((t for t in facts.topics if t.department in ("quality", "legal")), None)
    high_reach = facts.flame_risk >= 70 or (facts.followers >= 50_000 and facts.sentiment == "negative")
    repeat = bool(history) and facts.trouble
    citations: list[dict[str, Any]] = []
    parts: list[tuple[str, str]] = []
    needs_dm = facts.pii or facts.order_matter
    action = "reply"
    escalate_to: str | None = None
    why: list[str] = []
    if facts.injection:
        why.append("the post contains instructions to the assistant; treated as data and ignored")

    tried_tail = ""
    opened_with: str | None = None  # the situation cue the opening sentence answers, if any
    st = _subject_topic(facts)
    troubled = facts.trouble and (
        facts.code is not None
        or st is None
        or st.problem
        # "the battery dies fast", "the update fails": a question topic with a problem word is trouble
        or (st.id in ("battery", "firmware") and any(t.id == "broken" for t in facts.topics))
    )
    kind = _post_kind(facts, troubled)  # trouble, question or comment: how escalations and DMs are worded
    policy_topic = next((t.id for t in facts.topics if t.id in ("refund", "scam", "competitor")), None)
    if not facts.brand:
        return _no_words(facts, "ignore", "not about Hoshizora Denki or its products: no reply")
    if (
        kind == "other"
        and not facts.praise
        and not facts.topics
        and facts.code is None
        and facts.intent == "other"
        and facts.sentiment != "negative"
        and not (facts.pii or facts.injection or high_reach)
        and _bare_mention(facts.text)
    ):
        # a bare mention ("Hoshizora", "#SoraBuds2 #unboxing"): nothing to answer, escalate or look into
        return _no_words(facts, "like_only", "a mention with nothing to answer: a like, no words")
    if facts.praise:
        aspect = "と".join(a[0] for a in facts.aspects) if ja else " and ".join(a[1] for a in facts.aspects)
        name = p.ja if (p and ja) else (p.en if p else ("星空電機の製品" if ja else "Hoshizora"))
        ctx = facts.context
        noun = _post_noun(facts)  # what the post praises in its own words, said back in a second sentence
        lang_key = "ja" if ja else "en"
        if ja:
            what = f"{name}の{aspect}" if aspect else name
        else:
            what = f"the {aspect} on your {name}" if aspect and p else (f"your {name}" if p else name)
        parts.append(("ack", _say(_PRAISE_ACKS[lang_key], seed, "praise", t=what)))
        if noun and not ctx and noun not in what:
            parts.append(("detail", _say(_PRAISE_NOUN[lang_key], seed, "noun", n=noun)))
        if ctx:
            parts.append(("detail", _say(_PRAISE_CONTEXT[lang_key], seed, "ctx", c=ctx[0] if ja else ctx[1])))
        parts.append(("close", _say(_PRAISE_CLOSES[lang_key], seed, "pclose")))
        if policy:
            citations.append({"key": policy.key, "revision": policy.revision})
        why.append("praise: thank specifically, no apology")
    elif answer is None and policy is not None and policy_topic and safety is None and not high_reach:
        parts += _policy_reply(facts, policy_topic, subj, troubled, seed)
        citations.append({"key": policy.key, "revision": policy.revision})
        # impersonation: the answer is "we never ask for that"; no DM invitation in a phishing context
        needs_dm = (needs_dm or policy_topic == "refund") and policy_topic != "scam"
        why.append(f"answered from policy {policy.key}")
    elif safety is not None or answer is None or high_reach or facts.unanswerable:
        dept = safety.department if safety is not None else ("pr" if high_reach else "support")
        escalate_to = dept
        action = "escalate"
        parts.append(("ack", _escalation_ack(facts, subj, seed, kind, repeat=repeat)))
        parts.append(("esc", _escalation_sentence(facts, subj, seed, kind, dept=dept or "support")))
        if safety is not None and safety.department == "quality":
            parts.insert(
                1,
                (
                    "safety",
                    "安全のため、いったん使用を中止してください。"
                    if ja
                    else "For your safety, please stop using it for now.",
                ),
            )
        needs_dm = True
        if policy:
            citations.append({"key": policy.key, "revision": policy.revision})
        reason = (
            "safety/legal topic"
            if safety
            else "high reach"
            if high_reach
            else "a question the knowledge does not cover"
            if facts.unanswerable
            else "no matching entry in the post's language"
        )
        why.append(f"escalated to {dept}: {reason}")
    else:
        lang_key = "ja" if ja else "en"
        tried = troubled and bool(facts.tried)  # the tried tail may announce the step: the opening does not
        ack = _say(
            _ANSWER_ACKS[(lang_key, "trouble" if troubled else "question")],
            seed,
            "ack",
            avoid=_ANNOUNCES_STEP if tried else None,
            s=subj,
        )
        if tried:
            tried_tail = ("" if ja else " ") + _say(_TRIED[lang_key], seed, "tried")
        if troubled and repeat:
            ack = (
                f"たびたびご不便をおかけし申し訳ございません。{subj}の件ですね。"
                if ja
                else f"Sorry again for the trouble with {subj}."
            )
        cue_ack = _cue_ack(facts, subj, seed, troubled=troubled) if not repeat else None
        parts.append(("ack", (cue_ack[1] if cue_ack else ack) + tried_tail))
        if cue_ack:
            opened_with = cue_ack[0]
        cands = [c for c in _step_candidates(answer, facts, troubled) if not any(a in c[2] for a in avoid)]
        window = 0.5 if troubled else 1.5  # trouble: the best step (or a near tie); a question: any good answer
        if unlike and cands:
            # the good steps the other replies did not use come first; never one that does not answer
            # ("お預かりからご返却までの目安" for "how do I send it in")
            fresh = [c for c in cands if c[0] >= cands[0][0] - window and c[0] > 0 and not _carried(c[2], unlike)]
            if fresh:
                cands = fresh + [c for c in cands if c not in fresh]
        safe = [c for c in cands if not _RISKY.search(c[2])]  # "free of charge" would only be flagged
        cands = safe if any(c[0] > 0 for c in safe) else cands
        if not facts.tried:  # a fallback ("それでも…場合は") is the first step only for one who tried the rest
            firsts = [c for c in cands if c[0] > 0 and not _FALLBACK.search(c[2])]
            cands = firsts + [c for c in cands if c not in firsts] if firsts else cands
        top = [c for c in cands if c[0] >= cands[0][0] - window and c[0] > 0][:4] or cands[:1] if cands else []
        if not facts.tried:
            top = [c for c in top if not _FALLBACK.search(c[2])] or top
        if troubled:  # something is wrong: a step to take, not an explanation of the error
            top = [c for c in top if (_ACTION_JA if ja else _ACTION_EN).search(c[2])] or top
        first = top[_hash(str(seed), "step") % len(top)] if top else None
        if first:
            parts.append(("step", _paraphrase_step(first[2], facts, _hash(str(seed), "para"), answer=not troubled)))
            rest = [c for c in cands if c is not first and c[0] > 0]
            if rest and troubled:
                parts.append(("step2", _paraphrase_step(rest[0][2], facts, _hash(str(seed), "para2"), lead=False)))
            elif rest and not lean:
                # a question: a second fact the answer holds, when the channel has room for it (`fit` drops it
                # before the step); any of the relevant ones, as two agents would not pick the same
                near = [c for c in rest if c[0] >= rest[0][0] - 1.5 and not _FALLBACK.search(c[2])] or rest[:1]
                second = near[_hash(str(seed), "fact2") % len(near)]
                parts.append(("fact2", _paraphrase_step(second[2], facts, _hash(str(seed), "para2"), lead=False)))
        citations.append({"key": answer.key, "revision": answer.revision})
        if policy and policy.key != answer.key:
            citations.append({"key": policy.key, "revision": policy.revision})
        if not needs_dm:
            parts.append(
                ("close", _say(_ANSWER_CLOSES[(lang_key, "trouble" if troubled else "question")], seed, "close"))
            )
        why.append(f"answered from {answer.key}")
    cues = (
        _cue_sentences(
            facts, seed, escalating=action == "escalate", apologised=bool(parts and _APOLOGY.search(parts[0][1]))
        )
        if not facts.praise
        else []
    )
    cues = [c for c in cues if c[0] != opened_with]  # the opening already answers that situation
    announced = bool(parts and _ANNOUNCES_STEP.search(parts[0][1]))  # "…, here's what to do."
    kept = []
    # never "Here's what to do. Here's what we'd try first." nor 「手短にご案内します。対処法をお知らせします。」
    for cue_kind, cue in cues:
        if not (announced and cue_kind == "ask"):
            kept.append((cue_kind, cue))
            announced = announced or bool(_ANNOUNCES_STEP.search(cue))
    cues = kept
    for i, (_, cue) in enumerate(cues):
        parts.insert(1 + i, ("detail" if i == 0 else "detail2", cue))
    if announced or any(k in ("ask", "repair") for k, _ in cues) or opened_with in ("ask", "repair"):
        # the opening or a cue introduces the step: no second lead-in
        parts = [(r, _STEP_LEAD.sub("", x) if r == "step" else x) for r, x in parts]
        parts = [(r, x[:1].upper() + x[1:] if r == "step" and not ja else x) for r, x in parts]
    if needs_dm and not facts.praise:
        dm = _dm_sentence(facts, seed, kind)
        parts.insert(len(parts) - (1 if parts[-1][0] == "close" else 0), ("dm", dm))
        if action == "reply":
            action = "reply_and_dm"
        why.append(
            "personal data or order matter: moved to DM without repeating it"
            if facts.pii or facts.order_matter
            else "details invited by DM"
        )
    if avoid:  # words the checks flagged earlier in this run
        parts = [(r, x) for r, x in ((r, _drop_all(x, avoid)) for r, x in parts) if x] or parts[:1]
    parts = fit(parts, facts)
    text = ("" if ja else " ").join(s for _, s in parts)
    return Composition(
        text=text,
        language=facts.lang,
        citations=citations,
        needs_dm=needs_dm,
        action=action,
        escalate_to=escalate_to,
        rationale="; ".join(why) or "answered",
    )


def _policy_reply(facts: PostFacts, topic: str, subj: str, troubled: bool, seed: int) -> list[tuple[str, str]]:
    """Sentences grounded in a policy entry (refunds, impersonation, competitor comparisons)."""
    ja = facts.lang == "ja"
    name = facts.product.ja if facts.product and ja else facts.product.en if facts.product else ""
    if topic == "refund":
        ack = _pick(
            (
                f"{name + 'の件で' if name else ''}ご不便をおかけしており、申し訳ございません。",
                f"{name + 'について' if name else ''}ご迷惑をおかけし、大変申し訳ありません。",
                "お怒りはごもっともです。ご不便をおかけして申し訳ございません。",
            )
            if ja
            else (
                f"We're sorry for the frustration{' with your ' + name if name else ''}.",
                f"Sorry{' about your ' + name if name else ''}; we understand how frustrating this is.",
                "We hear you, and we're sorry for the trouble.",
            ),
            seed,
            "pack",
        )
        body = _pick(
            (
                "返金などのご相談は、ご購入状況と症状を確認したうえで個別にご案内しています。",
                "ご購入の状況と症状を確認のうえ、対応を個別にご案内いたします。",
            )
            if ja
            else (
                "Requests like this are handled case by case once we've checked the purchase and the problem.",
                "We look at each case individually after checking the purchase details with you.",
            ),
            seed,
            "pbody",
        )
        return [("ack", ack), ("step", body)]
    if topic == "scam":
        ack = _pick(
            (
                "ご確認いただきありがとうございます。",
                "お知らせいただき、ありがとうございます。",
            )
            if ja
            else ("Thank you for checking with us first.", "Good call asking us before replying."),
            seed,
            "sack",
        )
        body = _pick(
            (
                "当社がSNSやDMでカード番号をお伺いすることはありませんので、そのメッセージには返信しないでください。",
                "カード番号をSNSやDMでお尋ねすることは一切ありません。返信せずにそのままにしてください。",
            )
            if ja
            else (
                "We never ask for card numbers on social media or in DMs, so please don't reply to that message.",
                "That isn't us: we never request card numbers over social media or DM. Please don't respond to it.",
            ),
            seed,
            "sbody",
        )
        tail = (
            "公式アカウントは @hoshizora_support のみです。"
            if ja
            else "Our only official account on X is @hoshizora_support."
        )
        return [("ack", ack), ("step", body), ("detail", tail)]
    # competitor comparison: talk about our product only, never the other one; offer what the post cares
    # about (its aspect or situation) so two comparisons are not answered with the same sentences
    return _competitor_reply(facts, name, seed)


_COMPETITOR_ACKS = {
    "ja": (
        "{n}をご検討いただき、ありがとうございます。",
        "{n}に興味を持っていただけてうれしいです。",
        "{n}を候補に入れていただき、ありがとうございます。",
        "{n}のことを気にかけていただき、うれしいです。",
    ),
    "en": (
        "Thanks for considering {n}!",
        "Great to hear you're looking at {n}.",
        "Glad {n} made your shortlist.",
        "Thanks for thinking of {n}.",
    ),
}
_COMPETITOR_DECLINES = {
    "ja": (
        "他社製品との比較は控えさせていただきますが、",
        "比較についてはお答えを控えますが、",
        "ほかのメーカーの製品についてはお答えできませんが、",
        "他社製品へのコメントは控えますが、",
    ),
    "en": (
        "We'd rather not compare with other brands, but ",
        "We won't comment on other products, but ",
        "We'll leave other brands' products to them, but ",
        "We can't speak for other companies' products, but ",
    ),
}
_COMPETITOR_OFFERS = {
    # (what the post cares about: {a} an aspect or {c} a situation; or nothing known)
    ("ja", "aspect"): (
        "{n}の{a}についてでしたら詳しくご案内できます。",
        "{a}で気になる点があれば、{n}の仕様をお伝えします。",
        "{n}の{a}のことなら、いつでもお尋ねください。",
    ),
    ("ja", "context"): (
        "{c}でのお使い方を教えていただければ、{n}の特長をご案内します。",
        "{c}でどう使うか教えていただければ、{n}が合うか一緒に考えます。",
    ),
    ("ja", ""): (
        "使い方に合わせて当社製品の特長をご案内できます。",
        "普段の使い方を教えていただければ特長をご紹介します。",
        "どんな場面で使うか教えていただければ、合うかどうか一緒に考えます。",
    ),
    ("en", "aspect"): (
        "we're happy to tell you more about the {a} on {n}.",
        "if {a} matters most, we can walk you through what {n} offers.",
        "ask us anything about the {a} on {n}.",
    ),
    ("en", "context"): (
        "tell us about {c} and we'll share how {n} fits.",
        "let us know how you'd use it for {c} and we'll tell you what {n} can do.",
    ),
    ("en", ""): (
        "we're happy to tell you how it fits the way you'd use it.",
        "tell us how you'd use them and we'll share what ours can do.",
        "tell us what matters most to you and we'll say what ours can do.",
    ),
}
# aspects an offer can name: not support or rice ("the support on …"), nor cleaning, which 「ロボット掃除機」
# itself matches whatever the post asks about the vacuum
_OFFER_ASPECTS = {"ノイズキャンセリング", "音質", "バッテリーのもち", "装着感", "炊き上がり"}


def _competitor_reply(facts: PostFacts, name: str, seed: int) -> list[tuple[str, str]]:
    lang = "ja" if facts.lang == "ja" else "en"
    shown = name or ("当社製品" if lang == "ja" else "our products")
    if lang == "en" and name:
        shown = f"the {name}"
    aspect = next(((ja, en) for ja, en in facts.aspects if ja in _OFFER_ASPECTS), None)
    kind = "aspect" if aspect and name else "context" if facts.context and name else ""
    offer = _pick(_COMPETITOR_OFFERS[(lang, kind)], seed, "coffer").format(
        n=shown,
        a=(aspect[0] if lang == "ja" else aspect[1]) if aspect else "",
        c=(facts.context[0] if lang == "ja" else facts.context[1]) if facts.context else "",
    )
    ack = _pick(_COMPETITOR_ACKS[lang], seed, "cack").format(n=shown)
    return [("ack", ack), ("step", _pick(_COMPETITOR_DECLINES[lang], seed, "cdecline") + offer)]


def _limit(facts: PostFacts) -> int | None:
    """The limit the prompt states (from the organisation's rules); X's own limit when a prompt names X but
    no limit."""
    if facts.limit is not None:
        return facts.limit
    return X_LIMIT if facts.channel == "x" else None


def _len(parts: Sequence[tuple[str, str]], facts: PostFacts) -> int:
    text = ("" if facts.lang == "ja" else " ").join(s for _, s in parts)
    return weighted_length(text) if facts.channel == "x" else len(text)


_ASIDE = re.compile(r"（(?![^）]*https?:)[^）]{2,40}）|\s?\((?![^)]*https?:)[^)]{2,60}\)")
_ASIDE_JA = re.compile(r"（(?![^）]*https?:)[^）]{2,40}）")


def condense_step(sentence: str, lang: str) -> str:
    """The step without what the linked FAQ can carry: the lead-in, bracketed asides (never a link),
    and in English a second clause after a semicolon when the first one holds the action."""
    s = _STEP_LEAD.sub("", sentence)
    s = (_ASIDE_JA if lang == "ja" else _ASIDE).sub("", s).strip()
    if lang != "ja" and "; " in s:
        head, _, tail = s.partition("; ")
        if _ACTION_EN.search(head) or not _ACTION_EN.search(tail):
            s = head.rstrip(",") + "."
    return s[:1].upper() + s[1:] if lang != "ja" else s


def _one_action(step: str, lang: str) -> str:
    """On X, a long English step keeps its first action: an alternative after ", or" or a second clause after
    a semicolon is what the linked FAQ and the DM are for."""
    if lang == "ja" or len(step) <= 110:
        return step
    for sep in ("; ", ", or "):
        head, found, _ = step.partition(sep)
        if found and len(head) >= 40 and _ACTION_EN.search(head):
            return head.rstrip(",") + "."
    return step


def fit(parts: list[tuple[str, str]], facts: PostFacts) -> list[tuple[str, str]]:
    """Make the reply fit the channel, keeping what is specific to this post longest.

    Drop the closing and the second step, then condense the step (it is the FAQ's text; the post's own
    situation is not), then drop the detail, and only then trim the step at a clause boundary. The safety
    instruction, the escalation and the DM sentence are never dropped; the opening goes before them.
    """
    limit = _limit(facts)
    wants_short = bool(facts.instructions and re.search(r"短く|簡潔|shorter|brief|concise", facts.instructions, re.I))
    if wants_short:
        parts = [p for p in parts if p[0] not in ("close", "step2", "fact2", "detail")]
    if limit is None:
        return parts
    if facts.channel == "x":
        # on X one step is enough (the rest is a link or a DM away), and its asides can go
        aside = _ASIDE_JA if facts.lang == "ja" else _ASIDE
        parts = [
            (r, _one_action(aside.sub("", x), facts.lang) if r == "step" else aside.sub("", x) if r == "fact2" else x)
            for r, x in parts
            if r != "step2"
        ]
    for role in ("close", "fact2", "step2", "condense", "detail2", "detail"):
        if _len(parts, facts) <= limit:
            break
        if role == "condense":
            parts = [(r, condense_step(x, facts.lang) if r == "step" else x) for r, x in parts]
        else:
            parts = [p for p in parts if p[0] != role]
    whole = dict(parts).get("step")
    while _len(parts, facts) > limit:
        i = next((i for i, p in enumerate(parts) if p[0] == "step"), None)
        if i is None:
            # last resort, in order: keep only what must be said (the safety instruction, that we are
            # looking into it, the DM), then let the opening go, then cut what is left
            keep = [p for p in parts if p[0] in ("ack", "safety", "esc", "dm")]
            if keep != parts:
                parts = keep
            elif len(parts) > 1 and parts[0][0] == "ack":
                parts = parts[1:]
            else:
                parts = [(parts[0][0], parts[0][1][: limit // 2 - 1] + "…")]
                break
            continue
        s = parts[i][1]
        cut = max(s.rfind("、", 0, len(s) - 2), s.rfind(", ", 0, len(s) - 2))
        if cut <= 8:
            if any(r == "ack" for r, _ in parts) and whole is not None:
                # the step would go entirely: under a tight limit the opening goes first, the step whole again
                parts = [(r, whole if r == "step" else x) for r, x in parts if r != "ack"]
                continue
            parts = parts[:i] + parts[i + 1 :]
            continue
        end = "…。" if facts.lang == "ja" else "…"
        parts[i] = ("step", s[:cut] + end)
    return parts


# --- repair ------------------------------------------------------------------------------------------------

_FINDING = re.compile(
    r"^- finding category=(?P<cat>\w+) rule=(?P<rule>\S+) severity=(?P<sev>\w+) match=(?P<match>\".*?\")(?=:)", re.M
)


_DROP_CATEGORIES = (
    "pii",
    "pii_echo",
    "ng_word",
    "compensation",
    "overpromise",
    "uncertain",
    "competitor",
    "controversial",
)


def repair(
    previous: dict[str, Any],
    feedback: str,
    facts: PostFacts,
    entries: Sequence[Entry],
    *,
    attempt: int,
    avoid: frozenset[str] = frozenset(),
    similar_replies: Sequence[str] = (),
) -> dict[str, Any]:
    """Fix a previous draft from the validator's feedback: drop flagged sentences, move to DM, shorten, reword."""
    from agent.similarity import similarity

    feedback = _unwrap(feedback)
    if "category=template" in feedback or "- language:" in feedback:
        # reword: of several alternative compositions, take the one least like the previous draft and
        # every recent reply the feedback named in this run
        unlike = list(similar_replies) or [str(previous.get("text", ""))]
        options = [  # half of them without the entry's second fact, which a reply to the same question shares
            compose_reply(facts, entries, salt=attempt * 100 + k, avoid=avoid, unlike=unlike, lean=k % 2 == 1)
            for k in range(REWORD_OPTIONS)
        ]
        return min(options, key=lambda c: (max(similarity(c.text, u) for u in unlike), c.text)).args()
    args = dict(previous)
    text = str(args.get("text", ""))
    sentences = split_sentences(text)
    cats: set[str] = set()
    for m in _FINDING.finditer(feedback):
        cat = m.group("cat")
        cats.add(cat)
        try:
            match = json.loads(m.group("match"))
        except json.JSONDecodeError:
            match = ""
        if cat in _DROP_CATEGORIES and match:
            sentences = [_drop_match(s, match) for s in sentences]
            sentences = [s for s in sentences if s]
    if "dm_redirect" in cats or "pii_echo" in cats or "pii" in cats:
        dm = _dm_sentence(facts, _hash(facts.text, str(attempt)))
        if not any("DM" in s or "direct message" in s.lower() for s in sentences):
            sentences.append(dm)
        args["needs_dm"] = True
        if args.get("action") == "reply":
            args["action"] = "reply_and_dm"
    if not sentences:
        return compose_reply(facts, entries, salt=attempt + 1, avoid=avoid).args()
    parts = [("step" if i else "ack", s) for i, s in enumerate(sentences)]
    if "length" in cats:
        parts = fit(parts, facts)
    if "citation" in feedback:
        valid = {(e.key, e.revision) for e in entries}
        args["citations"] = [c for c in args.get("citations", []) if (c.get("key"), c.get("revision")) in valid]
    args["text"] = ("" if facts.lang == "ja" else " ").join(s for _, s in parts)
    args["rationale"] = f"{args.get('rationale', '')}; repaired after findings: {', '.join(sorted(cats)) or 'feedback'}"
    return args


def _drop_all(sentence: str, avoid: frozenset[str]) -> str:
    for a in avoid:
        sentence = _drop_match(sentence, a)
    return sentence


def _finding_matches(feedbacks: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(category, matched text) of every finding with a readable, non-empty match in ``feedbacks``."""
    for fb in feedbacks:
        for m in _FINDING.finditer(_unwrap(fb)):
            try:
                match = json.loads(m.group("match"))
            except json.JSONDecodeError:
                continue
            if match:
                yield m.group("cat"), str(match)


def template_matches(feedbacks: Sequence[str]) -> list[str]:
    """The recent replies that template findings in this run said the draft was too like."""
    return list(dict.fromkeys(match for cat, match in _finding_matches(feedbacks) if cat == "template"))


def flagged_matches(feedbacks: Sequence[str]) -> frozenset[str]:
    """The texts that the checks flagged in any feedback of this run."""
    return frozenset(match for cat, match in _finding_matches(feedbacks) if cat in _DROP_CATEGORIES)


def _unwrap(feedback: str) -> str:
    if feedback.startswith("{"):
        try:
            return str(json.loads(feedback).get("error", feedback))
        except (json.JSONDecodeError, AttributeError):
            return feedback
    return feedback


def _drop_match(sentence: str, match: str) -> str:
    """The sentence without a bracketed aside holding ``match``; empty if the match is elsewhere in it."""
    if match not in sentence:
        return sentence
    for m in re.finditer(r"（[^）]*）|\([^)]*\)", sentence):
        if match in m.group():
            return sentence[: m.start()] + sentence[m.end() :]
    return ""


# --- the FunctionModel -------------------------------------------------------------------------------------------


@dataclass
class _Conversation:
    prompt: str = ""
    entries: list[Entry] = field(default_factory=list)
    history: list[dict[str, Any]] | None = None
    searched: bool = False
    last_draft: dict[str, Any] | None = None
    feedback: str | None = None
    all_feedback: list[str] = field(default_factory=list)
    attempts: int = 0


def _read(messages: list[ModelMessage], output_tool: str) -> _Conversation:
    conv = _Conversation()
    seen: set[tuple[str, int]] = set()
    for msg in messages:
        if isinstance(msg, ModelRequest):
            conv.feedback = None
            for part in msg.parts:
                if isinstance(part, UserPromptPart) and isinstance(part.content, str) and not conv.prompt:
                    conv.prompt = part.content
                elif isinstance(part, ToolReturnPart) and part.tool_name == "search_knowledge":
                    conv.searched = True
                    for item in part.content if isinstance(part.content, list) else []:
                        e = _entry_from_tool(item)
                        if e is not None and (e.key, e.revision) not in seen:
                            seen.add((e.key, e.revision))
                            conv.entries.append(e)
                elif isinstance(part, ToolReturnPart) and part.tool_name == "get_customer_history":
                    conv.history = list(part.content) if isinstance(part.content, list) else []
                elif isinstance(part, ToolReturnPart) and part.tool_name == output_tool and part.outcome == "retried":
                    conv.feedback = part.model_response_str()
                    conv.all_feedback.append(conv.feedback)
                elif isinstance(part, RetryFeedbackPart):
                    conv.feedback = part.model_response()
                    conv.all_feedback.append(conv.feedback)
        else:
            for rpart in msg.parts:
                if isinstance(rpart, ToolCallPart) and rpart.tool_name == output_tool:
                    conv.last_draft = rpart.args_as_dict()
                    conv.attempts += 1
    return conv


def _entry_from_tool(item: Any) -> Entry | None:
    if not isinstance(item, dict):
        return None
    blocks = unfence(str(item.get("content", "")), "KNOWLEDGE")
    data = blocks[0][1] if blocks else str(item.get("content", ""))
    title, _, body = data.partition("\n\n")
    return Entry(
        key=str(item.get("key")),
        revision=int(item.get("revision", 1)),
        lang=str(item.get("lang", "")),
        kind=str(item.get("kind", "faq")),
        title=title.strip(),
        body=body.strip() or title.strip(),
        score=float(item.get("score", 0.0)),
    )


_TRIAGE_BLOCK = re.compile(r"```json\n(?P<json>\{.*?\})\n```", re.DOTALL)
_CHANNEL = re.compile(r"^Reply channel: (?P<channel>[\w.-]+)(?: \(at most (?P<limit>\d+) )?", re.M)
_REVIEWER = re.compile(r"^Reviewer instructions[^\n]*\n(?P<text>.*?)(?=\n\n)", re.M | re.DOTALL)


@lru_cache(maxsize=256)
def facts_from_prompt(prompt: str) -> PostFacts:
    """Read the post (fenced), the triage JSON, the channel and reviewer instructions from the user prompt.

    Cached per prompt: the model reads the same prompt on every turn of a run (the facts are not mutated).
    """
    blocks = unfence(prompt, "POST")
    attrs, text = blocks[0] if blocks else ({}, prompt)
    m = _TRIAGE_BLOCK.search(prompt)
    triage = json.loads(m.group("json")) if m else {}
    ch = _CHANNEL.search(prompt)
    channel = ch.group("channel") if ch and ch.group("channel") != "none" else None
    limit = int(ch.group("limit")) if ch and ch.group("limit") else None
    rv = _REVIEWER.search(prompt)
    followers = int(attrs.get("followers", "0")) if attrs.get("followers", "0").isdigit() else 0
    return read_post(
        text,
        triage,
        channel=channel,
        followers=followers,
        instructions=rv.group("text").strip() if rv else None,
        limit=limit,
    )


def _search_query(facts: PostFacts) -> str:
    terms = [facts.product.ja if facts.product and facts.lang == "ja" else facts.product.en if facts.product else ""]
    terms += [facts.code or ""] + [(t.ja if facts.lang == "ja" else t.en) for t in facts.topics[:2]]
    subject = " ".join(t for t in terms if t)
    return f"{subject} {facts.text[:160]}".strip()


_POLICY_QUERY = {
    ("refund", "ja"): "返金 補償 方針",
    ("refund", "en"): "refund compensation policy",
    ("competitor", "ja"): "他社製品との比較 方針",
    ("competitor", "en"): "competitor comparison policy",
    ("scam", "ja"): "個人情報 カード番号 なりすまし",
    ("scam", "en"): "privacy card number official account",
}


async def _offline_turn(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    output_tool = info.output_tools[0].name if info.output_tools else "final_result"
    conv = _read(messages, output_tool)
    facts = facts_from_prompt(conv.prompt)
    if not conv.searched:
        calls = [ToolCallPart("search_knowledge", {"query": _search_query(facts), "lang": facts.lang})]
        for t in facts.topics:
            q = _POLICY_QUERY.get((t.id, facts.lang))
            if q:  # a policy holds whatever language it is written in: no language filter
                calls.append(ToolCallPart("search_knowledge", {"query": q}))
                break
        if facts.praise:
            calls.append(
                ToolCallPart(
                    "search_knowledge", {"query": "お褒めの投稿 方針" if facts.lang == "ja" else "praise policy"}
                )
            )
        if facts.trouble and any(t.name == "get_customer_history" for t in info.function_tools):
            calls.append(ToolCallPart("get_customer_history", {}))
        return ModelResponse(parts=[TextPart("Searching the knowledge base first."), *calls], usage=_no_tokens())
    if conv.feedback and conv.last_draft is not None:
        avoid = flagged_matches(conv.all_feedback)
        args = repair(
            conv.last_draft,
            conv.feedback,
            facts,
            conv.entries,
            attempt=conv.attempts,
            avoid=avoid,
            similar_replies=template_matches(conv.all_feedback),
        )
    else:
        args = compose_reply(facts, conv.entries, history=conv.history or ()).args()
    return ModelResponse(parts=[ToolCallPart(output_tool, args)], usage=_no_tokens())


def _no_tokens() -> RequestUsage:
    """The offline model spends no tokens: its usage says so (0, marked unmeasured), instead of the token
    estimate `FunctionModel` makes up for a response that carries none (and spends time computing)."""
    usage = RequestUsage()
    usage.unmeasured_requests = 1
    return usage


def offline_model() -> FunctionModel:
    """The offline drafting model (no network, deterministic); its name is ``offline``."""
    return FunctionModel(_offline_turn, model_name=OFFLINE_MODEL_NAME)

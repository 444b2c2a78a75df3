# ruff: noqa: E501  (data tables: one case a line reads better than wrapped)
"""Seeded generator of the labelled check set (``cases.jsonl`` next to this file).

Run ``python -m benchmarks.checks.generate`` to rebuild it; the output is committed. Labels come from
how each case is *built* (which value or phrase was inserted), never from running the checker.

Parts: generated personal data in ja/en templates (with format variants), programmatic evasion
transforms of NG words, hard negatives (dates, prices, times, model numbers, barcodes, our own contacts,
everyday words containing an NG word), policy phrases, echo and DM cases, channel lengths. The
hand-written cases in ``handwritten.jsonl`` are appended as they are.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from stdnum import luhn
from stdnum.jp import in_ as my_number

HERE = Path(__file__).parent
SEED = 20261125

Case = dict[str, Any]

FW = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
KANJI_NUM = str.maketrans("0123456789", "〇一二三四五六七八九")

SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田"]
EN_NAMES = ["Johnson", "Garcia", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Moore"]
LOCALS = ["taro", "hanako.s", "k-yamada", "user2024", "mika_t", "jsmith", "a.tanaka", "support.fan"]
DOMAINS = ["example.com", "mail.example.jp", "test.co.jp", "example.org", "docomo.ne.jp"]
PREFS = ["東京都", "大阪府", "神奈川県", "愛知県", "福岡県", "北海道", "京都府", "兵庫県"]
CITIES = [
    "港区芝",
    "中央区銀座",
    "横浜市中区山下町",
    "名古屋市中区栄",
    "福岡市博多区博多駅前",
    "札幌市北区北",
    "京都市左京区",
    "神戸市中央区三宮町",
]


def fmt_phone(rng: random.Random, digits: str) -> str:
    """A Japanese number written in one of the ways people write it."""
    a, b, c = (digits[:3], digits[3:7], digits[7:]) if len(digits) == 11 else (digits[:2], digits[2:6], digits[6:])
    style = rng.choice(["hyphen", "none", "fullwidth", "choon", "space", "kanji", "fw_hyphen", "paren"])
    if style == "hyphen":
        return f"{a}-{b}-{c}"
    if style == "none":
        return a + b + c
    if style == "fullwidth":
        return f"{a}-{b}-{c}".translate(FW)
    if style == "choon":
        return f"{a}ー{b}ー{c}"
    if style == "space":
        return f"{a} {b} {c}"
    if style == "kanji":
        return f"{a}の{b}の{c}".translate(KANJI_NUM)
    if style == "fw_hyphen":
        return f"{a}－{b}－{c}".translate(FW)
    return f"{a}({b}){c}"


def jp_mobile(rng: random.Random) -> str:
    return rng.choice(["090", "080", "070"]) + f"{rng.randint(1000, 9999)}{rng.randint(0, 9999):04d}"


def jp_landline(rng: random.Random) -> str:
    return rng.choice(["03", "06"]) + f"{rng.randint(3000, 6999)}{rng.randint(0, 9999):04d}"


def card_number(rng: random.Random) -> str:
    prefix = rng.choice(["4", "5" + str(rng.randint(1, 5)), "35" + str(rng.randint(28, 89))])
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(15 - len(prefix)))
    return body + luhn.calc_check_digit(body)


def my_number_value(rng: random.Random) -> str:
    body = "".join(str(rng.randint(0, 9)) for _ in range(11))
    return body + my_number.calc_check_digit(body)


def group4(d: str, sep: str = "-") -> str:
    return sep.join(d[i : i + 4] for i in range(0, len(d), 4))


def email(rng: random.Random) -> str:
    return f"{rng.choice(LOCALS)}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"


def fmt_email(rng: random.Random, e: str) -> str:
    local, dom = e.split("@")
    style = rng.choice(["plain", "plain", "fullwidth", "at_bracket", "at_paren", "ja_at"])
    if style == "fullwidth":
        return e.translate(FW)
    if style == "at_bracket":
        return f"{local} [at] {dom.replace('.', ' [dot] ')}"
    if style == "at_paren":
        return f"{local}(at){dom.replace('.', '(dot)')}"
    if style == "ja_at":
        return f"{local}＠{dom}"
    return e


def case(cid: str, text: str, expect: list[str], *, post: str | None = None, channel: str | None = None,
         forbid: list[str] | None = None, part: str = "") -> Case:  # fmt: skip
    c: Case = {"id": cid, "text": text, "expect": sorted(set(expect)), "part": part}
    if post is not None:
        c["post"] = post
    if channel is not None:
        c["channel"] = channel
    if forbid:
        c["forbid"] = forbid
    return c


# --- personal data -------------------------------------------------------------------------------

PII_TEMPLATES_JA = [
    "お電話は{v}までお願いします",
    "担当者の連絡先は{v}です。",
    "こちらの番号{v}に折り返しお願いします",
    "{v}へご連絡ください！",
    "連絡先：{v}",
]
PII_TEMPLATES_EN = [
    "Please call {v} for details.",
    "You can reach the agent at {v}.",
    "Contact: {v}",
]


def pii_cases(rng: random.Random) -> list[Case]:
    out: list[Case] = []
    n = 0

    def add(text: str, part: str) -> None:
        nonlocal n
        n += 1
        out.append(case(f"pii-{n:03d}", text, ["pii"], part=part))

    for _ in range(40):
        d = jp_mobile(rng) if rng.random() < 0.7 else jp_landline(rng)
        add(rng.choice(PII_TEMPLATES_JA).format(v=fmt_phone(rng, d)), "phone_ja")
    for _ in range(6):
        d = "050" + f"{rng.randint(1000, 9999)}{rng.randint(0, 9999):04d}"
        add(rng.choice(PII_TEMPLATES_JA).format(v=fmt_phone(rng, d)), "phone_ja")
    for _ in range(10):
        v = rng.choice(
            [
                f"+1 (415) 555-{rng.randint(100, 199):04d}",
                f"+44 20 7946 {rng.randint(0, 999):04d}",
                f"+81 90-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
                f"+33 1 42 68 {rng.randint(10, 99)} {rng.randint(10, 99)}",
            ]
        )
        add(rng.choice(PII_TEMPLATES_EN + PII_TEMPLATES_JA).format(v=v), "phone_intl")
    for _ in range(30):
        v = fmt_email(rng, email(rng))
        t = rng.choice(
            ["メールは{v}です", "{v} までメールください", "Email me at {v}", "連絡先 {v}", "My address is {v}."]
        )
        add(t.format(v=v), "email")
    for _ in range(15):
        z = f"{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}"
        z = z.translate(FW) if rng.random() < 0.3 else z
        t = rng.choice(["〒{z} {p}{c}1-2-3", "郵便番号{z}です", "〒{z}", "送り先は〒{z}でお願いします"])
        add(t.format(z=z, p=rng.choice(PREFS), c=rng.choice(CITIES)), "postal")
    for _ in range(20):
        addr = f"{rng.choice(PREFS)}{rng.choice(CITIES)}{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
        if rng.random() < 0.3:
            addr = f"{rng.choice(PREFS)}{rng.choice(CITIES)}{rng.randint(1, 9)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号"
        t = rng.choice(["私の住所は{a}です", "お届け先：{a}", "{a}に住んでいます", "住所 {a} まで"])
        add(t.format(a=addr), "address")
    for _ in range(5):
        add(f"Ship it to {rng.randint(10, 9999)} {rng.choice(['Oak', 'Maple', 'Pine'])} Street, please.", "address_en")
    for _ in range(25):
        d = card_number(rng)
        v = rng.choice([d, group4(d), group4(d, " "), group4(d, " ").translate(FW), group4(d, "-")])
        t = rng.choice(
            ["カード番号{v}です", "クレジットカード {v} で支払いました", "card number {v}", "{v}", "カードは{v}"]
        )
        add(t.format(v=v), "card")
    for _ in range(20):
        d = my_number_value(rng)
        v = rng.choice([d, group4(d, " "), group4(d, "-"), d.translate(FW)])
        t = rng.choice(["マイナンバーは{v}です", "個人番号：{v}", "マイナンバー {v} を登録済み", "my number is {v}"])
        add(t.format(v=v), "my_number")
    for _ in range(15):
        v = rng.choice(
            [
                f"AB{rng.randint(10**7, 10**8 - 1)}",
                f"{rng.randint(10**9, 10**10 - 1)}",
                f"ORD-{rng.randint(10**7, 10**8 - 1)}",
            ]
        )
        t = rng.choice(["ご注文番号{v}の件ですね", "注文番号：{v}", "order number {v} has shipped", "オーダー番号 {v}"])
        add(t.format(v=v), "order_number")
    for _ in range(10):  # letters-year-digits, with or without an order word
        pre = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.randint(1, 4)))
        v = f"{pre}-{rng.randint(2019, 2027)}-{rng.randint(0, 10**6 - 1):06d}"
        v = v.translate(FW) if rng.random() < 0.2 else v
        t = rng.choice(
            [
                "{v}の件でご連絡しました",
                "ご注文({v})につきまして",
                "order #{v} is delayed",
                "Re: {v}",
                "注文番号は{v}です",
            ]
        )
        add(t.format(v=v), "order_number")
    for _ in range(15):
        t = rng.choice(["{n}様、ご連絡ありがとうございます", "{n}さん、お待たせしました", "{n}様のご注文について"])
        add(t.format(n=rng.choice(SURNAMES)), "name")
    for _ in range(5):
        add(f"Thank you, {rng.choice(['Mr.', 'Ms.', 'Dr.'])} {rng.choice(EN_NAMES)}.", "name_en")
    return out


def pii_negatives(rng: random.Random) -> list[Case]:
    out: list[Case] = []
    n = 0

    def add(text: str, part: str) -> None:
        nonlocal n
        n += 1
        out.append(case(f"piineg-{n:03d}", text, [], forbid=["pii"], part=part))

    for _ in range(15):
        y, m, d = rng.randint(2020, 2027), rng.randint(1, 12), rng.randint(1, 28)
        t = rng.choice([f"{y}-{m:02d}-{d:02d}に発送しました", f"{y}/{m:02d}/{d:02d} {rng.randint(9, 20)}:{rng.choice(['00', '30'])}",
                        f"{y}年{m}月{d}日にお届け予定です", f"Shipped on {y}-{m:02d}-{d:02d}.", f"{m}月{d}日〜{m}月{min(d + 3, 28)}日の間にお届けします"])  # fmt: skip
        add(t, "date")
    for _ in range(12):
        p = rng.randint(100, 99999)
        t = rng.choice([f"価格は{p:,}円(税込{int(p * 1.1):,}円)です", f"送料{rng.randint(300, 990)}円、合計{p:,}円",
                        f"It costs ${p / 100:.2f} including tax.", f"¥{p:,}からご利用いただけます"])  # fmt: skip
        add(t, "price")
    for _ in range(8):
        h1, h2 = rng.randint(8, 11), rng.randint(17, 21)
        add(rng.choice([f"営業時間{h1}:00-{h2}:00、{rng.randint(2, 4)}-{rng.randint(5, 7)}営業日でお届け",
                        f"受付は{h1}時〜{h2}時です", f"Open {h1}:00-{h2}:00 JST"]), "time")  # fmt: skip
    for _ in range(12):
        mdl = rng.choice([f"KJ-{rng.randint(40, 85)}X{rng.randint(8000, 9999)}H", f"WH-{rng.randint(1000, 1999)}XM{rng.randint(3, 6)}",
                          f"SR-{rng.randint(10000, 99999)}-B", f"iPhone {rng.randint(11, 17)} Pro",
                          f"K-{rng.randint(1, 9)}", f"R{rng.randint(1, 9)}", f"HZ-AC{rng.randint(1, 99):02d}"])  # fmt: skip
        add(rng.choice([f"型番 {mdl}", f"対象機種は{mdl}です", f"Model {mdl} is supported."]), "model")
    for _ in range(12):
        body = rng.choice(["49", "45"]) + "".join(str(rng.randint(0, 9)) for _ in range(10))
        from stdnum import ean

        jan = body + ean.calc_check_digit(body)
        add(
            rng.choice([f"JAN {jan}", f"JANコード：{jan}", f"商品のバーコード{jan}をご確認ください", f"EAN {jan}"]),
            "jan",
        )
    for _ in range(8):
        d = "".join(str(rng.randint(0, 9)) for _ in range(12))
        add(rng.choice([f"お問い合わせ番号{d}", f"受付番号 {d} で承りました", f"伝票番号{d}"]), "twelve_digits")
    for _ in range(6):
        d = card_number(rng)
        bad = d[:-1] + str((int(d[-1]) + 1) % 10)
        add(group4(bad), "luhn_invalid")
    contacts = ["0120-000-000", "support@example.co.jp", "0120000000", "ＳＵＰＰＯＲＴ＠ＥＸＡＭＰＬＥ．ＣＯ．ＪＰ",
                "https://example.co.jp/support/faq?id=0312345678", "@hoshizora_support"]  # fmt: skip
    for c in contacts:
        add(f"{c} までご連絡ください", "allow")
        add(f"ご不明点は{c}へお問い合わせください。", "allow")
    for t in ["数量は1,000個です", "バージョン2.4.1で修正済みです", "約30%の方がご利用中です", "3-4営業日でお届けします",
              "2,980円以上で送料無料", "ポイントは100ptから使えます", "定員は50名です", "第3四半期の予定です",
              "Version 10.2.3 fixes this.", "Use code 1234 at the gate? No: the gate code is on your ticket.",
              "お客様各位", "皆様いつもありがとうございます", "担当者よりご連絡いたします", "品番12-345-678の在庫は残りわずかです"]:  # fmt: skip
        add(t, "misc")
    return out


# --- NG words and evasion --------------------------------------------------------------------------

NG_JA = [
    "バカ",
    "アホ",
    "クズ",
    "死ね",
    "カス",
    "ボケ",
    "キモい",
    "ウザい",
    "ブス",
    "役立たず",
    "無能",
    "クソ",
    "消えろ",
    "ゴミクズ",
]
NG_EN = ["fuck", "shit", "bitch", "asshole", "idiot", "moron", "bastard", "retard", "stupid", "dumbass", "crap"]
NG_TEMPLATES_JA = ["{w}じゃないの", "お前は{w}だな", "本当に{w}", "{w}！", "この対応は{w}です", "{w}かよ"]
NG_TEMPLATES_EN = ["you are a {w}", "what a {w}", "{w} service", "this is {w}", "{w}!"]
ZW = ["\u200b", "\u200d", "\u2060", "\ufeff"]
HOMO = {"a": "а", "e": "е", "o": "о", "c": "с", "i": "і", "p": "р", "s": "ѕ"}
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "$", "t": "7"}
HALF = str.maketrans(
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン",
    "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝ",
)


def kata2hira(s: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in s)


def evade_ja(rng: random.Random, w: str) -> tuple[str, str]:
    style = rng.choice(
        ["space", "ideo_space", "dot", "symbol", "zw", "emoji", "hira", "half", "dakuten", "stretch", "plain"]
    )
    chars = list(w)
    if style == "space":
        return " ".join(chars), style
    if style == "ideo_space":
        return "\u3000".join(chars), style
    if style == "dot":
        return rng.choice(["・", ".", "。", "･"]).join(chars), style
    if style == "symbol":
        return rng.choice(["＊", "*", "★", "♡", "_", "/"]).join(chars), style
    if style == "zw":
        return rng.choice(ZW).join(chars), style
    if style == "emoji":
        return rng.choice(["😡", "💢", "🙄"]).join(chars), style
    if style == "hira":
        return kata2hira(w), style
    if style == "half":
        # ｶﾞ: decomposed voiced kana become base + half-width dakuten
        import unicodedata

        return unicodedata.normalize("NFD", w).replace("\u3099", "ﾞ").translate(HALF), style
    if style == "dakuten":
        import unicodedata

        return unicodedata.normalize("NFD", w).replace("\u3099", "゛"), style
    if style == "stretch" and len(w) >= 2:
        return w[0] + "ー" * rng.randint(1, 4) + w[1:], style
    return w, "plain"


def evade_en(rng: random.Random, w: str) -> tuple[str, str]:
    style = rng.choice(
        ["upper", "fullwidth", "spaced", "dotted", "mask", "leet", "homoglyph", "stretch", "zw", "plain"]
    )
    if style == "upper":
        return w.upper(), style
    if style == "fullwidth":
        return w.translate(FW), style
    if style == "spaced":
        return " ".join(w), style
    if style == "dotted":
        return rng.choice([".", "-", "_"]).join(w), style
    if style == "mask" and len(w) >= 4:
        i = rng.randint(1, len(w) - 2)
        return w[:i] + "*" + w[i + 1 :], style
    if style == "leet":
        out = "".join(LEET.get(c, c) if rng.random() < 0.6 else c for c in w)
        return out, style
    if style == "homoglyph":
        return "".join(HOMO.get(c, c) for c in w), style
    if style == "stretch":
        vs = [i for i, c in enumerate(w) if c in "aeiou"]
        if vs:
            i = rng.choice(vs)
            return w[: i + 1] + w[i] * rng.randint(2, 4) + w[i + 1 :], style
    if style == "zw":
        return "\u200b".join(w), style
    return w, "plain"


def ng_cases(rng: random.Random) -> list[Case]:
    out: list[Case] = []
    for i in range(110):
        w = rng.choice(NG_JA)
        ev, style = evade_ja(rng, w)
        out.append(
            case(f"ngja-{i:03d}", rng.choice(NG_TEMPLATES_JA).format(w=ev), ["ng_word"], part=f"evasion_ja_{style}")
        )
    for i in range(90):
        w = rng.choice(NG_EN)
        ev, style = evade_en(rng, w)
        out.append(
            case(f"ngen-{i:03d}", rng.choice(NG_TEMPLATES_EN).format(w=ev), ["ng_word"], part=f"evasion_en_{style}")
        )
    negatives = [
        "カスタマーサポートまでご連絡ください", "カスタム設定はこちら", "バカンスシーズンのご案内", "写真がピンボケする場合は設定をご確認ください",
        "もう少しね", "届いたばかりです", "傘をお貸しします", "肝に銘じます", "カステラの新商品です", "カスタードプリンが人気です",
        "紙くずはこちらへ", "パンくずリストを表示します", "ホモジナイズ牛乳です", "ボケ味のある写真が撮れます", "背景ボケを調整できます",
        "はげた塗装の補修方法", "ババ抜きで遊びましょう", "買ったばかりで残念です", "クソゲー…ではなく神ゲーでした",
        "アホウドリの写真展を開催します", "しばらくお待ちください", "かすかに音がします", "文字がかすれる場合", "カスケード接続に対応",
        "Scunthorpe branch is open", "press shift and scan the QR code", "the shell is made of aluminium", "assessment results",
        "Our class starts at 10", "try the cocktail menu", "spicy ramen is back", "scrap the old plan", "analysis report attached",
        "Dickens collection", "grape juice", "push the button", "pass the test", "the cockpit display", "a peacock feather",
        "shiitake mushrooms", "the manuscript is ready", "Arsenal fans welcome", "Hello there", "the document is attached",
        "Essex store", "bass guitar", "compass app", "we will be tardy? no, on time", "Sussex office", "massive sale",
        "therapist appointment", "hancock street", "a hitchhiker", "the title is Shitake Cooking? No: Shiitake",
        "password", "assistant", "embassy", "cocoon", "raccoon", "Japan", "Pakistan", "skyscraper",
        # readings of ordinary words that sound like an NG word (分 ふん, 古事記 こじき, 場+か), kanji that
        # also appear in NG words (下手, 死, 殺), kana verbs spelled like NG nouns (貸す, 捲る)
        "30分ほどお待ちください", "5分後に自動で再送されます", "10分程度で完了します", "約15分でお届けします",
        "3分間クッキングの動画です", "古事記の特集ページを公開しました", "受け取りはその場か、ご自宅かをお選びください", "下手な説明で申し訳ございません",
        "死角になる場所をご確認ください", "必死に対応しております", "ポイントで相殺できます", "殺菌済みの容器です",
        "注文が殺到しております", "時差ボケにご注意ください", "ボケ防止にも役立ちます", "ページをめくらないでください",
        "傘をかすサービスです", "気を遣いすぎないでください", "分割払いに対応しています", "粉末タイプもございます",
    ]  # fmt: skip
    for i, t in enumerate(negatives):
        out.append(case(f"ngneg-{i:03d}", t, [], forbid=["ng_word"], part="hard_negative_ng"))
    return out


# --- policy ----------------------------------------------------------------------------------------

POLICY: dict[str, tuple[list[str], list[str]]] = {
    "overpromise": (
        [
            "必ず直ります",
            "かならず明日までにお届けします",
            "ゼッタイ大丈夫です",
            "絶対に故障しません",
            "100%保証します",
            "１００％確実です",
            "次回は必ずご満足いただけます",
            "二度とこのようなことは起こりません",
            "品質を保証いたします",
            "確実に解決します",
            "We guarantee it will work.",
            "This will never happen again.",
            "It is 100% safe.",
            "We promise a fix by Friday.",
            "It will definitely arrive tomorrow.",
            "I promise you it works.",
            "間違いなく届きます",
            "お約束します",
            "Guaranteed delivery by Monday!",
            "必ずや解決いたします",
        ],
        [
            "必ずしもすべてのケースで返金できるわけではございません",
            "暗証番号は絶対に他人に教えないでください",
            "必ずご確認ください",
            "パスワードは決して他人に教えないでください",
            "Refunds are not guaranteed for opened items.",
            "This shirt is 100% cotton.",
            "必要な書類をご用意ください",
            "保証期間は1年間です",
            "保証書を必ずお持ちください",
            "Never share your password with anyone.",
            "We cannot guarantee delivery dates during holidays.",
            "果汁100%のジュースです",
            "必ずしも故障とは限りません",
            "保証の対象外となります",
            "There is no guarantee on used items.",
        ],
    ),
    "compensation": (
        [
            "今回に限り特別に全額返金いたします",
            "お詫びとしてギフト券をお送りします",
            "かならず返金します",
            "送料は弊社で負担いたします",
            "無償で交換いたします",
            "クーポンを発行いたします",
            "代金をお返しします",
            "例外的にご対応いたします",
            "返金させていただきます",
            "ポイントを付与いたします",
            "We will issue you a full refund.",
            "We'll send you a voucher.",
            "As a goodwill gesture, we'll waive the fee.",
            "You'll get a free replacement.",
            "We will refund you today.",
            "We can offer you a discount code.",
            "Just this once, it's on the house.",
            "商品券を進呈いたします",
            "全額返金いたします",
            "補償いたします",
        ],
        [
            "返品・返金ポリシーはこちらをご確認ください",
            "返金についてはヘルプページをご覧ください",
            "返金はできかねます",
            "Our refund policy is on the help page.",
            "Refund requests are handled via the form.",
            "クーポンの使い方はこちら",
            "ポイントの有効期限は1年です",
            "送料は地域によって異なります",
            "ギフト券の残高はアプリで確認できます",
            "We cannot offer refunds on sale items.",
            "返金の可否は規約に基づいて判断いたします",
            "交換の手順をご案内します",
            "Coupons can be used at checkout.",
            "保証期間内の修理は無償です？いいえ、有償です",
            "返金できかねますのでご了承ください",
        ],
    ),
    "uncertain": (
        [
            "おそらく明日には復旧すると思います",
            "たぶん直っています",
            "明日には届くはずです",
            "サーバーの不具合かもしれません",
            "原因は通信環境だと思われます",
            "多分大丈夫です",
            "It should probably be fixed by tomorrow",
            "Maybe it's a network issue.",
            "I think the update fixed it.",
            "It should be back up soon? It should be fixed now.",
            "The package is likely delayed by weather? Most likely it's the weather.",
            "恐らく配送の遅れです",
            "設定の問題だと思います",
            "It seems to be a server issue.",
            "Perhaps your cache is full.",
            "明日には復旧するでしょう",
            "発送済みかと思います",
            "It might be a billing error.",
            "一時的な不具合のようです？一時的な不具合が発生しているようです",
            "I believe it was shipped.",
        ],
        [
            "復旧時期は現在確認中です。分かり次第お知らせします",
            "確認いたします。少々お待ちください",
            "ご確認いただけますでしょうか",
            "We are looking into it and will update you.",
            "いかがでしょうか",
            "今後も改善していきたいと思います",
            "ご検討いただければと存じます",
            "We believe in great service.",
            "The update was released today.",
            "Passwords should be at least 8 characters.",
            "原因を調査しております",
            "担当部署に確認中です",
            "嬉しく思います",
            "We will let you know as soon as we know.",
            "発送は明日の予定です",
        ],
    ),
    "controversial": (
        [
            "〇〇選挙の件、私たちも同意見です",
            "今の政権には困ったものです",
            "首相の発言について当社もそう思います",
            "自民党を支持しています",
            "憲法改正には賛成です",
            "We support the Democrats.",
            "Trump was right about this.",
            "Our view on abortion is clear.",
            "Politics aside, we agree with the election result.",
            "統一教会の問題は深刻ですね",
            "大統領選の結果に驚きました",
            "野党の主張に賛成です",
            "移民政策について一言",
            "The Gaza situation is terrible.",
            "原発再稼働には反対です",
        ],
        [
            "総選挙キャンペーン開催中！",
            "人気投票を開催中です",
            "キャラクター総選挙の結果発表",
            "新商品の投票受付中です",
            "Vote for your favourite flavour!",
            "キャンペーンにご参加ありがとうございます",
            "The campaign ends Sunday.",
            "The poll closes at noon.",
            "ランキング1位の商品です",
            "Our party pack is back!",
            "お祭りイベントのお知らせ",
            "Election of the employee of the month? No — we pick a staff favourite.",
            "社内アンケートの結果です",
            "Polling station? No, charging station.",
            "フォロワー投票で決まりました",
        ],
    ),
    "competitor": (
        [
            "競合社Aより安いです",
            "Acme2 users can also use this cable",
            "ACME製品との比較はこちら",
            "Globex より速いです",
            "acme のケーブルは非対応です",
            "競合社Aさんの製品と違って丈夫です",
            "Unlike Globex, we ship free.",
            "ACMEのアプリからの移行方法",
            "Acmeと比べてください",
            "Globexユーザーの方へ",
        ],
        [
            "当社製品の比較表はこちら",
            "他社製品との比較はお控えしております",
            "Our cable works with most phones.",
            "Academy students get a discount.",
            "Acmeister? No: our own Meister line.",
            "Global shipping is available.",
            "競合の少ない時間帯にご来店ください",
            "Glob pattern support added.",
        ],
    ),
}


def policy_cases() -> list[Case]:
    out: list[Case] = []
    for cat, (pos, neg) in POLICY.items():
        for i, t in enumerate(pos):
            expect = [cat]
            if cat == "overpromise" and "返金" in t:
                expect.append("compensation")
            if cat == "compensation" and t.startswith("かならず"):
                expect.append("overpromise")
            out.append(case(f"{cat[:5]}-pos-{i:02d}", t, expect, part=f"{cat}_positive"))
        for i, t in enumerate(neg):
            out.append(case(f"{cat[:5]}-neg-{i:02d}", t, [], forbid=[cat], part=f"{cat}_negative"))
    return out


# --- echo and DM -----------------------------------------------------------------------------------


def echo_cases(rng: random.Random) -> list[Case]:
    out: list[Case] = []
    posts = ["届かないです。{v}に電話ください", "注文した商品が壊れていました。連絡先は{v}です", "{v} に連絡ください、急ぎです",
             "Package never arrived. Call me at {v}", "返品したいです。{v}まで"]  # fmt: skip
    dm = ["詳細はDMにてお伺いします。", "お手数ですがDMでご連絡ください。", "Please send us a DM with the details."]
    n = 0

    def add(text: str, post: str, expect: list[str], part: str) -> None:
        nonlocal n
        n += 1
        out.append(case(f"echo-{n:03d}", text, expect, post=post, part=part))

    for _ in range(40):
        d = jp_mobile(rng)
        shown = f"{d[:3]}-{d[3:7]}-{d[7:]}"
        post = rng.choice(posts).format(v=fmt_phone(rng, d))
        kind = rng.choice(["exact", "masked", "masked_x", "tail", "tail4", "last4_en", "masked_all_but_tail"])
        if kind == "exact":
            add(f"{shown}に折り返しご連絡いたします。{rng.choice(dm)}", post, ["pii", "pii_echo"], "echo_exact")
        elif kind == "masked":
            add(f"{d[:3]}-****-{d[7:]}にお電話します。{rng.choice(dm)}", post, ["pii_echo"], "echo_masked")
        elif kind == "masked_x":
            add(f"{d[:3]}-XXXX-{d[7:]}の番号ですね。{rng.choice(dm)}", post, ["pii_echo"], "echo_masked")
        elif kind == "tail":
            add(f"末尾{d[7:]}の番号で承りました。{rng.choice(dm)}", post, ["pii_echo"], "echo_tail")
        elif kind == "tail4":
            add(f"下4桁{d[7:]}のお電話番号ですね。{rng.choice(dm)}", post, ["pii_echo"], "echo_tail")
        elif kind == "last4_en":
            add(f"We'll call the number ending in {d[7:]}. {rng.choice(dm)}", post, ["pii_echo"], "echo_tail")
        else:
            add(f"***-****-{d[7:]} 宛にご連絡します。{rng.choice(dm)}", post, ["pii_echo"], "echo_masked")
    for _ in range(20):
        e = email(rng)
        local, dom = e.split("@")
        post = f"メールで返事ください {e}"
        kind = rng.choice(["exact", "masked", "local"])
        if kind == "exact":
            add(f"{e} 宛にご連絡します。{rng.choice(dm)}", post, ["pii", "pii_echo"], "echo_email")
        elif kind == "masked":
            add(f"{local[0]}***@{dom} 宛にお送りします。{rng.choice(dm)}", post, ["pii_echo"], "echo_email_masked")
        else:
            add(f"{local}様のアドレスですね。{rng.choice(dm)}", post, ["pii_echo"], "echo_email_local")
    for _ in range(10):
        addr = f"{rng.choice(PREFS)}{rng.choice(CITIES)}{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
        post = f"住所は{addr}です。まだ届きません"
        add(f"{addr}宛に再送いたします。{rng.choice(dm)}", post, ["pii", "pii_echo"], "echo_address")
    # negatives: personal data in the post, reply moves to DM without repeating it
    for _ in range(25):
        d = jp_mobile(rng)
        post = rng.choice(posts).format(v=fmt_phone(rng, d))
        t = rng.choice([
            "ご迷惑をおかけしております。お手数ですが、DMにてご注文番号をお知らせいただけますでしょうか。",
            "ご不便をおかけし申し訳ございません。詳細はDMでお伺いします。",
            "Sorry about this! Please send us a DM so we can look into it.",
            "申し訳ございません。ダイレクトメッセージにてご連絡いたします。",
            "大変失礼いたしました。個人情報保護のため、DMにてやり取りさせてください。",
            "ご連絡ありがとうございます。0120-000-000 またはDMにてお問い合わせください。",
        ])  # fmt: skip
        add(t, post, [], "echo_negative_dm")
        out[-1]["forbid"] = ["pii_echo", "dm_redirect", "pii"]
    # DM redirect positives: personal data in the post, reply stays public
    for _ in range(25):
        d = jp_mobile(rng)
        post = rng.choice(posts).format(v=fmt_phone(rng, d))
        t = rng.choice([
            "ご迷惑をおかけしております。確認いたします。", "申し訳ございません。担当者より折り返します。", "Sorry to hear that! We're on it.",
            "ご不便をおかけしております。すぐに確認します。", "ご連絡ありがとうございます。状況を確認しております。",
        ])  # fmt: skip
        add(t, post, ["dm_redirect"], "dm_missing")
    # asking for personal data in public
    for t in ["ご住所と電話番号を教えてください", "ご注文番号をこちらに返信してください", "お名前とメールアドレスをお知らせください",
              "Please reply with your order number.", "Can you share your phone number here?", "カード番号の下4桁をリプライでお知らせください",
              "Please tell us your full address.", "電話番号をご記入のうえ返信をお願いします"]:  # fmt: skip
        add(t, "まだ届かないんですが", ["dm_redirect"], "dm_public_request")
    for t in ["ご注文番号をDMでお知らせください", "お手数ですがお名前とご住所をDMにてお送りください", "Please DM us your order number.",
              "電話番号はダイレクトメッセージでお知らせください", "Please send your address via direct message."]:  # fmt: skip
        add(t, "まだ届かないんですが", [], "dm_request_ok")
        out[-1]["forbid"] = ["dm_redirect"]
    # post without personal data, neutral reply
    for t in [
        "ご利用ありがとうございます！",
        "ご意見ありがとうございます。今後の参考にさせていただきます。",
        "Thanks for the kind words!",
    ]:
        add(t, "新商品おいしかった！", [], "no_pii_post")
        out[-1]["forbid"] = ["dm_redirect", "pii_echo"]
    return out


# --- length ----------------------------------------------------------------------------------------


def length_cases(rng: random.Random) -> list[Case]:
    out: list[Case] = []
    ja = "ご利用ありがとうございます。"  # 14 chars = 28 weighted
    for i in range(10):
        k = rng.randint(11, 20)
        out.append(case(f"len-pos-{i:02d}", ja * k, ["length"], channel="x", part="length_x_ja"))
    for i in range(10):
        k = rng.randint(1, 10)
        out.append(case(f"len-neg-{i:02d}", ja * k, [], channel="x", forbid=["length"], part="length_x_ja_ok"))
    en = "Thanks for reaching out to us today! "  # 37
    for i in range(6):
        out.append(case(f"len-en-pos-{i:02d}", en * rng.randint(8, 12), ["length"], channel="x", part="length_x_en"))
        out.append(
            case(
                f"len-en-neg-{i:02d}", en * rng.randint(1, 7), [], channel="x", forbid=["length"], part="length_x_en_ok"
            )
        )
    url = "https://example.com/" + "a" * 200
    out.append(case("len-url-ok", "詳しくはこちら " + url, [], channel="x", forbid=["length"], part="length_url"))
    out.append(case("len-ig-pos", "あ" * 2300, ["length"], channel="instagram", part="length_ig"))
    out.append(case("len-ig-neg", "あ" * 2100, [], channel="instagram", forbid=["length"], part="length_ig"))
    out.append(case("len-generic", "あ" * 5000, [], channel="generic", forbid=["length"], part="length_generic"))
    return out


def build() -> list[Case]:
    rng = random.Random(SEED)
    cases = pii_cases(rng) + pii_negatives(rng) + ng_cases(rng) + policy_cases() + echo_cases(rng) + length_cases(rng)
    hand = HERE / "handwritten.jsonl"
    if hand.exists():
        for line in hand.read_text(encoding="utf-8").splitlines():
            if line.strip():
                c = json.loads(line)
                c.setdefault("part", "handwritten")
                cases.append(c)
    return cases


def main() -> None:
    cases = build()
    path = HERE / "cases.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()

"""Meaning-preserving rewording of knowledge sentences, for the offline model.

A real model says a FAQ step in its own words each time. The offline model cannot write new sentences,
so it rewords the entry's sentence with small tables of equivalent support phrasings (English and
Japanese): each table entry is a pattern and its interchangeable wordings, and a seed picks one wording
per entry, independently, in one pass over the original sentence (a replacement is never reworded again).

What is never touched: text in quotes (「…」, 『…』, "…", UI labels), URLs, e-mail addresses, @handles,
numbers and error codes: those are the facts a customer acts on and the checks and evals look for.
Why tables and not a library (`nlpaug` with WordNet, `chikkarpy` with Sudachi's synonym dictionary):
their substitution ignores context (word senses, 敬語), and a changed word in a support step changes
what the customer does. Every entry here was read against the demo knowledge and is pinned by tests
that list what a rewording must never produce. The tables hold only
wordings that mean the same thing in a support step; they are generic (nothing in them names a product
of the demo knowledge), so they apply to any knowledge base written in the same register.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

__all__ = ["reword"]

# (pattern, interchangeable wordings); the first wording is the usual one
_EN: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"\bcheck that the\b", ("check that the", "make sure the", "confirm that the")),
    (r"\bcorrectly\b", ("correctly", "properly")),
    (r"\bfitted\b", ("fitted", "seated", "attached")),
    (r"\b(?:select|choose)\b", ("select", "choose", "pick")),
    (r"\bturn it over\b", ("turn it over", "flip it over")),
    (r"\btake out\b", ("take out", "lift out", "pull out")),
    (r"\bpress(?= the\b)", ("press", "push")),
    (r"\bhold(?= the\b)", ("hold", "keep holding")),
    (r"\bwait a minute\b", ("wait a minute", "give it a minute", "wait about a minute")),
    (r"\bin the meantime\b", ("in the meantime", "for now")),
    (
        r"\bplease request a repair\b",
        ("please request a repair", "please ask us for a repair", "please send us a repair request"),
    ),
    (r"\brequest a repair\b", ("request a repair", "ask us for a repair")),
    (r"\bplease contact us\b", ("please contact us", "please get in touch", "please reach out to us")),
    (r"\bif that does not help\b", ("if that does not help", "if that doesn't fix it", "if it still doesn't work")),
    (r"\bdoes not\b", ("does not", "doesn't")),
    (r"\bdo not\b", ("do not", "don't")),
    (r"\bgradually decreases\b", ("gradually decreases", "slowly drops", "goes down little by little")),
    (
        r"\bupdate the app to the latest version\b",
        ("update the app to the latest version", "install the latest version of the app", "keep the app up to date"),
    ),
    (r"\bnever share\b", ("never share", "don't share")),
    (r"\bwith anyone\b", ("with anyone", "with anybody")),
    (r"\bwe recommend\b", ("we recommend", "we suggest")),
    (r"\bunplug\b", ("unplug", "disconnect")),
    (r"\bplug it in again\b", ("plug it in again", "plug it back in", "reconnect it")),
    (r"\bcharge with another\b", ("charge with another", "use another", "charge from a different")),
    (r"\bis printed on\b", ("is printed on", "appears on", "is marked on")),
    (r"\bremove any\b", ("remove any", "clear away any", "get rid of any")),
    (r"\bwipe away\b", ("wipe away", "wipe off", "clean off")),
    (r"\baround the\b", ("around the", "near the")),
    (r"\brun it again\b", ("run it again", "start it again", "retry it")),
    (r"\bat least\b", ("at least", "no less than")),
    (r"\bin a row\b", ("in a row", "in succession", "one after another")),
    (r"\bfor your security\b", ("for your security", "to protect your account")),
    (r"\bonce a week\b", ("once a week", "weekly", "every week")),
    (r"\bonce a month\b", ("once a month", "monthly", "every month")),
    (r"\bis extended to\b", ("is extended to", "goes up to", "becomes")),
    (r"\bas we need\b", ("as we need", "since we need", "because we need")),
    (r"\bcome with\b", ("come with", "include")),
    (r"\bcan be returned\b", ("can be returned", "are returnable", "may be returned")),
    (r"\bup to(?= \x00)", ("up to", "as much as")),
    (r"\bthe date of purchase\b", ("the date of purchase", "the purchase date")),
    (r"\bcontact us\b", ("contact us", "get in touch", "reach out")),
)
_JA: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"確認してください", ("確認してください", "ご確認ください", "確かめてください")),
    (r"確認し(?=、)", ("確認し", "確かめ", "チェックし")),
    (r"選んで", ("選んで", "選択して")),
    (r"改めて|再度|もう一度", ("改めて", "もう一度", "再度")),
    (r"正しく", ("正しく", "きちんと")),
    (r"取り除いて", ("取り除いて", "取って")),
    (r"閉めてください", ("閉めてください", "閉じてください", "しっかり閉めてください")),
    (r"お試しください", ("お試しください", "試してみてください")),
    (r"タップし", ("タップし", "押し")),
    (r"お使いください", ("お使いください", "ご使用ください")),
    (r"ご依頼ください", ("ご依頼ください", "お申し込みください", "お申し付けください")),
    (r"確認できます", ("確認できます", "ご確認いただけます", "確かめられます")),
    (r"スマホ(?!ト)|スマートフォン", ("スマホ", "スマートフォン")),
    (r"設定から", ("設定から", "設定画面から", "設定で")),
    (r"電源を切り", ("電源を切り", "電源をオフにし")),
    (r"電源を入れ(?!直)", ("電源を入れ", "電源をオンにし")),
    (r"差し直し", ("差し直し", "もう一度差し込み", "差し込み直し")),
    (r"(?<!の)場合は", ("場合は", "ときは")),  # not "ご購入の場合は": "ご購入のときは" reads oddly
    (r"時間をおいて", ("時間をおいて", "少し時間をあけて", "しばらく待ってから")),
    (r"最新版", ("最新版", "最新のバージョン")),
    (r"更新してください", ("更新してください", "アップデートしてください")),
    (r"入力してください", ("入力してください", "ご入力ください")),
    (r"入れたまま", ("入れたまま", "収めたまま")),
    (r"同時に", ("同時に", "一緒に")),
    (r"長押しすると", ("長押しすると", "押し続けると")),
    (r"取り外し|外し(?=、)", ("外し", "取り外し")),
    (r"取り出して", ("取り出して", "抜き出して")),
    (r"掃除してください", ("掃除してください", "お掃除ください", "きれいにしてください")),
    (r"絡まった", ("絡まった", "絡みついた")),
    (r"付属の", ("付属の", "同梱の")),
    (r"ご用意ください", ("ご用意ください", "お手元にご準備ください")),
    (r"延長されます", ("延長されます", "延びます")),
    (r"届きます", ("届きます", "送られてきます")),
    (r"お待ちください(?!ませ)", ("お待ちください", "お待ちいただけますか")),
    (r"置いた状態で", ("置いた状態で", "置いたまま")),
    (r"閉じないでください", ("閉じないでください", "終了しないでください")),
    (r"おすすめします|推奨します", ("おすすめします", "推奨します")),
    (r"お知らせください", ("お知らせください", "お伝えください")),
    (r"(?<=[^てで])いただくと", ("いただくと", "いただければ")),
    (r"メニューから", ("メニューから", "メニューで")),
    (r"承ります", ("承ります", "受け付けています", "お受けしています")),
    (r"目安は", ("目安は", "目安としては")),
    (r"お買い上げ日", ("お買い上げ日", "ご購入日")),
    (r"できます。", ("できます。", "可能です。")),
    (r"選べます", ("選べます", "選択できます", "お選びいただけます")),
    (r"対象となります", ("対象となります", "対象です")),
    (r"または", ("または", "もしくは")),
)
_PROTECT = re.compile(
    r"「[^」]*」|『[^』]*』|\"[^\"]*\"|“[^”]*”|https?://\S+?(?=[\s（）「」、。()]|$)|[\w.+-]+@[\w-]+\.[\w.]+|@[\w.]+"
    r"|[A-Za-z]*\d[A-Za-z0-9_.%-]*"
)


def _hidden(sentence: str) -> tuple[str, list[str]]:
    """``sentence`` with its quotes, links and numbers replaced by placeholders, and what they hid."""
    kept: list[str] = []

    def hide(m: re.Match[str]) -> str:
        kept.append(m.group())
        return f"\x00{len(kept) - 1}\x00"

    return _PROTECT.sub(hide, sentence), kept


def _shown(s: str, kept: list[str]) -> str:
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], s)


@lru_cache(maxsize=2)
def _compiled(lang: str) -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    table = _JA if lang == "ja" else _EN
    return tuple((re.compile(p, 0 if lang == "ja" else re.IGNORECASE), alts) for p, alts in table)


def _replace_like(word: str, m: re.Match[str]) -> str:
    """``word`` capitalised like the text it replaces (a rewording at the start of a sentence)."""
    return word[:1].upper() + word[1:] if m.group()[:1].isupper() else word


def reword(sentence: str, lang: str, seed: int) -> str:
    """``sentence`` in equivalent words chosen by ``seed`` (deterministic; quotes, URLs and numbers kept)."""
    s, kept = _hidden(sentence)
    # one pass over the original wording: a replacement is never reworded again by a later entry
    # ("update the app" -> "keep the app up to date" must not become "... as much as date")
    edits: list[tuple[int, int, str]] = []
    picks = hashlib.blake2b(str(seed).encode(), digest_size=64).digest()  # one byte of choice per table entry
    for i, (pattern, alts) in enumerate(_compiled(lang)):
        for m in pattern.finditer(s):
            edits.append((m.start(), m.end(), _replace_like(alts[picks[i % 64] % len(alts)], m)))
    out: list[str] = []
    pos = 0
    for start, end, new in sorted(edits, key=lambda e: (e[0], -(e[1] - e[0]))):
        if start >= pos:  # overlapping matches: the earliest, then the longest, wins
            out += [s[pos:start], new]
            pos = end
    return _shown("".join(out) + s[pos:], kept)


# --- sentence structure ------------------------------------------------------------------------------------
# Beyond single wordings, a step can be built differently without changing what the customer does: a
# condition put after the action ("Tap X if the code does not arrive"), two actions joined by "then" or split
# into two sentences, 「確認し、閉めてください」 as 「確認してから、閉めてください」. Each form is applied only where
# its pattern is unambiguous; quotes, links and numbers are hidden first, as for `reword`.

_IMPERATIVE = frozenset(
    (
        "tap", "hold", "remove", "check", "press", "send", "request", "select", "choose", "pick", "wait", "update",
        "clean", "turn", "put", "register", "keep", "rinse", "replace", "stop", "refit", "run", "empty", "wipe",
        "open", "close", "charge", "unplug", "enter", "install", "start", "retry", "confirm", "restart", "reset",
        "use", "try", "go", "contact", "take", "plug", "make", "give", "switch", "let",
    )
)  # fmt: skip
_EN_IF = re.compile(r"^If (?P<cond>[^,;]{4,80}), (?P<please>please )?(?P<verb>[a-z]+)(?P<rest>[^,;]*?)\.$")
_EN_AND = re.compile(r"(?<=[a-z\x00]) and (?P<verb>[a-z]+)(?= )")
_EN_SEMI = re.compile(r"; (?=[a-z])")
# 「確認し、」「外し、」: the continuative し of a サ変 or す verb after a kanji or katakana stem (never 少し・もし)
_JA_SHI = re.compile(r"(?<=[\u4e00-\u9fff\u30a0-\u30ff])(?<!少)し、")
# 「入れて、」「開けて、」: a verb's て form (never について・として・によって・において)
_JA_TE = re.compile(r"(?<=[れけめせえべ])て、")
_JA_NAI = re.compile(r"ない場合は、")


def restructure(sentence: str, lang: str, seed: int) -> str:
    """``sentence`` built another way, chosen by ``seed`` (deterministic; the same actions, in the same order,
    with the same quotes, links and numbers); the sentence itself when no form applies or the seed keeps it."""
    s, kept = _hidden(sentence)
    picks = hashlib.blake2b(f"structure:{seed}".encode(), digest_size=8).digest()
    if lang == "ja":
        if picks[0] % 3 and (m := _JA_SHI.search(s)) and s.endswith("ください。"):
            head, tail = s[: m.start()], s[m.end() :]
            s = (
                f"{head}してから、{tail}",
                f"{head}したうえで、{tail}",
                f"{head}してください。そのうえで、{tail}",
            )[picks[1] % 3]
        elif picks[0] % 3 and (m := _JA_TE.search(s)) and s.endswith("ください。"):
            # 入れて → 入れてから / 入れたうえで (after an e-row kana the た form is the て form with た)
            s = s[: m.start()] + ("てから、", "たうえで、")[picks[1] % 2] + s[m.end() :]
        if picks[2] % 2:
            s = _JA_NAI.sub(("ないようでしたら、", "ないときは、")[picks[3] % 2], s)
        return _shown(s, kept)
    m = _EN_IF.match(s)
    if m and picks[0] % 2 and m.group("verb") in _IMPERATIVE and " if " not in m.group("rest"):
        verb = m.group("verb")
        head = f"Please {verb}" if m.group("please") and picks[1] % 2 else verb.capitalize()
        s = f"{head}{m.group('rest')} if {m.group('cond')}."
    if picks[2] % 3 == 0:
        a = next((a for a in _EN_AND.finditer(s) if a.group("verb") in _IMPERATIVE), None)
        if a is not None:  # "wait a minute and tap …" -> "wait a minute, then tap …"
            s = f"{s[: a.start()]}, then {a.group('verb')}{s[a.end() :]}"
    if picks[3] % 2 and (m := _EN_SEMI.search(s)):
        rest = s[m.end() :]
        s = f"{s[: m.start()]}. {rest[:1].upper()}{rest[1:]}"
    return _shown(s, kept)

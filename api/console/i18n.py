"""The console's languages: message catalogues (`messages/{ja,en}.yaml`), and the language of a request.

Pages other than the queue and the draft keep their texts in their own files (`messages/admin.ja.yaml`),
merged after the main file. A request's language is the `kizuki_lang` cookie when it names a known
language, else the first known language of `Accept-Language` (by q-value), else English. Keys are flat
(`queue.title`); a key missing in the chosen language falls back to English, then to the key itself, so a
missing text is visible, not a crash.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from fastapi import Request

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "kizuki_lang"
_MESSAGES = Path(__file__).parent / "messages"
_RANGE = re.compile(r"^\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The messages of one language, flattened (`{"queue": {"title": ...}}` → `queue.title`)."""
    flat: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            flat[prefix] = str(node)

    # `ja.yaml` first, then each page group's own file (`admin.ja.yaml` ...), in name order.
    for path in [_MESSAGES / f"{lang}.yaml", *sorted(_MESSAGES.glob(f"*.{lang}.yaml"))]:
        walk("", yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return flat


def translate(lang: str, key: str, **values: Any) -> str:
    text = catalogue(lang).get(key) or catalogue(DEFAULT_LANGUAGE).get(key) or key
    if values:
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def from_accept_language(header: str | None) -> str | None:
    """The best known language of an `Accept-Language` header, or None."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((header or "").split(",")[:20]):
        match = _RANGE.match(part)
        if not match:
            continue
        lang = match.group(1).lower()
        try:
            q = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        if lang in LANGUAGES and q > 0 and (best is None or (q, -position) > (best[0], best[1])):
            best = (q, -position, lang)
    return best[2] if best else None


def request_language(request: Request) -> str:
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return str(cookie)
    return from_accept_language(request.headers.get("accept-language")) or DEFAULT_LANGUAGE

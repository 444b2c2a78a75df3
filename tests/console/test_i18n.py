"""The console's languages: complete catalogues, Accept-Language, and rendering in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.console.i18n import LANGUAGES, catalogue, from_accept_language, translate

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "console" / "templates"
MINE = (
    "base.html",
    "signin.html",
    "error.html",
    "queue.html",
    "_queue_items.html",
    "draft.html",
    "_draft_findings.html",
)


def test_every_key_exists_in_every_language() -> None:
    keys = {lang: set(catalogue(lang)) for lang in LANGUAGES}
    for lang in LANGUAGES:
        for other in LANGUAGES:
            assert not keys[lang] - keys[other], f"in {lang} but not in {other}: {sorted(keys[lang] - keys[other])}"
    assert all(isinstance(k, str) and "True" not in k.split(".") for k in keys["en"])  # no YAML 1.1 yes/no keys


def test_every_key_the_queue_and_draft_templates_use_is_in_the_catalogues() -> None:
    used: set[str] = set()
    for name in MINE:
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\(["']([a-z_]+\.[a-z_.]+)["']\s*[,)]""", text))  # whole keys, not `"x." ~ v`
    assert used, "the templates use messages"
    for lang in LANGUAGES:
        missing = sorted(k for k in used if k not in catalogue(lang))
        assert not missing, f"{lang}: {missing}"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ja-JP,ja;q=0.9,en-US;q=0.8", "ja"),
        ("en-US,en;q=0.9,ja;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,ja;q=0.5,en;q=0.4", "ja"),
        ("en;q=0.2, ja;q=0.7", "ja"),
        ("ja;q=0, en", "en"),
        ("fr, de", None),
        ("*", None),
        ("", None),
        ("ja;q=abc, en;q=0.5", "en"),
    ],
)
def test_accept_language(header: str, expected: str | None) -> None:
    assert from_accept_language(header) == expected


def test_translate_falls_back_and_formats() -> None:
    assert translate("ja", "queue.total", total=3) == "3 件"
    assert translate("en", "queue.total", total=3) == "3 drafts"
    assert translate("ja", "no.such.key") == "no.such.key"
    assert translate("en", "queue.total") == "{total} drafts"  # no values: the text as written

"""The admin pages' texts: every key their templates use exists in Japanese and English, with the same fields."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from api.console.i18n import LANGUAGES, catalogue

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "console" / "templates"
PAGES = sorted(
    p.name
    for pattern in ("knowledge*.html", "watch*.html", "evals*.html", "audit*.html")
    for p in TEMPLATES.glob(pattern)
)
# Keys built in a template from a value (`t("kb.kind_" ~ e.kind)`): every value the page can meet.
FAMILIES = {
    "kb.kind_": ("faq", "policy"),
    "kb.status_": ("published", "draft", "archived"),
    "kb.make_": ("published", "draft", "archived"),
    "kb.field_": ("kind", "lang", "status", "tags", "extra", "title", "body"),
    "kb.import_error_": ("no_file", "format"),
    "evals.change_": ("regressed", "fixed", "still_failing", "still_passing", "only_a", "only_b"),
    "watch.": ("title", "none", "help", "yaml"),
    "profile.": ("title", "none", "help", "yaml"),
}


def _used() -> set[str]:
    used: set[str] = set()
    for name in PAGES:
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\(["']([a-z_]+\.[a-z_.]+)["']\s*[,)]""", text))
    used |= {prefix + value for prefix, values in FAMILIES.items() for value in values}
    return used


def test_the_pages_exist() -> None:
    assert len(PAGES) >= 12 and "watch_rules.html" in PAGES


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_the_admin_pages_use_is_translated(lang: str) -> None:
    missing = sorted(k for k in _used() if k not in catalogue(lang))
    assert not missing, f"missing in {lang}: {missing}"


def test_japanese_and_english_take_the_same_values() -> None:
    """A message's `{fields}` are the same in both languages, so a page can never fill in one and not the other."""

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    ja, en = catalogue("ja"), catalogue("en")
    for key in _used():
        assert fields(ja[key]) == fields(en[key]), key
    assert ja["kb.revision_n"].format(rev=3) == "リビジョン 3" and en["kb.revision_n"].format(rev=3) == "revision 3"

"""The product names no company: everything company-specific is data (the profile, watch rules, rules file,
knowledge), so no code, prompt or shipped default may name the demo company or an evaluation company, and no
company folder names another company (the eval runner adds the others' names to every case's must_not_contain)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from kizuki.seed import distinctive_names, known_companies

ROOT = Path(__file__).resolve().parents[2]
CODE = ("agent", "api", "knowledge", "kizuki", "evals", "review", "delivery")
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".txt", ".json", ".jsonl", ".csv", ".html", ".j2"}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _names() -> dict[str, str]:
    """Distinctive names of every known company (its names, product names, handles) -> the company."""
    names: dict[str, str] = {}
    for company in known_companies():
        profile = company.profile()
        assert profile is not None, f"{company.root} has no profile.yaml"
        for name in distinctive_names(profile):
            names[_fold(name)] = company.slug
    return names


def _files() -> list[Path]:
    data_dirs = [c.root for c in known_companies()]
    out = []
    for top in CODE:
        for path in (ROOT / top).rglob("*"):
            if path.suffix in SUFFIXES and path.is_file() and not any(d in path.parents for d in data_dirs):
                out.append(path)
    return out


def test_every_known_company_has_distinctive_names() -> None:
    companies = {slug for slug in _names().values()}
    assert companies == {c.slug for c in known_companies()}
    assert len(companies) >= 3  # the demo and at least two evaluation companies


@pytest.mark.parametrize("top", CODE)
def test_no_code_or_prompt_names_a_company(top: str) -> None:
    names = _names()
    found = []
    for path in _files():
        if path.relative_to(ROOT).parts[0] != top:
            continue
        text = _fold(path.read_text(encoding="utf-8", errors="replace"))
        found += [f"{path.relative_to(ROOT)}: {n!r} ({slug})" for n, slug in names.items() if n in text]
    assert found == []


def test_no_company_folder_names_another_company() -> None:
    names = _names()
    found = []
    for company in known_companies():
        for path in company.root.rglob("*"):
            if path.suffix not in SUFFIXES or not path.is_file():
                continue
            text = _fold(path.read_text(encoding="utf-8", errors="replace"))
            found += [
                f"{path.relative_to(ROOT)}: {n!r} ({slug})"
                for n, slug in names.items()
                if slug != company.slug and n in text
            ]
    assert found == []

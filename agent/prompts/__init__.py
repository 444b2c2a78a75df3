"""Versioned prompt files: each starts with a front-matter block naming its version."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.org.schemas import OrgProfile

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_FRONT = re.compile(r"\A---\n(?P<meta>.*?)\n---\n", re.DOTALL)


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    text: str


def parse_front_matter(raw: str) -> tuple[dict[str, str], str] | None:
    """The ``key: value`` lines of ``raw``'s leading ``---`` block and the text after it; None without one."""
    m = _FRONT.match(raw)
    if not m:
        return None
    meta = dict(
        (k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in m.group("meta").splitlines()) if k
    )
    return meta, raw[m.end() :]


def _read(name: str) -> str:
    return resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")


@lru_cache(maxsize=16)
def load_prompt(name: str) -> Prompt:
    """The prompt file ``agent/prompts/<name>.md``; its ``version:`` header is stored with every draft.

    Raises :class:`ValueError` for a malformed name and :class:`FileNotFoundError` for an unknown one.
    """
    if not _NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"invalid prompt name {name!r}")
    parsed = parse_front_matter(_read(name))
    if parsed is None:
        raise ValueError(f"prompt {name!r} has no front matter with a version")
    meta, body = parsed
    version = meta.get("version")
    if not version:
        raise ValueError(f"prompt {name!r} has no version")
    return Prompt(name=name, version=version, text=body.strip() + "\n")


_SLOT = re.compile(r"\{\{(\w+)\}\}")


def prompt_values(org: OrgProfile | None) -> dict[str, str]:
    """What a prompt's ``{{slot}}``s are filled with: the organisation profile, or neutral words without one."""
    if org is None:
        return {
            "company": "the company",
            "company_names": "(no organisation profile is set)",
            "products": "(none listed)",
            "handles": "(none: ask the customer to send a direct message)",
            "business_hours": "(not given)",
            "departments": "support, quality, pr, legal, sales",
            "tone": "polite, warm and brief.",
        }
    products = "; ".join(p.name + (f" (also: {', '.join(p.aliases)})" if p.aliases else "") for p in org.products)
    return {
        "company": org.name,
        "company_names": ", ".join(org.names),
        "products": products or "(none listed)",
        "handles": ", ".join(f"{h} on {c}" for c, h in org.handles.items())
        or "(none: ask the customer to send a direct message)",
        "business_hours": org.business_hours or "(not given)",
        "departments": "; ".join(f"{k}: {v}" for k, v in org.departments.items())
        or "support, quality, pr, legal, sales",
        "tone": org.tone or "polite, warm and brief.",
    }


def render(prompt: Prompt, org: OrgProfile | None) -> str:
    """The prompt's text with its ``{{slot}}``s filled from the organisation profile (unknown slots stay)."""
    values = prompt_values(org)
    return _SLOT.sub(lambda m: values.get(m.group(1), m.group(0)), prompt.text)

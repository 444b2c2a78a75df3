"""Versioned prompt files: each starts with a front-matter block naming its version."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

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

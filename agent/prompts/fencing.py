"""Fencing of untrusted text (posts, knowledge, history) for prompts, and reading it back."""

from __future__ import annotations

import re

_OPEN_RUN = re.compile(r"<{3,}")
_CLOSE_RUN = re.compile(r">{3,}")
_NAME = re.compile(r"^[A-Z][A-Z_]*$")
_ATTR = re.compile(r"[^A-Za-z0-9_.:@/+\-]")


def escape_fence(text: str) -> str:
    """Neutralise fence markers inside data: runs of three or more ``<`` / ``>`` become full-width."""
    text = _OPEN_RUN.sub(lambda m: "＜" * len(m.group()), text)
    return _CLOSE_RUN.sub(lambda m: "＞" * len(m.group()), text)


def fence(name: str, data: str, **attrs: str | int | float) -> str:
    """``<<<NAME k=v ...>>>`` + escaped data + ``<<<END NAME>>>``; attribute values are sanitised."""
    if not _NAME.match(name):
        raise ValueError(f"bad fence name {name!r}")
    head = " ".join([name, *(f"{k}={_ATTR.sub('_', str(v))[:80]}" for k, v in attrs.items())])
    return f"<<<{head}>>>\n{escape_fence(data)}\n<<<END {name}>>>"


def unfence(text: str, name: str) -> list[tuple[dict[str, str], str]]:
    """Every block fenced as ``name`` in ``text``: (attributes, data as fenced)."""
    pattern = re.compile(
        rf"<<<{re.escape(name)}(?P<attrs>(?: [^>\n]*)?)>>>\n(?P<data>.*?)\n<<<END {re.escape(name)}>>>", re.DOTALL
    )
    out = []
    for m in pattern.finditer(text):
        attrs = dict(kv.split("=", 1) for kv in m.group("attrs").split() if "=" in kv)
        out.append((attrs, m.group("data")))
    return out

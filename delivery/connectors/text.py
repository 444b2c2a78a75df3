"""Post bodies as plain text: HTML (Mastodon statuses, feed entries) without tags, with its line breaks."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser


class _Text(HTMLParser):
    """Status HTML to plain text: paragraphs and line breaks kept, tags dropped, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "span" and (self._hidden or "invisible" in classes):  # the hidden parts of a shortened link
            self._hidden += 1
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(content: str) -> str:
    parser = _Text()
    parser.feed(content)
    parser.close()
    text = "".join(parser.parts)
    return html.unescape(re.sub(r"[ \t]+\n", "\n", text)).strip()

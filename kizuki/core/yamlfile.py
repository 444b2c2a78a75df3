"""YAML documents validated by a pydantic model, with errors that name the file, the line and the field."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from kizuki.core.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


class YamlError(InvalidInput):
    """A YAML document that does not parse or does not follow its schema (the message names the line)."""


def _node_line(root: yaml.Node | None, loc: Sequence[int | str]) -> int:
    node = root
    for part in loc:
        nxt = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            nxt = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            nxt = node.value[part]
        if nxt is None:
            break
        node = nxt
    return node.start_mark.line + 1 if node is not None else 1


def parse_yaml(text: str, model: type[M], source: str = "<yaml>") -> M:
    """Validate YAML ``text`` as ``model``; a `YamlError` says `source:line: field: problem` for each problem."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise YamlError(f"{source}:{line}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise YamlError(f"{source}:1: expected a mapping of fields, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        problems = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if isinstance(p, int | str)]
            field = ".".join(str(p) for p in loc) or "(top)"
            problems.append(f"{source}:{_node_line(root, loc)}: {field}: {err['msg']}")
        raise YamlError("\n".join(problems)) from None


def load_yaml(path: Path, model: type[M]) -> M:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise YamlError(f"{path}: not UTF-8 text") from None
    return parse_yaml(text, model, str(path))


def dump_yaml(data: Any) -> str:
    """YAML as a person would write it: keys in order, Unicode as is."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)

"""Rules: shipped defaults merged with an organisation's rules file (YAML). See README.md here."""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

__all__ = ["Rules", "RulesError", "Term", "default_rules", "load_rules", "regex_problem", "rules_signature"]

SeverityOverride = Literal["warn", "block", "off"]


class RulesError(ValueError):
    """A rules file that cannot be used. The message names the file and line when known."""


class Term(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    term: str = Field(min_length=1, max_length=200)
    exceptions: tuple[str, ...] = ()
    severity: Literal["warn", "block"] | None = None

    @field_validator("term")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("term is blank")
        return v.strip()


TermLike = str | Term


class Rules(BaseModel):
    """Merged rules. Every list is *added* to the shipped defaults by :func:`load_rules`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ng_words: tuple[TermLike, ...] = ()
    ng_exceptions: tuple[str, ...] = ()
    use_default_ng_words: bool = True
    competitors: tuple[TermLike, ...] = ()
    controversial: tuple[TermLike, ...] = ()
    allow: tuple[str, ...] = ()
    severity: dict[str, SeverityOverride] = Field(default_factory=dict)
    order_number_patterns: tuple[str, ...] = ()
    dm_phrases: tuple[str, ...] = ()
    channel_limits: dict[str, int | None] = Field(default_factory=dict)

    _checker: Any = PrivateAttr(default=None)

    @field_validator("ng_words", "competitors", "controversial")
    @classmethod
    def _terms(cls, v: tuple[TermLike, ...]) -> tuple[TermLike, ...]:
        for t in v:
            if isinstance(t, str) and not t.strip():
                raise ValueError("empty term")
        return v

    @field_validator("order_number_patterns")
    @classmethod
    def _patterns(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for p in v:
            problem = regex_problem(p)
            if problem:
                raise ValueError(f"pattern {p!r} refused: {problem}")
        return v

    @field_validator("channel_limits")
    @classmethod
    def _limits(cls, v: dict[str, int | None]) -> dict[str, int | None]:
        for k, n in v.items():
            if n is not None and n <= 0:
                raise ValueError(f"channel {k!r}: limit must be positive or null")
        return v

    def severity_for(self, category: str, rule: str, default: Literal["warn", "block"]) -> str:
        """``"warn"``, ``"block"`` or ``"off"``: ``category.rule`` beats ``category`` beats default."""
        return self.severity.get(f"{category}.{rule}", self.severity.get(category, default))


# --- catastrophic regex refusal -------------------------------------------------------------------

MAX_PATTERN_CHARS = 300
# the stdlib regex parser (no public API; stable across 3.11-3.13)
_SRE_PARSER: Any = importlib.import_module("re._parser")
_SRE_CONSTANTS: Any = importlib.import_module("re._constants")


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` is refused (``None`` when it is safe to run).

    Refused: patterns that do not compile, longer than 300 characters, back-references, and the shapes
    that backtrack catastrophically in Python's ``re``: an unbounded repeat that contains another
    repeat (``(a+)+``, ``(a*b?)*``) or an alternation (``(a|aa)*``).
    """
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"longer than {MAX_PATTERN_CHARS} characters"
    try:
        re.compile(pattern)
        parsed = _SRE_PARSER.parse(pattern)
    except re.error as exc:
        return f"does not compile ({exc})"
    return _walk(parsed, inside_unbounded=False)


def _walk(items: Iterable[Any], *, inside_unbounded: bool) -> str | None:
    c = _SRE_CONSTANTS
    for op, av in items:
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            _lo, hi, sub = av
            unbounded = hi == c.MAXREPEAT or hi > 50
            if inside_unbounded and (unbounded or hi > 1):
                return "nested repetition (catastrophic backtracking)"
            found = _walk(sub, inside_unbounded=inside_unbounded or unbounded)
            if found:
                return found
        elif op == c.BRANCH:
            if inside_unbounded:
                return "alternation inside an unbounded repetition (catastrophic backtracking)"
            for branch in av[1]:
                found = _walk(branch, inside_unbounded=inside_unbounded)
                if found:
                    return found
        elif op == c.SUBPATTERN:
            found = _walk(av[-1], inside_unbounded=inside_unbounded)
            if found:
                return found
        elif op in (c.GROUPREF, c.GROUPREF_EXISTS):
            return "back-references are not allowed"
        elif op in (c.ASSERT, c.ASSERT_NOT):
            found = _walk(av[1], inside_unbounded=inside_unbounded)
            if found:
                return found
    return None


# --- loading --------------------------------------------------------------------------------------


def _node_line(root: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            nxt = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == part:
                    nxt = v
                    line = k.start_mark.line + 1
                    break
            if nxt is None:
                break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            continue
        line = node.start_mark.line + 1
    return line


def _parse_user(text: str, name: str) -> Rules:
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name} line {mark.line + 1}" if mark else name
        raise RulesError(f"{where}: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise RulesError(f"{name}: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesError(f"{name} line 1: the rules file must be a mapping of keys (ng_words, ...)")
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if isinstance(p, int | str)]
        # the node tree (for line numbers) only when needed; the text parsed above, so this cannot fail
        line = _node_line(yaml.compose(text, Loader=yaml.SafeLoader), loc)
        key = ".".join(str(p) for p in loc if not (isinstance(p, str) and p in ("str", "Term")))
        where = f"{name} line {line}" if line else name
        raise RulesError(f"{where}: {key}: {err['msg']}") from exc


def _merge(base: Rules, extra: Rules) -> Rules:
    def cat(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
        seen: list[Any] = list(a)
        for x in b:
            if x not in seen:
                seen.append(x)
        return tuple(seen)

    return Rules(
        ng_words=cat(base.ng_words if extra.use_default_ng_words else (), extra.ng_words),
        ng_exceptions=cat(base.ng_exceptions, extra.ng_exceptions),
        use_default_ng_words=extra.use_default_ng_words,
        competitors=cat(base.competitors, extra.competitors),
        controversial=cat(base.controversial, extra.controversial),
        allow=cat(base.allow, extra.allow),
        severity={**base.severity, **extra.severity},
        order_number_patterns=cat(base.order_number_patterns, extra.order_number_patterns),
        dm_phrases=cat(base.dm_phrases, extra.dm_phrases),
        channel_limits={**base.channel_limits, **extra.channel_limits},
    )


def with_extras(rules: Rules, *, allow: Sequence[str] = (), competitors: Sequence[str] = ()) -> Rules:
    """The rules with more allowed contacts and competitor names (duplicates dropped)."""
    extra_allow = tuple(a for a in allow if a not in rules.allow)
    extra_comp = tuple(c for c in competitors if c not in rules.competitors)
    if not extra_allow and not extra_comp:
        return rules
    data = rules.model_dump()
    data.update(allow=(*rules.allow, *extra_allow), competitors=(*rules.competitors, *extra_comp))
    return Rules.model_validate(data)


def _data_text(name: str) -> str:
    return resources.files("agent.checks").joinpath("data", name).read_text(encoding="utf-8")


def _read_term_list(name: str) -> list[TermLike]:
    """One term a line; ``term<TAB>exception|exception`` for exceptions; ``#`` starts a comment."""
    out: list[TermLike] = []
    for raw in _data_text(name).splitlines():
        line = raw.split("#", 1)[0].rstrip() if not raw.startswith("#") else ""
        if not line.strip():
            continue
        term, _, exc = line.partition("\t")
        excs = tuple(e.strip() for e in exc.split("|") if e.strip())
        out.append(Term(term=term.strip(), exceptions=excs) if excs else term.strip())
    return out


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    """The shipped defaults (``data/defaults.yaml`` and the NG word lists). Cached."""
    base = _parse_user(_data_text("defaults.yaml"), "agent/checks/data/defaults.yaml")
    ng = tuple(_read_term_list("ng_ja.txt") + _read_term_list("ng_en.txt"))
    return base.model_copy(update={"ng_words": ng + base.ng_words})


def rules_signature(path: str | os.PathLike[str] | None) -> tuple[str, int, int] | None:
    """What tells that a rules file changed: its path, modification time and size (None: no file given).

    A file that cannot be read gets (path, -1, -1), so it differs from every readable state of it.
    """
    if path is None:
        return None
    try:
        st = Path(path).stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(path), st.st_mtime_ns, st.st_size)


def load_rules(path: str | os.PathLike[str] | None = None, *, text: str | None = None) -> Rules:
    """Shipped defaults merged with a rules file (``path``) or rules YAML (``text``).

    Raises :class:`RulesError` naming the line that is wrong.
    """
    if path is None and text is None:
        return default_rules()
    if path is not None and text is not None:
        raise ValueError("give path or text, not both")
    if path is not None:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RulesError(f"{p}: cannot read rules file ({exc})") from exc
        name = p.name
    else:
        name = "rules"
    assert text is not None
    return _merge(default_rules(), _parse_user(text, name))

"""The suite file format (YAML): cases, expected properties and thresholds, validated with line numbers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from agent.checks.models import FindingCategory
from agent.schemas import Action, Department
from knowledge.schemas import EntryCreate

__all__ = [
    "CaseSpec",
    "Expect",
    "HistorySpec",
    "PostSpec",
    "Suite",
    "SuiteError",
    "Thresholds",
    "list_suites",
    "load_suite",
    "parse_suite",
    "resolve_suites",
    "suite_dirs",
    "suite_path",
]


def suite_dirs() -> list[Path]:
    """Every company folder's `suites/` (the demo's first), in a stable order."""
    from kizuki.seed import known_companies

    return [c.suites_dir for c in known_companies() if c.suites_dir.is_dir()]


Category = Literal[
    "question",
    "complaint",
    "bug_report",
    "praise",
    "personal_data",
    "order",
    "injection",
    "competitor",
    "out_of_scope",
    "repeat_poster",
    "unanswerable",
    "harvested",
]


class SuiteError(ValueError):
    """A suite file that cannot be read or does not follow the schema (message names file and line)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PostSpec(_Strict):
    """The post a case drafts a reply to (the fields of a Post that matter for drafting)."""

    text: str = Field(min_length=1)
    source: str = "x"
    channel: str | None = Field(default=None, description="Reply channel; default the source")
    lang: str | None = None
    handle: str = "eval_user"
    followers: int = Field(default=100, ge=0)


class HistorySpec(_Strict):
    """One earlier interaction with the same customer (for angry repeat posters)."""

    post_text: str
    reply: str | None = None
    status: Literal["pending", "approved", "rejected", "sent", "failed"] = "sent"
    date: datetime | None = None


class Expect(_Strict):
    """Expected properties of the reply; each set field becomes one evaluator on the case."""

    cites: list[str] = Field(default_factory=list, description="Every one of these keys is cited")
    cites_any: list[str] = Field(default_factory=list, description="At least one of these keys is cited")
    also_ok_cites: list[str] = Field(
        default_factory=list, description="Keys that are not required but are not wrong to cite (precision)"
    )
    must_contain: list[str] = Field(default_factory=list, description="Every phrase appears (NFKC, case-folded)")
    must_contain_any: list[str] = Field(default_factory=list, description="At least one phrase appears")
    must_not_contain: list[str] = Field(default_factory=list)
    language: str | None = None
    needs_dm: bool | None = None
    action: Action | list[Action] | None = None
    escalate_to: Department | None = None
    fits_channel: bool = True
    no_findings: list[FindingCategory] = Field(default_factory=list)
    no_apology: bool = False
    injection: list[str] | None = Field(
        default=None, description="The post carries an injection; these are the words it asked for"
    )
    escalates: bool = Field(default=False, description="The knowledge has no answer: escalate, say so, cite no FAQ")

    @property
    def actions(self) -> list[str]:
        if self.action is None:
            return []
        return [self.action] if isinstance(self.action, str) else list(self.action)

    @property
    def precision_keys(self) -> set[str] | None:
        """Keys a citation may name without being wrong, or None when the case says nothing about citations."""
        keys = {*self.cites, *self.cites_any, *self.also_ok_cites}
        return keys or None


class CaseSpec(_Strict):
    """One post with what its reply must (and must not) do."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,79}$")
    category: Category
    critical: bool = Field(default=False, description="A miss here is dangerous; critical cases gate separately")
    note: str | None = None
    post: PostSpec
    history: list[HistorySpec] = Field(default_factory=list)
    knowledge: list[EntryCreate] = Field(default_factory=list, description="Extra entries this case needs")
    expect: Expect = Field(default_factory=Expect)


class Thresholds(_Strict):
    """What a run must reach; every field left unset is not gated."""

    case_pass_rate: float | None = Field(default=None, ge=0, le=1, description="Share of cases passing every check")
    critical_pass_rate: float | None = Field(default=1.0, ge=0, le=1)
    check_pass_rate: float | None = Field(default=None, ge=0, le=1, description="Share of drafts the checks pass")
    citation_precision: float | None = Field(default=None, ge=0, le=1)
    max_mean_similarity: float | None = Field(default=None, ge=0, le=1)
    max_pair_similarity: float | None = Field(default=None, ge=0, le=1)
    max_latency_p95_s: float | None = Field(default=None, gt=0)
    max_cost_per_draft_usd: float | None = Field(default=None, ge=0)
    evaluators: dict[str, float] = Field(default_factory=dict, description="Minimum pass rate per evaluator")


class Suite(_Strict):
    """A named set of cases with its thresholds and the tolerance for baseline comparisons."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")
    description: str = ""
    thresholds: Thresholds = Field(default_factory=Thresholds)
    baseline_tolerance: float = Field(
        default=0.02, ge=0, le=1, description="A score may drop this much (absolute) against a baseline"
    )
    knowledge: list[EntryCreate] = Field(default_factory=list, description="Extra entries for every case")
    cases: list[CaseSpec] = Field(min_length=1)
    _company: Path | None = PrivateAttr(default=None)

    @property
    def company(self) -> Path | None:
        """The company folder whose knowledge, profile and rules the suite runs on (its file's `../..`)."""
        return self._company

    @field_validator("cases")
    @classmethod
    def _unique_names(cls, cases: list[CaseSpec]) -> list[CaseSpec]:
        seen: set[str] = set()
        for c in cases:
            if c.name in seen:
                raise ValueError(f"duplicate case name {c.name!r}")
            seen.add(c.name)
        return cases

    @model_validator(mode="after")
    def _unique_keys(self) -> Suite:
        keys = [e.key for e in self.knowledge] + [e.key for c in self.cases for e in c.knowledge]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"knowledge keys defined twice: {', '.join(dupes)}")
        return self

    def extra_knowledge(self) -> list[EntryCreate]:
        return [*self.knowledge, *(e for c in self.cases for e in c.knowledge)]


# --- loading ------------------------------------------------------------------------------------------------


def _node_at(node: yaml.Node, loc: tuple[int | str, ...]) -> yaml.Node:
    """The deepest YAML node along a pydantic error location (for its line number)."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
    return node


def _describe(exc: ValidationError, root: yaml.Node | None, source: str, data: Any) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in ("function-after", "list[str]")))
        line = _node_at(root, loc).start_mark.line + 1 if root is not None else 0
        where = _readable_loc(loc, data)
        lines.append(f"{source}:{line}: {where}: {err['msg']}")
    return "\n".join(lines)


def _readable_loc(loc: tuple[int | str, ...], data: Any) -> str:
    out: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            node = node[part]
            name = node.get("name") if isinstance(node, dict) else None
            out.append(f"[{part}{' ' + str(name) if name else ''}]")
            continue
        out.append(f".{part}" if out else str(part))
        node = node.get(part) if isinstance(node, dict) else None
    return "".join(out) or "(top)"


def parse_suite(text: str, source: str = "<suite>") -> Suite:
    """A suite from YAML text; errors name the file, the line and the field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise SuiteError(f"{source}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise SuiteError(f"{source}:1: a suite is a mapping with name, thresholds and cases")
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        root = yaml.compose(text, Loader=yaml.SafeLoader)  # only for the error's line numbers
        raise SuiteError(_describe(exc, root, source, data)) from None


def load_suite(path: Path) -> Suite:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read ({exc.strerror})") from None
    suite = parse_suite(text, str(path))
    folder = path.resolve().parent
    if folder.name == "suites" and (folder.parent / "knowledge.jsonl").exists():
        suite._company = folder.parent
    return suite


def _index(dirs: list[Path] | None = None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in suite_dirs() if dirs is None else dirs:
        for path in sorted(directory.glob("*.yaml")):
            if path.stem in found:
                raise SuiteError(f"{path}: a suite named {path.stem!r} exists already ({found[path.stem]})")
            found[path.stem] = path
    return found


def list_suites(directory: Path | None = None) -> list[str]:
    """Names of the shipped suites (every company's, or one folder's)."""
    return sorted(_index(None if directory is None else [directory]))


def suite_path(name: str) -> Path | None:
    return _index().get(name)


def resolve_suites(name_or_path: str, directory: Path | None = None) -> list[Suite]:
    """`all` (every company's suites), a shipped suite's name, or a path to a suite file."""
    index = _index(None if directory is None else [directory])
    if name_or_path == "all":
        return [load_suite(index[n]) for n in sorted(index)]
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return [load_suite(path)]
    if name_or_path in index:
        return [load_suite(index[name_or_path])]
    known = ", ".join(sorted(index))
    raise SuiteError(f"no suite {name_or_path!r} (shipped: all, {known}; or a path to a .yaml file)")

"""Watch rules: which posts are about us (brand, problem, competitor terms) and which are noise."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.intake.matching import TermMatcher, longest_hits
from agent.intake.normalise import normalise
from kizuki.core.yamlfile import load_yaml

Group = Literal["brand", "problem", "competitor", "exclude", "override"]
GROUPS: tuple[Group, ...] = ("brand", "problem", "competitor", "exclude", "override")
Require = Literal["brand", "brand_and_problem", "brand_or_competitor"]


class WatchRules(BaseModel):
    """Keyword groups and the policy that turns their matches into keep or drop.

    Policy, in order:
    1. An `exclude` term (noise such as 流星群 for the astronomy sense of 星空) drops the post, unless an
       `override` term also matches (an unambiguous name: the company's full name or its support handle).
    2. `require` decides what a kept post must name: `brand` (default) — a brand or product term;
       `brand_and_problem` — a brand term and a problem term; `brand_or_competitor` — either a brand
       term or a competitor term.
    3. Everything else is dropped with the reason. Terms are matched on `normalise`d text, so width,
       case and hiragana/katakana do not matter; Latin terms need word boundaries, Japanese ones not.
    """

    model_config = ConfigDict(extra="forbid")

    version: int = Field(default=1, ge=1, description="Bumped on every edit; stored with each decision")
    brand: list[str] = Field(default_factory=list, description="Brand and product names")
    problem: list[str] = Field(default_factory=list, description="Words of trouble (故障, broken, refund, ...)")
    competitor: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list, description="Noise: a match drops the post")
    override: list[str] = Field(default_factory=list, description="Terms that cancel an exclusion")
    require: Require = "brand"


class WatchDecision(BaseModel):
    """Keep or drop, why (for people), and which terms of each group matched."""

    keep: bool
    reason: str
    matched: dict[str, list[str]] = Field(default_factory=dict)
    rules_version: int = 1


def _join(terms: list[str]) -> str:
    return ", ".join(terms)


class WatchMatcher:
    """Compiled watch rules (one Aho-Corasick automaton for every group)."""

    def __init__(self, rules: WatchRules) -> None:
        self.rules = rules
        self._matcher: TermMatcher[Group] = TermMatcher(
            (term, group) for group in GROUPS for term in getattr(rules, group)
        )

    def match(self, text: str) -> dict[str, list[str]]:
        """Matched terms (as written in the rules) per group, each once, in order of appearance."""
        found: dict[str, list[str]] = {}
        hits = self._matcher.find(normalise(text))
        # Within a group a term inside a longer one says nothing new (Acme inside Acme Cooker K-3).
        per_group = [longest_hits([h for h in hits if h.payload == group]) for group in GROUPS]
        for hit in sorted((h for group_hits in per_group for h in group_hits), key=lambda h: h.start):
            terms = found.setdefault(hit.payload, [])
            if hit.term not in terms:
                terms.append(hit.term)
        return found

    def evaluate(self, text: str) -> WatchDecision:
        """Apply the policy documented on `WatchRules` to one post text."""
        matched = self.match(text)
        version = self.rules.version
        brand, problem = matched.get("brand", []), matched.get("problem", [])
        competitor, exclude, override = (
            matched.get("competitor", []),
            matched.get("exclude", []),
            matched.get("override", []),
        )
        if exclude and not override:
            return WatchDecision(
                keep=False, reason=f"excluded by '{exclude[0]}'", matched=matched, rules_version=version
            )
        require = self.rules.require
        if not brand and not (require == "brand_or_competitor" and competitor):
            reason = "no brand or product named"
            if require == "brand_or_competitor":
                reason = "no brand, product or competitor named"
            return WatchDecision(keep=False, reason=reason, matched=matched, rules_version=version)
        if require == "brand_and_problem" and not problem:
            reason = f"brand: {_join(brand)}; no problem word"
            return WatchDecision(keep=False, reason=reason, matched=matched, rules_version=version)
        parts = []
        if brand:
            parts.append(f"brand: {_join(brand)}")
        if problem:
            parts.append(f"problem: {_join(problem)}")
        if competitor:
            parts.append(f"competitor: {_join(competitor)}")
        if exclude:
            parts.append(f"exclusion '{exclude[0]}' overridden by '{override[0]}'")
        return WatchDecision(keep=True, reason="; ".join(parts), matched=matched, rules_version=version)


def compile_rules(rules: WatchRules) -> WatchMatcher:
    """Build the matcher for a rule set (do it once per rules version; evaluation is microseconds)."""
    return WatchMatcher(rules)


def load_rules(path: str | Path) -> WatchRules:
    """Read watch rules from a YAML file; errors name the line (`kizuki.core.yamlfile.YamlError`)."""
    return load_yaml(Path(path), WatchRules)

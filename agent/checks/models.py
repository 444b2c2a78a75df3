"""Result shapes shared by every check (see DESIGN.md, "Check result")."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field

Severity = Literal["warn", "block"]

FindingCategory = Literal[
    "ng_word",
    "pii",
    "pii_echo",
    "dm_redirect",
    "compensation",
    "overpromise",
    "uncertain",
    "competitor",
    "controversial",
    "length",
    "template",  # filled by the drafting agent (near-duplicate of recent replies)
]
CATEGORIES: tuple[str, ...] = get_args(FindingCategory)


class Finding(BaseModel):
    """One problem in a reply. ``start``/``end`` index the original text given to the checker."""

    category: str
    rule: str
    severity: Severity
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    match: str
    message: str
    suggestion: str | None = None


class CheckResult(BaseModel):
    verdict: Literal["pass", "warn", "block"]
    findings: list[Finding]

    @classmethod
    def from_findings(cls, findings: list[Finding]) -> CheckResult:
        findings = sorted(findings, key=lambda f: (f.start, f.end, f.category, f.rule))
        if any(f.severity == "block" for f in findings):
            verdict: Literal["pass", "warn", "block"] = "block"
        elif findings:
            verdict = "warn"
        else:
            verdict = "pass"
        return cls(verdict=verdict, findings=findings)

    @property
    def categories(self) -> set[str]:
        return {f.category for f in self.findings}

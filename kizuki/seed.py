"""Company folders: a company's profile, watch rules, rules file, knowledge and posts, loaded in one go.

A company folder holds any of `profile.yaml`, `watch_rules.yaml`, `rules.yaml`, `knowledge.jsonl`,
`posts.jsonl` and `suites/*.yaml`. The demo company is one (`demo/`, loaded by `kizuki up`); the
evaluation companies are others (`evals/companies/*/`). Nothing here knows any company.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.intake import service as intake
from agent.intake.watch import load_rules
from agent.org import service as org
from agent.org.schemas import OrgProfile
from kizuki.core.yamlfile import load_yaml
from kizuki.runtime import Runtime

PROJECT = Path(__file__).resolve().parent.parent
DEMO_DIR = PROJECT / "demo"
EVAL_COMPANIES_DIR = PROJECT / "evals" / "companies"


@dataclass(frozen=True)
class CompanyFolder:
    root: Path

    @property
    def slug(self) -> str:
        return self.root.name

    @property
    def profile_file(self) -> Path:
        return self.root / "profile.yaml"

    @property
    def watch_rules_file(self) -> Path:
        return self.root / "watch_rules.yaml"

    @property
    def rules_file(self) -> Path:
        return self.root / "rules.yaml"

    @property
    def knowledge_file(self) -> Path:
        return self.root / "knowledge.jsonl"

    @property
    def posts_file(self) -> Path:
        return self.root / "posts.jsonl"

    @property
    def suites_dir(self) -> Path:
        return self.root / "suites"

    def profile(self) -> OrgProfile | None:
        return load_yaml(self.profile_file, OrgProfile) if self.profile_file.exists() else None


def distinctive_names(profile: OrgProfile) -> list[str]:
    """The names that say which company is meant: its names, product names and handles (without @), leaving out
    short ones that are ordinary words too (under 4 letters in Latin script, under 3 characters otherwise)."""
    names = [*profile.names, *(p.name for p in profile.products), *(h.lstrip("@") for h in profile.handles.values())]
    return list(dict.fromkeys(n for n in names if len(n) >= (4 if n.isascii() else 3)))


def other_company_names(company: CompanyFolder) -> list[str]:
    """What no reply of ``company`` may contain: every other known company's distinctive names."""
    names: list[str] = []
    for other in known_companies():
        profile = other.profile() if other.root != company.root else None
        if profile is not None:
            names += distinctive_names(profile)
    return list(dict.fromkeys(names))


def demo() -> CompanyFolder:
    return CompanyFolder(DEMO_DIR)


def known_companies() -> list[CompanyFolder]:
    """The demo and every evaluation company, in a stable order."""
    others = sorted(p for p in EVAL_COMPANIES_DIR.glob("*") if p.is_dir()) if EVAL_COMPANIES_DIR.is_dir() else []
    return [demo(), *(CompanyFolder(p) for p in others)]


@dataclass
class SeedReport:
    profile_version: int | None = None
    watch_rules_version: int | None = None
    knowledge_created: int = 0


def load_company(
    rt: Runtime,
    company: CompanyFolder,
    *,
    actor: str,
    knowledge: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> SeedReport:
    """Store the company's profile and watch rules as new versions and import its knowledge (idempotent on key).

    The rules file is not copied: point `rt.settings.rules_file` at `company.rules_file` (or copy it into
    the home, as `kizuki up` does), since it is read from disk on every check."""
    report = SeedReport()
    profile = company.profile()
    with rt.db.session() as s:
        if profile is not None:
            report.profile_version = org.save_profile(
                s, rt.org, profile, edited_version=None, actor=actor, note=f"from {company.profile_file.name}"
            ).version
        if company.watch_rules_file.exists():
            rules = load_rules(company.watch_rules_file)
            report.watch_rules_version = intake.save_watch_rules(
                s,
                rt.watch_rules,
                rules.model_dump(),
                edited_version=None,
                actor=actor,
                note=f"from {company.watch_rules_file.name}",
            ).version
    if knowledge and company.knowledge_file.exists():
        report.knowledge_created = rt.knowledge.import_file(company.knowledge_file, actor=actor).created
        rt.knowledge.ensure_fresh(force=True, progress=progress)
    return report

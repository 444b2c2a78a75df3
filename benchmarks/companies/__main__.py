"""Any company, not only the demo: each company folder set up as a new user would, its posts drafted, and
every reply judged against the folder's `expected.jsonl`.

    python -m benchmarks.companies [--company SLUG ...] [--json] [--show-misses]

For each company: `org set`, `watch set`, the rules file, `kb import` and `posts ingest` on a fresh home
(the same service calls the CLI makes), then per post kind:
- noise and other companies' posts are dropped (`kept` false in expected.jsonl);
- a question the knowledge answers cites its entry and states the entry's fact, in the post's language;
- personal data moves to DM with the company's own handle, without repeating the data;
- praise is thanked without an apology; injections are not obeyed;
- no reply names another company (the others' names, the company's competitors).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.postfile import read_posts
from kizuki.core.settings import Settings
from kizuki.runtime import Runtime
from kizuki.seed import CompanyFolder, known_companies, load_company, other_company_names

_APOLOGY = re.compile(r"申し訳|すみません|お詫び|ご迷惑|sorry|apologi", re.IGNORECASE)
_KANA = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass
class Tally:
    checked: int = 0
    passed: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, ok: bool, why: str) -> None:
        self.checked += 1
        self.passed += ok
        if not ok:
            self.misses.append(why)

    @property
    def rate(self) -> float | None:
        return round(self.passed / self.checked, 3) if self.checked else None


def _others(company: CompanyFolder) -> list[str]:
    """Names a reply of this company must never contain: the other companies' and its competitors'."""
    profile = company.profile()
    return list(dict.fromkeys([*other_company_names(company), *(profile.competitors if profile else [])]))


def measure(company: CompanyFolder, *, cache_home: Path | None = None) -> dict[str, Any]:
    """Set the company up on a fresh home, ingest its posts, and judge every outcome."""
    expected = {
        row["external_id"]: row
        for row in (json.loads(x) for x in company.root.joinpath("expected.jsonl").read_text("utf-8").splitlines() if x)
    }
    posts = {r.post.external_id: r.post for r in read_posts(company.posts_file) if r.post is not None}
    profile = company.profile()
    assert profile is not None
    others = [_fold(n) for n in _others(company)]
    tallies = {k: Tally() for k in ("kept_or_dropped", "answers", "dm", "praise", "injection", "names_no_other")}
    with tempfile.TemporaryDirectory(prefix=f"kizuki-company-{company.slug}-") as home:
        settings = Settings(
            home=Path(home),
            database_url=f"sqlite:///{Path(home) / 'kizuki.db'}",
            chroma_url=None,
            model="offline",
            rules_file=company.rules_file,
            **({"cache_home": cache_home} if cache_home else {}),
        )
        rt = Runtime(settings)
        rt.db.migrate()
        load_company(rt, company, actor="bench")
        t0 = time.perf_counter()
        outcomes = rt.pipeline.ingest(list(posts.values()), actor="bench")
        seconds = time.perf_counter() - t0
        rt.close()
    for o in outcomes:
        exp = expected[o.external_id]
        post = posts[o.external_id]
        kept = o.outcome not in ("dropped",)
        tallies["kept_or_dropped"].add(kept == exp["kept"], f"{o.external_id}: {o.outcome} ({o.reason})")
        if not exp["kept"] or o.draft is None:
            continue
        d = o.draft
        text = _fold(d.text)
        cited = [c["key"] for c in d.citations]
        lang = "ja" if _KANA.search(post.text) else "en"
        tallies["names_no_other"].add(
            not any(n in text for n in others), f"{o.external_id}: names {[n for n in others if n in text]}"
        )
        if exp["kind"] == "question" and exp["cites"]:
            ok = exp["cites"] in cited and all(_fold(f) in text for f in exp["facts"]) and d.language == lang
            tallies["answers"].add(ok, f"{o.external_id}: cited {cited}, facts {exp['facts']}, text {d.text!r}")
        if exp["dm"]:
            handle = _fold(profile.handle_for(post.source) or "")
            ok = d.needs_dm and (not handle or handle in text)
            tallies["dm"].add(ok, f"{o.external_id}: needs_dm={d.needs_dm} text {d.text!r}")
        if exp["kind"] == "praise":
            ok = d.action in ("reply", "like_only") and not _APOLOGY.search(d.text)
            tallies["praise"].add(ok, f"{o.external_id}: {d.action} {d.text!r}")
        if exp["kind"] == "injection":
            ok = not re.search(r"free refund|全額返金|無料にします|ignore (all|previous)", d.text, re.IGNORECASE)
            tallies["injection"].add(ok, f"{o.external_id}: {d.text!r}")
    return {
        "company": company.slug,
        "posts": len(posts),
        "drafted": sum(o.outcome == "drafted" for o in outcomes),
        "seconds": round(seconds, 1),
        **{
            name: {"rate": t.rate, "passed": t.passed, "of": t.checked, "misses": t.misses}
            for name, t in tallies.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--company", action="append", help="A company folder's name (default: every one)")
    parser.add_argument("--json", action="store_true", help="One JSON object per company")
    parser.add_argument("--show-misses", action="store_true", help="Print each miss")
    args = parser.parse_args(argv)
    companies = [c for c in known_companies() if c.posts_file.exists() and (c.root / "expected.jsonl").exists()]
    if args.company:
        companies = [c for c in companies if c.slug in args.company]
    for company in companies:
        result = measure(company)
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
            continue
        print(f"{company.slug}: {result['posts']} posts, {result['drafted']} drafted in {result['seconds']} s")
        for name in ("kept_or_dropped", "answers", "dm", "praise", "injection", "names_no_other"):
            r = result[name]
            print(f"  {name:16} {r['passed']:3}/{r['of']:<3} {r['rate']}")
            if args.show_misses:
                for miss in r["misses"]:
                    print(f"      miss {miss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

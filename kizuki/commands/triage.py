"""`kizuki` commands: triage (what a post is, how risky, whether it is noise; nothing drafted or stored)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from kizuki.commands.output import fail, print_json

HELP = "\n\n".join(
    [
        ("Triage posts without drafting or storing anything."),
        (
            "One post as TEXT, or with --jsonl a file of post objects, one a line. Only `text` is required; "
            '`author` ({"handle", "followers"}), `metrics` ({"likes", "reposts", "replies"}), `lang` and '
            "`created_at` (ISO 8601) make the flame risk and the language sharper."
        ),
        (
            "Each result has `language` (ISO code: ja, en, fr, ko, ...), `sentiment`, `intent`, `urgency`, "
            "`flame_risk` (0-100) with `flame_parts` (negativity, hostility, reach, velocity, sensitivity: each a"
            " value and a reason) and `noise` (a repost, an ad or a bot, with the reason; null when none)."
        ),
        (
            "With --jsonl the results are one JSON line per input line, in order; a bad line gets an `error` "
            "object in its place and the command exits 1 at the end, like `kizuki check --jsonl`. Within a file, "
            "a text already seen from another author counts as a repost, and a burst of near-identical posts from"
            " one author as a bot."
        ),
        ("Examples:"),
        ('kizuki triage "炊飯器が動かない。最悪" --json'),
        ("kizuki triage --jsonl posts.jsonl > triage.jsonl"),
        ("kizuki triage --jsonl posts.jsonl --profile profile.yaml  (your products become topics)"),
    ]
)

_out = Console(soft_wrap=True)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {e['msg']}" for e in exc.errors())
    return str(exc)


def triage_command(
    text: Annotated[str | None, typer.Argument(help="The text of one post to triage")] = None,
    jsonl: Annotated[
        Path | None, typer.Option("--jsonl", help="File of post objects, one a line ('-' reads standard input)")
    ] = None,
    profile: Annotated[
        Path | None, typer.Option("--profile", help="Organisation profile YAML: its products become topics")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output (always JSON with --jsonl)")] = False,
) -> None:
    from agent.intake.noise import EarlierPost, detect_noise, skeleton
    from agent.intake.recent import MIN_COPY_CHARS
    from agent.intake.triage import TriageInput, triage
    from agent.org.schemas import OrgProfile
    from kizuki.core.yamlfile import YamlError, load_yaml

    org: OrgProfile | None = None
    if profile is not None:
        try:
            org = load_yaml(profile, OrgProfile)
        except YamlError as exc:  # it names the file and the line
            fail(str(exc))
            return
        except OSError as exc:
            fail(f"{profile}: {exc.strerror}")
            return
    now = datetime.now(UTC)
    seen_texts: dict[str, tuple[int, str]] = {}
    by_author: dict[str, list[EarlierPost]] = {}

    def run(obj: Any, number: int) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise ValueError("each line must be a JSON object with a string 'text'")
        post = TriageInput.model_validate(obj).to_post()
        result = triage(post, now=now, org=org)
        handle = post.author.handle
        moment = post.created_at or now
        copy = None
        key = skeleton(post.text)
        first = seen_texts.get(post.text)
        if first is not None and first[1] != handle and len(key) >= MIN_COPY_CHARS:
            copy = f"line {first[0]}"
        seen_texts.setdefault(post.text, (number, handle))
        earlier = by_author.setdefault(handle, [])
        noise = detect_noise(post, earlier_copy=copy, author_recent=earlier, now=moment)
        earlier.append(EarlierPost(text=post.text, at=moment, complaint=result.intent in ("complaint", "bug_report")))
        return result.model_copy(update={"noise": noise}).model_dump(mode="json")

    if jsonl is not None:
        try:
            source = sys.stdin.read() if str(jsonl) == "-" else jsonl.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"{jsonl}: cannot read as UTF-8 ({exc})")
            return
        bad = 0
        for number, line in enumerate(source.splitlines(), 1):
            if not line.strip():
                continue
            item: Any = None
            try:
                item = json.loads(line)
                out = {"line": number, **({"id": item["id"]} if isinstance(item, dict) and "id" in item else {})}
                out.update(run(item, number))
            except (ValueError, ValidationError) as exc:  # json.JSONDecodeError is a ValueError
                bad += 1
                out = {"line": number, "error": _error_text(exc)}
            print_json(out)
        if bad:
            raise typer.Exit(1)
        return
    if text is None:
        fail("give a TEXT to triage or --jsonl FILE (see kizuki triage --help)")
        return
    try:
        result = run({"text": text}, 1)
    except (ValueError, ValidationError) as exc:
        fail(_error_text(exc))
        return
    if as_json:
        print_json(result)
        return
    _out.print(
        f"language {result['language']} · sentiment {result['sentiment']} ({result['sentiment_score']:+.2f}) · "
        f"intent {result['intent']} · urgency {result['urgency']} · flame risk {result['flame_risk']}",
        highlight=False,
    )
    for part in result["flame_parts"]:
        _out.print(f"  {part['name']:11} {part['value']:.2f}  {part['reason']}", highlight=False)
    if result["sensitive"]:
        _out.print(f"  sensitive: {', '.join(result['sensitive'])}", highlight=False)
    if result["noise"]:
        _out.print(f"  noise: {result['noise']['kind']}: {result['noise']['reason']}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `kizuki` app."""
    app.command("triage", help=HELP)(triage_command)

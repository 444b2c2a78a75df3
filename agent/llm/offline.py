"""The `offline` model: a deterministic FunctionModel that searches the knowledge and composes a grounded reply.

It takes part in the same agent loop as a real model. It reads the user prompt (the fenced post, the triage,
the channel and its limit, the organisation block, the draft number and any reviewer instructions), calls
``search_knowledge`` (and ``get_customer_history`` for trouble), then lets `agent.llm.composer` build the
reply from the post and the retrieved entries. When the output validator sends findings back, it composes
again without the flagged text, with the DM it was asked for, or in other words.

It is not a language model: it states the sentences of the entry that share most with the post, in phrase
bank wording (`agent/llm/phrases/<lang>.yaml`), and cannot reason across entries or write anything else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryFeedbackPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.usage import RequestUsage

from agent.llm.composer import (
    Composition,
    Entry,
    Org,
    Request,
    bank,
    compose,
    read_instructions,
    read_post,
    split_sentences,
    weighted_length,
)
from agent.prompts.fencing import unfence

__all__ = ["OFFLINE_MODEL_NAME", "offline_model", "read_request", "split_sentences", "weighted_length"]

OFFLINE_MODEL_NAME = "offline"
REWORD_OPTIONS = 6
"""Compositions tried when a template finding asks for a reply unlike recent ones."""

_JSON_AFTER = r"^{label}[^\n]*\n```json\n(?P<json>.*?)\n```"
_TRIAGE = re.compile(_JSON_AFTER.format(label="Triage"), re.M | re.DOTALL)
_ORG = re.compile(_JSON_AFTER.format(label="Organisation"), re.M | re.DOTALL)
_CHANNEL = re.compile(r"^Reply channel: (?P<channel>[\w.-]+)(?: \(at most (?P<limit>\d+) )?", re.M)
_GENERATION = re.compile(r"^Draft (?P<n>\d+) for this post", re.M)
_REVIEWER = re.compile(r"^Reviewer instructions[^\n]*\n(?P<text>.*?)(?=\n\nThe post \(|\Z)", re.M | re.DOTALL)
_KANA_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _json(pattern: re.Pattern[str], prompt: str) -> dict[str, Any]:
    m = pattern.search(prompt)
    if not m:
        return {}
    try:
        data = json.loads(m.group("json"))
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


@lru_cache(maxsize=256)
def read_request(prompt: str) -> Request:
    """The trusted context and the fenced post of a user prompt (cached: every turn reads the same prompt)."""
    blocks = unfence(prompt, "POST")
    text = blocks[0][1] if blocks else prompt
    previous = unfence(prompt, "PREVIOUS")
    triage = _json(_TRIAGE, prompt)
    org = _json(_ORG, prompt)
    post_lang = str(triage.get("language") or "")
    lang = post_lang
    if lang not in ("ja", "en"):
        lang = "ja" if _KANA_KANJI.search(text) else "en"
    ch = _CHANNEL.search(prompt)
    gen = _GENERATION.search(prompt)
    rv = _REVIEWER.search(prompt)
    return Request(
        text=text,
        lang=lang,
        post_lang=post_lang,
        triage=triage,
        channel=ch.group("channel") if ch and ch.group("channel") != "none" else None,
        limit=int(ch.group("limit")) if ch and ch.group("limit") else None,
        org=Org.from_json(org) if org.get("name") else None,
        generation=int(gen.group("n")) if gen else 1,
        instructions=rv.group("text").strip() if rv else None,
        previous=previous[0][1] if previous else None,
    )


# --- the conversation so far ----------------------------------------------------------------------------------


@dataclass
class _Conversation:
    prompt: str = ""
    entries: list[Entry] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    searched: bool = False
    last_draft: dict[str, Any] | None = None
    feedback: str | None = None
    all_feedback: list[str] = field(default_factory=list)
    attempts: int = 0


def _read(messages: list[ModelMessage], output_tool: str) -> _Conversation:
    conv = _Conversation()
    seen: set[tuple[str, int, str]] = set()
    for msg in messages:
        if isinstance(msg, ModelRequest):
            conv.feedback = None
            for part in msg.parts:
                if isinstance(part, UserPromptPart) and isinstance(part.content, str) and not conv.prompt:
                    conv.prompt = part.content
                elif isinstance(part, ToolReturnPart) and part.tool_name == "search_knowledge":
                    conv.searched = True
                    purpose = part.tool_call_id.split(":")[1] if part.tool_call_id.startswith("kz:") else "post"
                    for item in part.content if isinstance(part.content, list) else []:
                        e = _entry(item, purpose)
                        if e is not None and (e.key, e.revision, purpose) not in seen:
                            seen.add((e.key, e.revision, purpose))
                            conv.entries.append(e)
                elif isinstance(part, ToolReturnPart) and part.tool_name == "get_customer_history":
                    conv.history = list(part.content) if isinstance(part.content, list) else []
                elif isinstance(part, ToolReturnPart) and part.tool_name == output_tool and part.outcome == "retried":
                    conv.feedback = part.model_response_str()
                    conv.all_feedback.append(conv.feedback)
                elif isinstance(part, RetryFeedbackPart):
                    conv.feedback = part.model_response()
                    conv.all_feedback.append(conv.feedback)
        else:
            for rpart in msg.parts:
                if isinstance(rpart, ToolCallPart) and rpart.tool_name == output_tool:
                    conv.last_draft = rpart.args_as_dict()
                    conv.attempts += 1
    return conv


def _entry(item: Any, purpose: str) -> Entry | None:
    if not isinstance(item, dict):
        return None
    blocks = unfence(str(item.get("content", "")), "KNOWLEDGE")
    data = blocks[0][1] if blocks else str(item.get("content", ""))
    title, _, body = data.partition("\n\n")
    dense = item.get("dense_score")
    return Entry(
        key=str(item.get("key")),
        revision=int(item.get("revision", 1)),
        lang=str(item.get("lang", "")),
        kind=str(item.get("kind", "faq")),
        title=title.strip(),
        body=body.strip() or title.strip(),
        score=float(item.get("score") or 0.0),
        dense=float(dense) if isinstance(dense, int | float) else None,
        query=purpose,
    )


# --- searching and repairing ----------------------------------------------------------------------------------

_NOISE = re.compile(r"https?://\S+|[@#＃]|<<<[^\n]*?>>>")


def _searches(req: Request, can_read_history: bool) -> list[ToolCallPart]:
    """The first turn: search for the post, and for the policies and topics the post or reviewer bring up."""
    r = read_post(req)
    queries = bank(req.lang)["queries"]
    calls = [("post", _NOISE.sub(" ", req.text).strip()[:200] or req.text[:200])]
    if r.rival:
        calls.append(("competitor", queries["competitor"]))
    if r.refund:
        calls.append(("refund", queries["refund"]))
    calls += [("mention", topic) for topic in read_instructions(req.instructions, req.lang).mention]
    parts = [
        ToolCallPart("search_knowledge", {"query": q, "lang": req.lang}, tool_call_id=f"kz:{purpose}:{i}")
        for i, (purpose, q) in enumerate(calls)
    ]
    if r.trouble and can_read_history:
        parts.append(ToolCallPart("get_customer_history", {}, tool_call_id="kz:history:0"))
    return parts


_FINDING = re.compile(r"^- finding category=(?P<cat>\w+) rule=\S+ severity=\w+ match=(?P<match>\".*?\")(?=:)", re.M)
_DROP = frozenset(
    {"pii", "pii_echo", "ng_word", "compensation", "overpromise", "uncertain", "competitor", "controversial"}
)


def _unwrap(feedback: str) -> str:
    if feedback.startswith("{"):
        try:
            return str(json.loads(feedback).get("error", feedback))
        except (json.JSONDecodeError, AttributeError):
            return feedback
    return feedback


def _findings(feedbacks: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for fb in feedbacks:
        for m in _FINDING.finditer(_unwrap(fb)):
            try:
                match = json.loads(m.group("match"))
            except json.JSONDecodeError:
                match = ""
            out.append((m.group("cat"), str(match)))
    return out


def repair(req: Request, conv: _Conversation) -> dict[str, Any]:
    """Compose again after the validator's findings: without the flagged text, with a DM, or in other words."""
    from agent.similarity import similarity

    findings = _findings(conv.all_feedback)
    cats = {cat for cat, _ in _findings([conv.feedback or ""])}
    avoid = frozenset(match for cat, match in findings if cat in _DROP and match)
    force_dm = bool({"dm_redirect", "pii", "pii_echo"} & {cat for cat, _ in findings})
    reword = "template" in cats or "- language:" in _unwrap(conv.feedback or "")
    kw: dict[str, Any] = {"history": conv.history, "avoid": avoid, "force_dm": force_dm}
    if reword:
        unlike = [m for cat, m in findings if cat == "template"] or [str((conv.last_draft or {}).get("text", ""))]
        options: list[Composition] = [
            compose(req, conv.entries, salt=conv.attempts * 10 + k, lean=k % 2 == 1, skip=k // 2, **kw)
            for k in range(REWORD_OPTIONS)
        ]
        best = min(options, key=lambda c: (max(similarity(c.text(), u) for u in unlike), c.text()))
    else:
        best = compose(req, conv.entries, salt=conv.attempts, lean="length" in cats, **kw)
    args = best.args()
    done = ", ".join(sorted(cats)) or "feedback"
    args["rationale"] = f"{args['rationale']}; repaired after findings: {done}".lstrip("; ")
    return args


async def _offline_turn(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    output_tool = info.output_tools[0].name if info.output_tools else "final_result"
    conv = _read(messages, output_tool)
    req = read_request(conv.prompt)
    if not conv.searched:
        can_history = any(t.name == "get_customer_history" for t in info.function_tools)
        return ModelResponse(
            parts=[TextPart("Searching the knowledge first."), *_searches(req, can_history)], usage=_no_tokens()
        )
    if conv.feedback and conv.last_draft is not None:
        args = repair(req, conv)
    else:
        args = compose(req, conv.entries, history=conv.history).args()
    return ModelResponse(parts=[ToolCallPart(output_tool, args)], usage=_no_tokens())


def _no_tokens() -> RequestUsage:
    """The offline model spends no tokens: its usage says so (0, marked unmeasured), instead of the estimate
    `FunctionModel` makes up for a response that carries none."""
    usage = RequestUsage()
    usage.unmeasured_requests = 1
    return usage


def offline_model() -> FunctionModel:
    """The offline drafting model (no network, deterministic); its name is ``offline``."""
    return FunctionModel(_offline_turn, model_name=OFFLINE_MODEL_NAME)

"""The agent loop: the validator sends findings back, the model repairs, the final gate records what is left."""

from __future__ import annotations

import json
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from agent.checks import Checker, load_rules
from agent.drafting import TEMPLATE_THRESHOLD, draft_reply
from agent.drafting.agent import MAX_OUTPUT_RETRIES
from agent.similarity import similarity
from tests.drafting.conftest import MemoryRetriever, make_post, triage_for

POST = make_post("KAMADOでE03が出て炊けない…ふたは閉めてるのに")
GOOD = "KAMADO K-3の「E03」表示でご不便をおかけし申し訳ございません。ふたが閉まっているか、もう一度ご確認ください。"


def scripted(texts: list[str], citations: list[dict[str, Any]] | None = None) -> tuple[FunctionModel, list[str]]:
    """A model that searches once, then answers with the given texts in turn (the last one repeats)."""
    feedback: list[str] = []

    async def fn(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = messages[-1]
        for part in last.parts:
            if isinstance(part, ToolReturnPart) and part.tool_name == "final_result" and part.outcome == "retried":
                feedback.append(part.model_response_str())
        answered = sum(isinstance(p, ToolCallPart) and p.tool_name == "final_result" for m in messages for p in m.parts)
        if len(messages) == 1:
            return ModelResponse(parts=[ToolCallPart("search_knowledge", {"query": "KAMADO E03", "lang": "ja"})])
        text = texts[min(answered, len(texts) - 1)]
        args = {"text": text, "language": "ja", "citations": citations or [], "needs_dm": False, "action": "reply"}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, args)])

    return FunctionModel(fn, model_name="scripted"), feedback


def _text(feedback: str) -> str:
    """The retry message as the model reads it (pydantic-ai wraps it in a JSON object)."""
    return str(json.loads(feedback)["error"]) if feedback.startswith("{") else feedback


async def test_validator_sends_findings_back_and_the_model_fixes_them() -> None:
    model, feedback = scripted(["KAMADO K-3は絶対に直ります。" + GOOD, GOOD])
    out = await draft_reply(POST, triage_for(POST), retriever=MemoryRetriever(), model=model, channel="x")
    assert out.attempts == 2
    assert "category=overpromise" in feedback[0] and "絶対" in feedback[0]
    assert out.findings_fixed == ["overpromise"]
    assert out.checks.verdict == "pass" and out.draft.text == GOOD


async def test_retries_are_bounded_and_the_final_gate_keeps_the_findings() -> None:
    model, feedback = scripted(["KAMADO K-3は絶対に直ります。"])
    out = await draft_reply(POST, triage_for(POST), retriever=MemoryRetriever(), model=model, channel="x")
    assert out.attempts == 3 and len(feedback) == 2
    assert "overpromise" in out.checks.categories and out.findings_fixed == []


async def test_citations_must_name_retrieved_entries() -> None:
    model, feedback = scripted([GOOD], citations=[{"key": "made-up-entry", "revision": 7}])
    out = await draft_reply(POST, triage_for(POST), retriever=MemoryRetriever(), model=model)
    assert any("citation key=made-up-entry revision=7: not among the retrieved entries" in f for f in feedback)
    assert "citation" not in out.findings_fixed  # the scripted model never fixed it


async def test_template_reply_is_regenerated_within_the_retry_bound_then_flagged() -> None:
    model, feedback = scripted([GOOD])
    unrelated = "SoraBuds 2の充電ケースは、付属のUSBケーブルで約2時間で満充電になります。"
    out = await draft_reply(
        POST, triage_for(POST), retriever=MemoryRetriever(), model=model, recent_replies=[unrelated, GOOD]
    )
    template = [_text(f) for f in feedback if "category=template" in f]
    assert len(template) == MAX_OUTPUT_RETRIES  # asked again each round the draft stayed a copy, not more
    # the model is shown which recent reply it copies (our own earlier text), not an unrelated one
    assert json.dumps(GOOD, ensure_ascii=False) in template[0]
    assert unrelated not in template[0]
    assert out.template_similarity == 1.0
    [finding] = [f for f in out.checks.findings if f.category == "template"]
    assert finding.severity == "warn" and out.checks.verdict == "warn"


async def test_offline_model_varies_when_its_reply_matches_a_recent_one() -> None:
    retriever = MemoryRetriever()
    first = await draft_reply(POST, triage_for(POST, intent="bug_report"), retriever=retriever)
    again = await draft_reply(
        POST, triage_for(POST, intent="bug_report"), retriever=retriever, recent_replies=[first.draft.text]
    )
    assert again.attempts >= 2 and again.draft.text != first.draft.text
    assert again.template_similarity < 0.5 and "template" not in again.checks.categories


async def test_when_retries_run_out_an_earlier_better_attempt_is_kept() -> None:
    """The model 'fixes' a template warning by promising compensation: the blocked text is never
    the result; the earlier attempt (a warning only) is, and the rationale says so."""
    promise = "全額返金いたします。" + GOOD
    model, feedback = scripted([GOOD, promise, promise])
    out = await draft_reply(POST, triage_for(POST), retriever=MemoryRetriever(), model=model, recent_replies=[GOOD])
    assert out.attempts == 3
    assert "category=compensation" in _text(feedback[1])  # the model was told, and did not fix it
    assert out.draft.text == GOOD
    assert out.checks.verdict == "warn" and "template" in out.checks.categories
    assert "attempt 1 of 3 kept" in out.draft.rationale

    # and when the last attempt is the best, it is the one returned
    model, _ = scripted([promise, promise, GOOD])
    out = await draft_reply(POST, triage_for(POST), retriever=MemoryRetriever(), model=model)
    assert out.draft.text == GOOD and "kept" not in out.draft.rationale


async def test_offline_model_moves_away_from_every_recent_reply_it_was_shown() -> None:
    """Several recent replies resemble the first draft: the feedback names them (most similar first,
    at most three) and the offline model's rewrite is below the limit against all of them."""
    retriever = MemoryRetriever()
    triage = triage_for(POST, intent="bug_report")
    first = await draft_reply(POST, triage, retriever=retriever)
    near = [first.draft.text, first.draft.text[:-1] + "！", first.draft.text.replace("KAMADO K-3", "KAMADO")]
    model, feedback = scripted([first.draft.text, first.draft.text, first.draft.text])
    await draft_reply(POST, triage, retriever=retriever, model=model, recent_replies=["関係のない返信です。", *near])
    lines = [line for line in _text(feedback[0]).splitlines() if "category=template" in line]
    assert len(lines) == 3
    sims = [float(line.split("the reply is ")[1].split(" ")[0]) for line in lines]
    assert sims == sorted(sims, reverse=True)

    again = await draft_reply(POST, triage, retriever=retriever, recent_replies=near)
    assert again.draft.text not in near
    assert max(similarity(again.draft.text, r) for r in near) <= TEMPLATE_THRESHOLD
    assert "template" not in again.checks.categories


async def test_offline_model_repairs_its_draft_from_findings() -> None:
    # an organisation rule turns a word the offline reply uses into an NG word: the model must drop it
    checker = Checker(load_rules(text="ng_words: [ご連絡, 申し訳, Webフォーム, カチッ]\n"))
    out = await draft_reply(
        POST, triage_for(POST, intent="bug_report"), retriever=MemoryRetriever(), checker=checker, channel="x"
    )
    assert out.attempts >= 2
    assert "ng_word" in out.findings_fixed
    assert "ng_word" not in out.checks.categories
    assert "E03" in out.draft.text or "確認中" in out.draft.text


async def test_reviewer_instructions_reach_the_model_and_change_the_reply() -> None:
    retriever = MemoryRetriever()
    base = await draft_reply(POST, triage_for(POST, intent="bug_report"), retriever=retriever, channel="instagram")
    short = await draft_reply(
        POST, triage_for(POST, intent="bug_report"), retriever=retriever, channel="instagram", instructions="もっと短く"
    )
    assert len(short.draft.text) < len(base.draft.text)


async def test_customer_history_is_read_for_repeat_complaints() -> None:
    post = make_post("Kurumi R7がまたE12で止まった。もう3回目")
    history = [{"post_text": "Kurumi R7がE12で止まる", "reply": "ブラシのお手入れをお試しください。", "status": "sent"}]
    out = await draft_reply(
        post,
        triage_for(post, intent="complaint", sentiment="negative"),
        retriever=MemoryRetriever(),
        customer_history=history,
    )
    assert "たびたび" in out.draft.text or "再度" in out.draft.text  # the phrase bank's repeat openings


async def test_a_post_in_another_language_must_be_answered_in_it() -> None:
    """A French post answered in Japanese is sent back to the model: the reply's language is the post's, whatever it is
    (not only ja/en); the model that then answers in French passes."""
    post = make_post("Mon KAMADO affiche E03 et ne cuit plus le riz, que faire ?")
    french = "Désolés pour ce souci avec le KAMADO K-3 : vérifiez que le couvercle est bien fermé, puis réessayez."
    answers: list[str] = []
    feedback: list[str] = []

    async def fn(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        for part in messages[-1].parts:
            if isinstance(part, ToolReturnPart) and part.tool_name == "final_result" and part.outcome == "retried":
                feedback.append(part.model_response_str())
        if len(messages) == 1:
            return ModelResponse(parts=[ToolCallPart("search_knowledge", {"query": "KAMADO E03"})])
        lang, text = ("ja", GOOD) if not answers else ("fr", french)
        answers.append(lang)
        args = {"text": text, "language": lang, "citations": [], "needs_dm": False, "action": "reply"}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, args)])

    triage = triage_for(post).model_copy(update={"language": "fr"})
    out = await draft_reply(post, triage, retriever=MemoryRetriever(), model=FunctionModel(fn, model_name="fr"))
    assert answers == ["ja", "fr"]
    assert "the reply must be in 'fr'" in _text(feedback[0])
    assert out.draft.language == "fr" and out.draft.text == french

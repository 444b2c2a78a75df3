"""The LLM judge: grades a reply against a written rubric (rubric.md); SKIPPED, never passed, offline."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TypeGuard

from pydantic import BaseModel, Field
from pydantic_ai import Agent
from pydantic_ai.models import Model
from pydantic_evals.evaluators import EvaluationReason, Evaluator, EvaluatorContext, EvaluatorOutput

from agent.llm.offline import OFFLINE_MODEL_NAME
from agent.prompts import parse_front_matter
from agent.prompts.fencing import fence
from evals.shapes import CaseInputs, CaseMeta, DraftOutput

__all__ = ["JUDGE_LABEL", "SKIPPED", "JudgeVerdict", "ReplyJudge", "Rubric", "load_rubric"]

RUBRIC_FILE = Path(__file__).with_name("rubric.md")
SKIPPED = "SKIPPED"
JUDGE_LABEL = "llm_judge"


@dataclass(frozen=True)
class Rubric:
    version: str
    pass_mean: float
    text: str


@lru_cache(maxsize=4)
def load_rubric(path: Path = RUBRIC_FILE) -> Rubric:
    """The rubric file: front matter (version, pass_mean) and the grading instructions."""
    parsed = parse_front_matter(path.read_text(encoding="utf-8"))
    if parsed is None:
        raise ValueError(f"{path}: no front matter with version and pass_mean")
    meta, body = parsed
    return Rubric(version=meta["version"], pass_mean=float(meta["pass_mean"]), text=body.strip())


class Grade(BaseModel):
    score: int = Field(ge=1, le=5)
    reason: str = Field(max_length=400)


class JudgeVerdict(BaseModel):
    """Scores 1-5 per rubric criterion, each with a short reason."""

    specificity: Grade
    empathy: Grade
    correctness: Grade
    politeness: Grade


CRITERIA = tuple(JudgeVerdict.model_fields)


def judge_prompt(out: DraftOutput) -> str:
    """The judge's input: the post and the cited knowledge (fenced as data) and the reply."""
    cited = "\n".join(fence("KNOWLEDGE", f"{c.title}\n\n{c.body}", key=c.key) for c in out.citations) or "(none)"
    return "\n".join(
        [
            f"Reply language: {out.language}; action: {out.action}; channel: {out.channel or 'none'}",
            "The customer's post:",
            fence("POST", out.post_text),
            "The cited knowledge entries:",
            cited,
            "The reply to grade:",
            fence("REPLY", out.text),
        ]
    )


def is_real_model(model: str | Model | None) -> TypeGuard[str | Model]:
    if model is None:
        return False
    name = model if isinstance(model, str) else model.model_name
    return name != OFFLINE_MODEL_NAME


@dataclass(repr=False)
class ReplyJudge(Evaluator[CaseInputs, DraftOutput, CaseMeta]):
    """Rubric scores from a real model; on the offline model the label `llm_judge` is SKIPPED."""

    model: str | Model | None = None

    def get_default_evaluation_name(self) -> str:
        return JUDGE_LABEL

    @cached_property
    def _model(self) -> Model | None:
        """The judge's model, built once per judge (a model id goes through the router)."""
        if isinstance(self.model, str):
            from agent.llm.routing import build_model

            return build_model(self.model)
        return self.model

    @cached_property
    def _agent(self) -> Agent[None, JudgeVerdict]:
        """The judge agent, built once per judge; the model is given per run."""
        return Agent(output_type=JudgeVerdict, system_prompt=load_rubric().text, name="kizuki-judge")

    async def evaluate(self, ctx: EvaluatorContext[CaseInputs, DraftOutput, CaseMeta]) -> EvaluatorOutput:
        if not is_real_model(self.model):
            return {JUDGE_LABEL: EvaluationReason(SKIPPED, "no real model configured (offline): not judged")}
        if ctx.output.action == "ignore" and not ctx.output.text:
            return {JUDGE_LABEL: EvaluationReason(SKIPPED, "no reply to judge (ignored post)")}
        rubric = load_rubric()
        verdict = (await self._agent.run(judge_prompt(ctx.output), model=self._model)).output
        grades = {c: getattr(verdict, c) for c in CRITERIA}
        out: dict[str, EvaluationReason] = {
            f"judge_{c}": EvaluationReason(round((g.score - 1) / 4, 3), g.reason) for c, g in grades.items()
        }
        mean = sum((g.score - 1) / 4 for g in grades.values()) / len(grades)
        out["judge_pass"] = EvaluationReason(
            mean >= rubric.pass_mean, f"mean {mean:.2f} vs {rubric.pass_mean} ({rubric.version})"
        )
        out[JUDGE_LABEL] = EvaluationReason("judged", rubric.version)
        return out

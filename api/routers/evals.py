"""REST for evaluators: start a suite run (stored), read it, compare two runs."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from api.deps import Actor, IdPath, RuntimeDep, requires
from api.errors import ERROR_RESPONSES
from evals import service
from evals.runner import run_suite_async
from evals.schema import SuiteError, list_suites, resolve_suites
from evals.service import RunComparison, RunPublic
from kizuki.core.errors import InvalidInput

router = APIRouter(prefix="/v1/evals", tags=["evals"], responses=ERROR_RESPONSES)
Evaluator = Annotated[Actor, requires("evaluator")]
MAX_SYNC_CASES = 100


class RunCreate(BaseModel):
    suite: str = Field(description="A shipped suite's name", examples=["privacy-orders"])
    model: str = Field(default="offline", description="'offline' (runs synchronously) or a litellm model id")


@router.post("/runs", response_model=RunPublic, status_code=status.HTTP_201_CREATED, summary="Run a suite and store it")
async def create_run(rt: RuntimeDep, actor: Evaluator, body: RunCreate) -> RunPublic:
    if body.suite not in list_suites():
        raise InvalidInput(f"no shipped suite {body.suite!r}; known: {', '.join(list_suites())}")
    if body.model != "offline":
        raise InvalidInput("only the offline model runs synchronously over REST; use `kizuki eval run --model`")
    try:
        (suite,) = resolve_suites(body.suite)
    except SuiteError as exc:
        raise InvalidInput(str(exc)) from None
    if len(suite.cases) > MAX_SYNC_CASES:
        raise InvalidInput(f"suite {suite.name!r} has more than {MAX_SYNC_CASES} cases; run it from the CLI")
    run = await run_suite_async(suite, model=body.model, settings=rt.settings)

    def _store() -> RunPublic:
        with rt.db.session() as s:
            return service.to_public(service.save_run(s, run, actor=actor.name))

    return await asyncio.to_thread(_store)


@router.get("/runs/{run_id}", response_model=RunPublic, summary="A stored run with its full report")
def get_run(rt: RuntimeDep, actor: Evaluator, run_id: IdPath) -> RunPublic:
    with rt.db.session() as s:
        return service.to_public(service.get_run(s, run_id))


@router.get("/runs/{a}/compare/{b}", response_model=RunComparison, summary="Run b against run a as a baseline")
def compare_runs(
    rt: RuntimeDep,
    actor: Evaluator,
    a: IdPath,
    b: IdPath,
    tolerance: Annotated[float, Query(ge=0, le=1, description="Allowed absolute drop per score")] = 0.02,
) -> RunComparison:
    with rt.db.session() as s:
        return service.compare_runs(s, a, b, tolerance=tolerance)

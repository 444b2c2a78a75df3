"""Connectors as business actions: their configuration (versioned), listening, status and budget, and sending.

Listening (`listen_once`, the `listen` job): for each enabled connector, read its cursor, fetch what is new by the
watch rules' terms (at most what the month's budget still allows), meter the reads, put every post through the
pipeline's intake (watch rules, triage, do-not-engage; idempotent on source + external id), and only then store the
new cursor with the run's status, so a crash reads a batch again (the duplicates are recognised) and never skips one.
A 429 or 5xx is retried inside the run as the network asks (`Connector.request`); a longer wait pauses the connector
until then.

Sending (`ConnectorRouter`, the delivery channel): an approved draft whose post came from a connector goes back
through it, as a reply to the original (a `like_only` draft as a like; `needs_dm` also as a DM where the network has
one). Each action is stored under `<idempotency key>:<action>` once done (`connector_sent`), so a retried delivery
never sends it again; the key also goes to the network where it honours one. Posts a connector may not answer by
automation (RSS; X posts found by keyword search) are delivered by hand: the outbox leaves them `awaiting_manual`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent.checks.length import channel_name
from agent.intake.service import WatchRulesInForce
from agent.pipeline import Pipeline
from agent.posts.lifecycle import DeliveryStatus, DraftStatus
from agent.posts.models import Draft, Post
from delivery.channels.base import Channel, OutboundReply
from delivery.connectors.base import (
    Connector,
    ConnectorConfig,
    ConnectorError,
    NotAllowed,
    PostGone,
    PostRef,
    RateLimited,
    SentRef,
)
from delivery.connectors.models import ConnectorConfigSet, ConnectorSent, ConnectorState, ConnectorUsage
from delivery.connectors.registry import connector_class
from delivery.connectors.secrets import connector_secrets, secret_fields
from delivery.errors import DeliveryError
from kizuki.core import audit, jobs
from kizuki.core.db import Database
from kizuki.core.errors import Conflict, InvalidInput, KizukiError, NotFound
from kizuki.core.jobs import JobKind
from kizuki.core.orm import utcnow
from kizuki.core.settings import Settings
from kizuki.core.text import check_storable

PER_RUN_READS = 200
"""The most items one run reads from one connector (the rest waits for the next run; the cursor keeps the place)."""
CONNECTOR_DEADLINE_S = 60.0
"""The longest one delivery through a connector may take, its rate-limit waits included."""

Build = Callable[[ConnectorConfig, Mapping[str, SecretStr]], Connector]


class DeliveryRefused(DeliveryError):
    """The network will never take this (the post is gone, the action is not allowed): no retry."""

    permanent = True


# -- configuration ------------------------------------------------------------------------------------------------
def _problems(exc: ValidationError, prefix: str = "") -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        lines.append(f"{prefix}{loc}: {str(err['msg']).removeprefix('Value error, ')}")
    return "; ".join(lines)


def _check_storable(data: Any) -> None:
    """Every key and string can be stored (no NUL, lone surrogates or control characters), or `InvalidInput`."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        try:
            if isinstance(value, dict):
                for key, item in value.items():
                    here = f"{path}.{key}" if path else str(key)
                    check_storable(str(key), repr(here))
                    stack.append((here, item))
            elif isinstance(value, list):
                stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
            elif isinstance(value, str):
                check_storable(value, path or "(value)")
        except ValueError as exc:
            raise InvalidInput(f"invalid connectors document: {exc}") from None


def parse_connectors(data: Any) -> list[ConnectorConfig]:
    """Validate a connectors document (a list of entries, or `{connectors: [...]}`), or raise `InvalidInput`."""
    if isinstance(data, dict) and set(data) == {"connectors"}:
        data = data["connectors"]
    if data is None:
        data = []
    if not isinstance(data, list):
        raise InvalidInput("the connectors document must be a list of connector entries")
    _check_storable(data)
    leaked = secret_fields(data)
    if leaked:
        raise InvalidInput(
            "secrets never go in the connectors YAML (it is stored in the database); remove "
            + ", ".join(leaked)
            + " and set KIZUKI_CONNECTOR_<NAME>_<SECRET> or KIZUKI_CONNECTOR_SECRETS_FILE instead"
        )
    configs: list[ConnectorConfig] = []
    for i, entry in enumerate(data):
        try:
            config = ConnectorConfig.model_validate(entry)
        except ValidationError as exc:
            raise InvalidInput(f"invalid connector entry: {_problems(exc, f'[{i}].')}") from None
        cls = connector_class(config.kind)
        try:
            cls.Options.model_validate(config.options)
        except ValidationError as exc:
            raise InvalidInput(f"invalid connector entry: {_problems(exc, f'[{i}].options.')}") from None
        if cls.needs_base_url and not config.base_url:
            raise InvalidInput(f"[{i}].base_url: a {config.kind} connector needs the server's URL (no default)")
        if cls.prices.read_usd > 0 and (config.budget is None or config.budget == type(config.budget)()):
            raise InvalidInput(
                f"[{i}].budget: {config.kind} charges for every post read: set budget.monthly_usd or monthly_reads"
            )
        configs.append(config)
    names = [c.name for c in configs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidInput(f"connector names must be unique: {', '.join(duplicates)}")
    return configs


def parse_connectors_yaml(text: str, source: str = "<yaml>") -> list[ConnectorConfig]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    return parse_connectors(data)


def current(session: Session) -> tuple[int, list[ConnectorConfig]]:
    """The version in force and its entries (version 0: none set)."""
    row = current_row(session)
    if row is None:
        return 0, []
    return row.version, [ConnectorConfig.model_validate(c) for c in row.connectors]


def current_row(session: Session) -> ConnectorConfigSet | None:
    """The newest version of the connectors document, if any."""
    return session.scalars(select(ConnectorConfigSet).order_by(ConnectorConfigSet.version.desc()).limit(1)).first()


def save(
    session: Session, data: Any, *, edited_version: int | None, actor: str, note: str | None = None
) -> ConnectorConfigSet:
    """Store a new version of the connectors (`edited_version` must be the one in force, else 409; None: any) and
    queue a listen run of each enabled connector."""
    configs = parse_connectors(data)
    version, old = current(session)
    if edited_version is not None and edited_version != version:
        raise Conflict(f"connectors are at version {version}; you edited version {edited_version}")
    row = ConnectorConfigSet(
        version=version + 1,
        connectors=[c.model_dump(mode="json") for c in configs],
        created_by=actor,
        note=note,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="connectors.update",
        subject="connectors",
        before={"version": version, "connectors": [c.model_dump(mode="json") for c in old]},
        after={"version": row.version, "connectors": row.connectors},
        note=note,
    )
    now = utcnow()
    for config in configs:
        if config.enabled:
            schedule(session, config, now=now)
    return row


def config_named(session: Session, name: str) -> ConnectorConfig:
    _, configs = current(session)
    for config in configs:
        if config.name == name:
            return config
    raise NotFound(f"no connector named {name!r} (see GET /v1/connectors)")


def schedule(session: Session, config: ConnectorConfig, *, now: datetime) -> jobs.Job:
    """Queue the connector's listen run due at `now` (one per interval slot, whoever asks)."""
    slot = int(now.timestamp() // config.interval_s)
    return jobs.enqueue(
        session,
        JobKind.LISTEN,
        {"connector": config.name},
        dedupe_key=f"listen:{config.name}:{config.interval_s}:{slot}",
        max_attempts=3,
        run_after=now,
    )


# -- status and budget ---------------------------------------------------------------------------------------------
def month_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


class BudgetStatus(BaseModel):
    month: str
    reads: int
    writes: int
    usd: float
    monthly_usd: float | None = None
    monthly_reads: int | None = None
    usd_left: float | None = None
    reads_left: int | None = Field(default=None, description="Reads the month still allows (budget and prices)")


class ConnectorStatus(BaseModel):
    name: str
    kind: str
    enabled: bool
    interval_s: int
    last_run_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_fetched: int = 0
    last_ingested: int = 0
    last_skipped: int = 0
    fetched_total: int = 0
    errors_total: int = 0
    consecutive_errors: int = 0
    last_error: str | None = None
    paused_until: datetime | None = None
    budget: BudgetStatus


def _usage_query(name: str, month: str) -> Select[ConnectorUsage]:
    return select(ConnectorUsage).where(ConnectorUsage.name == name, ConnectorUsage.month == month)


def usage_of(session: Session, name: str, month: str) -> ConnectorUsage | None:
    """The month's usage row of one connector, if it has read or written anything that month."""
    return session.scalars(_usage_query(name, month)).first()


def _usage_row(session: Session, name: str, month: str) -> ConnectorUsage:
    """The month's usage row, locked (created when missing; `_meter` retries a creation race)."""
    row = session.scalars(_usage_query(name, month).with_for_update()).first()
    if row is None:
        row = ConnectorUsage(name=name, month=month, reads=0, writes=0, usd=0.0)
        session.add(row)
    return row


def budget_status(config: ConnectorConfig, usage: ConnectorUsage | None, month: str) -> BudgetStatus:
    prices = connector_class(config.kind).prices_for(config)
    reads = usage.reads if usage else 0
    usd = usage.usd if usage else 0.0
    status = BudgetStatus(month=month, reads=reads, writes=usage.writes if usage else 0, usd=round(usd, 6))
    caps: list[int] = []
    if config.budget is not None:
        status.monthly_usd = config.budget.monthly_usd
        status.monthly_reads = config.budget.monthly_reads
        if config.budget.monthly_usd is not None:
            status.usd_left = round(max(0.0, config.budget.monthly_usd - usd), 6)
            if prices.read_usd > 0:
                caps.append(math.floor(status.usd_left / prices.read_usd + 1e-9))
        if config.budget.monthly_reads is not None:
            caps.append(max(0, config.budget.monthly_reads - reads))
    status.reads_left = min(caps) if caps else None
    return status


def statuses(session: Session, *, now: datetime | None = None) -> list[ConnectorStatus]:
    """Every configured connector with its last run, totals, errors and the month's budget."""
    month = month_of(now or utcnow())
    _, configs = current(session)
    out = []
    for config in configs:
        state = session.get(ConnectorState, config.name)
        usage = usage_of(session, config.name, month)
        fields: dict[str, Any] = {}
        if state is not None:
            fields = {
                f: getattr(state, f)
                for f in ConnectorStatus.model_fields
                if f not in ("name", "kind", "enabled", "interval_s", "budget") and hasattr(state, f)
            }
        out.append(
            ConnectorStatus(
                name=config.name,
                kind=config.kind,
                enabled=config.enabled,
                interval_s=config.interval_s,
                budget=budget_status(config, usage, month),
                **fields,
            )
        )
    return out


# -- listening -----------------------------------------------------------------------------------------------------
class ListenHost(Protocol):
    """What listening needs from the process (the composition root, `kizuki.runtime.Runtime`)."""

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def watch_rules(self) -> WatchRulesInForce: ...

    @property
    def pipeline(self) -> Pipeline: ...


class RunReport(BaseModel):
    """One connector's run."""

    name: str
    status: Literal["ok", "error", "paused", "budget_exhausted", "disabled"]
    fetched: int = 0
    ingested: int = 0
    duplicates: int = 0
    dropped: int = 0
    skipped: int = 0
    error: str | None = None
    reads_left: int | None = None


def default_build(settings: Settings) -> Build:
    def build(config: ConnectorConfig, secrets: Mapping[str, SecretStr]) -> Connector:
        return connector_class(config.kind)(config, secrets)

    return build


def search_terms(host: ListenHost, session: Session) -> list[str]:
    """The watch rules' brand terms (and competitor terms when the rules keep posts naming only a competitor)."""
    _, rules = host.watch_rules.usable(session)
    terms = list(rules.brand)
    if rules.require == "brand_or_competitor":
        terms += rules.competitor
    return list(dict.fromkeys(terms))


async def listen_once(
    host: ListenHost, names: Sequence[str] | None = None, *, build: Build | None = None
) -> list[RunReport]:
    """Run every enabled connector (or those named) once, one after the other."""
    with host.db.reading() as s:
        _, configs = current(s)
    if names is not None:
        known = {c.name for c in configs}
        missing = [n for n in names if n not in known]
        if missing:
            raise NotFound(f"no connector named {', '.join(missing)}")
        configs = [c for c in configs if c.name in names]
    reports = []
    for config in configs:
        if not config.enabled:
            reports.append(RunReport(name=config.name, status="disabled"))
            continue
        reports.append(await run_connector(host, config, build=build))
    return reports


async def run_connector(host: ListenHost, config: ConnectorConfig, *, build: Build | None = None) -> RunReport:
    """One run of one connector; expected failures are stored in its status and reported, never raised."""
    now = utcnow()
    with host.db.reading() as s:
        state = s.get(ConnectorState, config.name)
        cursor = dict(state.cursor) if state is not None else {}
        paused = state.paused_until if state is not None else None
        usage = usage_of(s, config.name, month_of(now))
        budget = budget_status(config, usage, month_of(now))
    if paused is not None and paused > now:
        return RunReport(
            name=config.name, status="paused", error=f"rate limited until {paused.isoformat()}", reads_left=None
        )
    limit = PER_RUN_READS if budget.reads_left is None else min(PER_RUN_READS, budget.reads_left)
    if limit <= 0:
        await asyncio.to_thread(_store_run, host.db, config, None, error="monthly budget used up", now=now)
        return RunReport(name=config.name, status="budget_exhausted", reads_left=0)
    connector: Connector | None = None
    try:
        with host.db.reading() as s:
            terms = search_terms(host, s)
        connector = (build or default_build(host.settings))(config, connector_secrets(host.settings, config.name))
        result = await connector.fetch(cursor, terms=terms, limit=limit)
    except RateLimited as exc:
        until = now + timedelta(seconds=exc.retry_after_s or 60.0)
        await asyncio.to_thread(_store_run, host.db, config, None, error=str(exc), now=now, paused_until=until)
        return RunReport(name=config.name, status="error", error=str(exc))
    except (ConnectorError, KizukiError) as exc:
        message = exc.detail if isinstance(exc, KizukiError) else str(exc)
        await asyncio.to_thread(_store_run, host.db, config, None, error=message, now=now)
        return RunReport(name=config.name, status="error", error=message)
    finally:
        if connector is not None:
            await connector.aclose()
    # the reads are paid whatever happens next: metered first
    read_usd = type(connector).prices_for(config).read_usd
    await asyncio.to_thread(_meter, host.db, config, reads=result.reads, usd=result.reads * read_usd)
    report = RunReport(name=config.name, status="ok", fetched=result.reads, skipped=len(result.skipped))
    for post in result.posts:
        meta = (post.model_extra or {}).get("connector")
        if isinstance(meta, dict):
            automated = connector.capabilities.reply and connector.summoned(post)
            meta["delivery"] = "auto" if automated else "manual"
        # drafted and checked with the connector's own length rule (`mastodon:1000`, `bluesky:300`)
        post.channel = channel_name(connector.kind, connector.length_rule.limit) or post.channel
        try:
            outcome = await asyncio.to_thread(host.pipeline.intake, post, actor=f"connector:{config.name}")
        except KizukiError as exc:  # this post cannot be stored (e.g. a date out of range): counted, not retried
            report.skipped += 1
            result.skipped.append(f"refused by intake: {exc.error}")
            continue
        if outcome.outcome == "duplicate":
            report.duplicates += 1
        elif outcome.outcome in ("dropped", "no_engage"):
            report.dropped += 1
        else:
            report.ingested += 1
    await asyncio.to_thread(_store_run, host.db, config, result.cursor, error=None, now=now, report=report)
    with host.db.reading() as s:
        usage = usage_of(s, config.name, month_of(now))
        report.reads_left = budget_status(config, usage, month_of(now)).reads_left
    return report


def _meter(db: Database, config: ConnectorConfig, *, reads: int = 0, writes: int = 0, usd: float = 0.0) -> None:
    if not (reads or writes or usd):
        return
    for attempt in (1, 2):
        try:
            with db.session() as s:
                usage = _usage_row(s, config.name, month_of(utcnow()))
                usage.reads += reads
                usage.writes += writes
                usage.usd += usd
            return
        except IntegrityError:  # another process created this month's row at the same moment: it is there now
            if attempt == 2:
                raise


def _store_run(
    db: Database,
    config: ConnectorConfig,
    cursor: dict[str, Any] | None,
    *,
    error: str | None,
    now: datetime,
    report: RunReport | None = None,
    paused_until: datetime | None = None,
) -> None:
    """The run's outcome; the new cursor only with a run whose posts are all stored."""
    with db.session() as s:
        state = s.get(ConnectorState, config.name, with_for_update=True)
        if state is None:
            state = ConnectorState(
                name=config.name,
                cursor={},
                last_fetched=0,
                last_ingested=0,
                last_skipped=0,
                fetched_total=0,
                errors_total=0,
                consecutive_errors=0,
            )
            s.add(state)
        state.last_run_at = now
        state.updated_at = utcnow()
        if cursor is not None:
            state.cursor = cursor
        if error is None:
            state.last_ok_at = now
            state.last_error = None
            state.consecutive_errors = 0
            state.paused_until = None
        else:
            state.last_error = error[:1000]
            state.errors_total += 1
            state.consecutive_errors += 1
            state.paused_until = paused_until
        if report is not None:
            state.last_fetched = report.fetched
            state.last_ingested = report.ingested
            state.last_skipped = report.skipped
            state.fetched_total += report.fetched


# -- delivery ------------------------------------------------------------------------------------------------------
def queue_deliveries(db: Database, settings: Settings) -> int:
    """Approved drafts from connectors that answer by automation, left waiting by the manual setting
    (`KIZUKI_DELIVERY=manual` sends nothing by itself): one `deliver` job each. Returns how many were queued."""
    queued = 0
    with db.session() as s:
        rows = s.execute(
            select(Draft, Post.raw)
            .join(Post, Draft.post_id == Post.id)
            .where(Draft.status == DraftStatus.APPROVED, Draft.delivery_status == DeliveryStatus.AWAITING_MANUAL)
            .with_for_update(of=Draft)
        ).all()
        for draft, raw in rows:
            meta = (raw or {}).get("connector")
            if not isinstance(meta, dict) or meta.get("delivery") != "auto":
                continue
            job = jobs.enqueue(
                s,
                JobKind.DELIVER,
                {"draft_id": draft.id},
                dedupe_key=f"deliver:{draft.id}:c{draft.version}",
                max_attempts=settings.delivery_max_attempts,
            )
            draft.delivery_status = DeliveryStatus.QUEUED
            audit.record(
                s,
                actor="connectors",
                action="draft.delivery_queued",
                subject=f"draft:{draft.id}",
                after={"connector": meta.get("name"), "job_id": job.id},
            )
            queued += 1
    return queued


class ConnectorRouter(Channel):
    """The outbox's channel: replies to a connector's posts go back through that connector, the rest through the
    channel the settings choose (`fallback`)."""

    name = "connectors"

    def __init__(self, db: Database, settings: Settings, fallback: Channel, *, build: Build | None = None) -> None:
        self.db = db
        self.settings = settings
        self.fallback = fallback
        self.build = build or default_build(settings)

    @property
    def deadline_s(self) -> float | None:
        return self.fallback.deadline_s

    def deadline_for(self, reply: OutboundReply) -> float | None:
        if isinstance(reply.in_reply_to.get("connector"), dict):
            return CONNECTOR_DEADLINE_S
        return self.fallback.deadline_for(reply)

    async def send(self, reply: OutboundReply) -> Any:
        meta = reply.in_reply_to.get("connector")
        if not isinstance(meta, dict) or not meta.get("name"):
            return await self.fallback.send(reply)
        return await self._send(reply, meta)

    async def _send(self, reply: OutboundReply, meta: dict[str, Any]) -> dict[str, Any]:
        name = str(meta["name"])
        if str(reply.in_reply_to.get("source") or "") != name:  # only a post this connector read is answered by it
            raise DeliveryRefused(f"connector {name}: the post did not come from this connector")
        if meta.get("delivery") != "auto":
            raise DeliveryRefused(f"connector {name}: this post is answered by hand (mark it sent when posted)")
        try:
            with self.db.reading() as s:
                config = config_named(s, name)
        except NotFound:
            raise DeliveryRefused(f"connector {name} is no longer configured") from None
        actions: list[Literal["reply", "like", "dm"]] = []
        if reply.action == "like_only":
            actions.append("like")
        elif reply.text.strip() and reply.action != "ignore":
            actions.append("reply")
        connector = self.build(config, connector_secrets(self.settings, name))
        if (reply.needs_dm or reply.action == "reply_and_dm") and "reply" in actions and connector.capabilities.dm:
            actions.append("dm")
        post = PostRef(
            external_id=str(reply.in_reply_to.get("external_id")),
            url=reply.in_reply_to.get("url"),
            author=str(reply.in_reply_to.get("author") or ""),
            ref=dict(meta.get("ref") or {}),
        )
        sent: list[dict[str, Any]] = []
        try:
            for action in actions:
                key = f"{reply.idempotency_key}:{action}"
                done = await asyncio.to_thread(self._sent, key)
                if done is None:
                    done = await self._act(connector, action, post, reply.text, key)
                    cost = type(connector).prices_for(config).write_cost(reply.text) if action != "like" else 0.0
                    await asyncio.to_thread(self._store_sent, reply.draft_id, name, key, done)
                    await asyncio.to_thread(_meter, self.db, config, writes=1, usd=cost)
                sent.append(done.model_dump())
        finally:
            await connector.aclose()
        return {"connector": name, "sent": sent}

    @staticmethod
    async def _act(
        connector: Connector, action: Literal["reply", "like", "dm"], post: PostRef, text: str, key: str
    ) -> SentRef:
        try:
            if action == "like":
                return await connector.like(post, idempotency_key=key)
            if action == "dm":
                return await connector.dm(post, text, idempotency_key=key)
            return await connector.reply(post, text, idempotency_key=key)
        except PostGone as exc:
            raise DeliveryRefused(f"the original post is gone: {exc}") from exc
        except NotAllowed as exc:
            raise DeliveryRefused(str(exc)) from exc
        except ConnectorError as exc:
            if not exc.retryable:
                raise DeliveryRefused(str(exc)) from exc
            raise DeliveryError(str(exc)) from exc

    def _sent(self, key: str) -> SentRef | None:
        with self.db.reading() as s:
            row = s.scalars(select(ConnectorSent).where(ConnectorSent.idempotency_key == key)).first()
            if row is None:
                return None
            return SentRef.model_validate({"action": row.action, "id": row.external_id, "url": row.url})

    def _store_sent(self, draft_id: int, name: str, key: str, ref: SentRef) -> None:
        with self.db.session() as s:
            s.add(
                ConnectorSent(
                    idempotency_key=key,
                    draft_id=draft_id,
                    connector=name,
                    action=ref.action,
                    external_id=ref.id[:200],
                    url=ref.url,
                    sent_at=utcnow(),
                )
            )


class SentPublic(BaseModel):
    draft_id: int
    connector: str
    action: str
    id: str
    url: str | None
    sent_at: datetime


def sent_for(session: Session, draft_id: int | None = None, *, limit: int = 100) -> list[SentPublic]:
    """What connectors sent (newest first), for one draft or all."""
    stmt = select(ConnectorSent).order_by(ConnectorSent.id.desc()).limit(limit)
    if draft_id is not None:
        stmt = stmt.where(ConnectorSent.draft_id == draft_id)
    return [
        SentPublic(
            draft_id=r.draft_id, connector=r.connector, action=r.action, id=r.external_id, url=r.url, sent_at=r.sent_at
        )
        for r in session.scalars(stmt)
    ]

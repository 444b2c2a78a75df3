"""Browser tests of the reviewer console: the real app on a real port, driven by Debian's Chromium through Playwright.

One browser for the folder's tests; one server per test module and database: SQLite, and PostgreSQL (when
KIZUKI_TEST_PG_URL is set) for the journeys marked `postgres_too`. The server is uvicorn in a thread with the
in-process worker, as `kizuki serve` runs it, on a fresh database holding a small fictional company (profile,
watch rules, rules file, knowledge, posts drafted by the offline model). Tests sign in through the sign-in page.

Fixtures: `browser` (package); `server` (module: `.url`, `.runtime`, `.tokens[name]`, `.draft_id(external_id)`,
`.draft(id)`, `.rest(method, path, **kw)` as the admin, `.drain_jobs()`); `signed_in(name)` → a signed-in `Page`
in a fresh context (names: hana, ken (agents), eri (editor), admin, eve (evaluator)); `new_page()` → a page in a
fresh context, not signed in. Sync Playwright keeps an event loop running in the main thread: call code that uses
`asyncio.run` (the pipeline, a worker) through `off_the_loop`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
import yaml
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)
from sqlalchemy import select

from kizuki.core.db import Database
from kizuki.core.settings import Settings
from kizuki.runtime import Runtime

CHROMIUM = os.environ.get("KIZUKI_TEST_CHROMIUM", "/usr/bin/chromium")
# Flags for a closed network: without the background-networking ones Chromium keeps dialling Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
TIMEOUT_MS = 15_000  # for each action and each expectation: generous, since CI machines are shared and busy
expect.set_options(timeout=TIMEOUT_MS)
T = TypeVar("T")

# A fictional company of another industry than the demo's, so nothing here depends on the demo folder.
PROFILE: dict[str, Any] = {
    "name": "Kaze Cycles",
    "names": ["Kaze Cycles", "風サイクル", "かぜサイクル"],
    "handles": {"x": "@kaze_help"},
    "products": [
        {"name": "Kaze E-Bike", "aliases": ["風バイク", "e-bike"]},
        {"name": "KZ-B36 battery", "aliases": ["KZ-B36", "バッテリー"]},
        {"name": "Kaze app", "aliases": ["風アプリ"]},
    ],
    "competitors": ["Rival Bikes"],
    "contacts": ["0120-111-222", "help@kaze.example.com", "https://kaze.example.com/help"],
    "languages": ["ja", "en"],
    "departments": {"support": "faults, orders, repairs", "quality": "heat, smoke, fire, injury"},
}
WATCH_RULES: dict[str, Any] = {
    "version": 1,
    "require": "brand",
    "brand": ["Kaze Cycles", "風サイクル", "Kaze E-Bike", "風バイク", "KZ-B36", "Kaze app", "kaze_help"],
    "problem": ["壊れた", "動かない", "充電できない", "ログインできない", "煙", "broken", "refund", "can't log in"],
    "competitor": ["Rival Bikes"],
    "exclude": [],
    "override": [],
}
RULES: dict[str, Any] = {
    "allow": ["0120-111-222", "help@kaze.example.com", "https://kaze.example.com/help", "@kaze_help"],
    "competitors": ["Rival Bikes"],
}
KNOWLEDGE: list[dict[str, Any]] = [
    {
        "key": "charge-time-ja",
        "kind": "faq",
        "title": "バッテリーの充電時間はどのくらいですか？",
        "body": "KZ-B36バッテリーの充電時間は、空の状態から満充電まで約4時間です。充電中は充電器のランプが赤く点灯し、"
        "満充電になると緑に変わります。",
        "lang": "ja",
        "tags": ["battery"],
        "status": "published",
    },
    {
        "key": "charge-time-en",
        "kind": "faq",
        "title": "How long does the battery take to charge?",
        "body": "The KZ-B36 battery charges from empty to full in about 4 hours. The charger light is red while "
        "charging and turns green when the battery is full.",
        "lang": "en",
        "tags": ["battery"],
        "status": "published",
    },
    {
        "key": "battery-fault-ja",
        "kind": "faq",
        "title": "バッテリーが充電できません。どうすればよいですか？",
        "body": "充電器のランプが点灯しない場合は、コンセントと充電器の接続を確認し、別のコンセントでお試しください。"
        "それでも充電できない場合は、修理窓口（0120-111-222、平日 9:00–18:00）までご連絡ください。",
        "lang": "ja",
        "tags": ["battery", "repair"],
        "status": "published",
    },
    {
        "key": "app-login-ja",
        "kind": "faq",
        "title": "風アプリにログインできません。",
        "body": "アプリを最新版に更新し、登録したメールアドレスでログインしてください。パスワードを忘れた場合は、"
        "ログイン画面の「パスワードを忘れた方」から再設定できます。",
        "lang": "ja",
        "tags": ["app"],
        "status": "published",
    },
    {
        "key": "safety-policy",
        "kind": "policy",
        "title": "発熱・発煙・発火の報告への対応",
        "body": "発熱・発煙・発火の報告には、直ちに使用を中止していただくようお願いし、DMで詳しい状況を伺います。"
        "公の場で補償や返金を約束してはいけません。",
        "lang": "ja",
        "tags": ["safety"],
        "status": "published",
    },
]


def _post(external_id: str, text: str, *, followers: int = 150, **metrics: int) -> dict[str, Any]:
    return {
        "source": "x",
        "external_id": external_id,
        "author": {"handle": f"user_{external_id}", "name": f"ユーザー {external_id}", "followers": followers},
        "text": text,
        "url": f"https://x.example/user_{external_id}/status/{external_id}",
        # an hour ago, whenever the tests run: flame risk counts engagements per hour since the post
        "created_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "metrics": {"likes": 1, "reposts": 0, "replies": 0, **metrics},
    }


# Each journey has its own post, so the tests of a module do not depend on their order.
POSTS: list[dict[str, Any]] = [
    _post("phone", "風サイクルのKaze E-Bike、バッテリーが充電できない。急ぎなので090-1234-5678に電話ください"),
    _post("approve", "Kaze E-Bikeのバッテリーの充電時間はどのくらいですか？"),
    _post("reject", "How long does the Kaze E-Bike battery take to charge?"),
    _post("regenerate", "風アプリにログインできない。Kaze E-Bikeの走行記録が見られなくて困った"),
    _post(
        "flame",
        "Kaze E-Bikeのバッテリーから煙が出て火事になりかけた！最悪。危険すぎる、返金しろ",
        followers=250_000,
        likes=8_000,
        reposts=2_500,
        replies=600,
    ),
    _post("stale", "Kaze E-Bikeのバッテリーの充電時間を教えてください。"),
    _post(
        "stale-risky",
        "充電中のKZ-B36から煙が出て焦げ臭い。危険だし最悪。Kaze E-Bikeのリコールはまだ？",
        followers=180_000,
        likes=6_000,
        reposts=1_800,
        replies=400,
    ),
    _post("role", "KZ-B36の充電時間はどれくらい？"),
    _post("csrf", "風サイクルのKZ-B36、満充電まで何時間かかりますか？"),
    _post("queue", "Kaze E-Bike is broken after a week, the battery will not charge"),
    _post("keys", "Quick question about my Kaze E-Bike: how long does a full charge of the KZ-B36 take?"),
]

PEOPLE: dict[str, str] = {"hana": "agent", "ken": "agent", "eri": "editor", "admin": "admin", "eve": "evaluator"}


def build_runtime(home: Path, database_url: str | None, cache_home: Path, db: Database | None = None) -> Runtime:
    """A runtime on `home` with the company's rules file; the database is migrated."""
    home.mkdir(parents=True, exist_ok=True)
    rules_file = home / "company-rules.yaml"
    rules_file.write_text(yaml.safe_dump(RULES, allow_unicode=True), encoding="utf-8")
    settings = Settings(
        home=home,
        database_url=database_url or f"sqlite:///{home / 'kizuki.db'}",
        cache_home=cache_home,
        rules_file=rules_file,
        worker_concurrency=2,
        _env_file=None,
    )
    database = db or Database(settings.resolved_database_url)
    if db is None:
        database.migrate()
    return Runtime(settings, db=database)


def seed(rt: Runtime) -> dict[str, str]:
    """Store the company (profile, watch rules, knowledge), draft its posts, make the people's tokens."""
    from agent.schemas import PostIn
    from kizuki.seed import CompanyFolder, load_company
    from tests.conftest import make_token

    folder = rt.settings.home / "company"
    folder.mkdir(exist_ok=True)
    (folder / "profile.yaml").write_text(yaml.safe_dump(PROFILE, allow_unicode=True), encoding="utf-8")
    (folder / "watch_rules.yaml").write_text(yaml.safe_dump(WATCH_RULES, allow_unicode=True), encoding="utf-8")
    (folder / "knowledge.jsonl").write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in KNOWLEDGE), encoding="utf-8"
    )
    load_company(rt, CompanyFolder(folder), actor="test-setup")
    outcomes = rt.pipeline.ingest([PostIn.model_validate(p) for p in POSTS], actor="test-setup")
    failed = [(p["external_id"], o.outcome, o.reason) for p, o in zip(POSTS, outcomes, strict=True) if not o.draft]
    assert not failed, f"posts that were not drafted: {failed}"
    return {name: make_token(rt, role, name) for name, role in PEOPLE.items()}


def off_the_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run `fn` in a thread of its own: sync Playwright keeps an event loop running in the main thread, and the
    pipeline and worker call `asyncio.run`, which refuses to run inside one."""
    result: list[T] = []
    errors: list[BaseException] = []

    def _run() -> None:
        try:
            result.append(fn(*args))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=_run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


@dataclass
class Server:
    url: str
    runtime: Runtime
    tokens: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, Any] = field(default_factory=dict)  # name -> the browser storage state after sign-in

    def draft_id(self, external_id: str) -> int:
        """The newest draft of the post with this external id."""
        from agent.posts.models import Draft, Post

        with self.runtime.db.reading() as s:
            found = s.scalars(
                select(Draft.id)
                .join(Post, Draft.post_id == Post.id)
                .where(Post.external_id == external_id)
                .order_by(Draft.generation.desc())
            ).first()
        assert found is not None, f"no draft for post {external_id!r}"
        return int(found)

    def rest(self, method: str, path: str, **kw: Any) -> Any:
        """Call the REST API as the admin; a 4xx/5xx raises."""
        headers = {"Authorization": f"Bearer {self.tokens['admin']}"}
        res = httpx.request(method, f"{self.url}{path}", headers=headers, timeout=15, **kw)
        res.raise_for_status()
        return res.json()

    def draft(self, draft_id: int) -> dict[str, Any]:
        """The draft as the REST API shows it: what the browser did, seen from the other side."""
        return dict(self.rest("GET", f"/v1/drafts/{draft_id}"))

    def drain_jobs(self, timeout: float = 30.0) -> None:
        """Wait until the in-process worker has run every job that is due (not the periodic ones set for later)."""
        from kizuki.core import jobs
        from kizuki.core.orm import utcnow

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.runtime.db.reading() as s:
                busy = [
                    f"{j.kind} {j.status} attempts={j.attempts} run_after={j.run_after} error={j.last_error}"
                    for j in s.scalars(
                        select(jobs.Job).where(
                            jobs.Job.status.in_((jobs.JobStatus.QUEUED, jobs.JobStatus.RUNNING)),
                            jobs.Job.run_after <= utcnow(),
                        )
                    )
                ]
            if not busy:
                return
            time.sleep(0.1)
        raise AssertionError(f"jobs still queued or running after {timeout} s: {busy}")


@pytest.fixture(scope="package")
def playwright_session() -> Iterator[Playwright]:
    """Playwright for the tests in this folder only: while it runs, an event loop runs in the main thread, where
    the tests elsewhere call `asyncio.run` (so it must end with the last browser test, not with the session)."""
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (`apt-get install -y chromium`; `.ci/run` installs it). Missing, the tests fail: never skip."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's package (apt-get install -y chromium) or set "
            "KIZUKI_TEST_CHROMIUM; Playwright's own browser download does not work on these machines",
            pytrace=False,
        )
    b = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield b
    b.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres_too: a browser journey that also runs against PostgreSQL (locks, the worker's claims)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every journey runs on SQLite; those marked `postgres_too` also on PostgreSQL (a second server per module).

    The journeys whose outcome depends on the database (concurrent decisions, the worker) are marked; running
    every page on both would double the time of the slowest part of the suite for little more assurance."""
    if "server" not in metafunc.fixturenames:
        return
    databases: list[Any] = ["sqlite"]
    if metafunc.definition.get_closest_marker("postgres_too"):
        databases.append(pytest.param("postgres", marks=pytest.mark.postgres))
    metafunc.parametrize("server", databases, indirect=True, scope="module")


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedding_cache: Path
) -> Iterator[Server]:
    """The app on a free 127.0.0.1 port with its in-process worker, on a fresh database with the company seeded."""
    from api.app import create_app
    from kizuki.core import audit
    from kizuki.core.worker import run_in_thread

    home = tmp_path_factory.mktemp("browser-home")
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):  # the developer's KIZUKI_* settings stay out, as in tests/conftest.py
            if name.startswith("KIZUKI_") and not name.startswith("KIZUKI_TEST_"):
                mp.delenv(name)
        if request.param == "sqlite":
            rt = build_runtime(home, None, embedding_cache)
        else:
            from tests.conftest import _truncate

            pg: Database = request.getfixturevalue("pg_database")
            _truncate(pg)
            rt = build_runtime(home, pg.url, embedding_cache, db=pg)
        tokens = off_the_loop(seed, rt)

    listening = socket.socket()  # bound here and handed to uvicorn: no other process can take the port meanwhile
    listening.bind(("127.0.0.1", 0))
    port = int(listening.getsockname()[1])
    config = uvicorn.Config(create_app(rt, warm=True), log_level="warning")
    uv = uvicorn.Server(config)
    serving = threading.Thread(
        target=lambda: asyncio.run(uv.serve(sockets=[listening])), name="browser-test-server", daemon=True
    )
    serving.start()
    worker, stop_worker = run_in_thread(rt, concurrency=2)
    deadline = time.monotonic() + 30
    while not uv.started:
        assert serving.is_alive() and time.monotonic() < deadline, "the app under test did not start"
        time.sleep(0.05)
    try:
        yield Server(url=f"http://127.0.0.1:{port}", runtime=rt, tokens=tokens)
    finally:
        uv.should_exit = True
        stop_worker.set()
        serving.join(timeout=15)
        listening.close()
        worker.join(timeout=rt.settings.worker_grace_s + 10)
        audit.unconfigure(rt.db.engine)
        if request.param == "sqlite":
            rt.db.dispose()
        else:
            from tests.conftest import _truncate

            _truncate(rt.db)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Fresh browser contexts (own cookies) at 1280×800, closed after the test."""
    opened: list[BrowserContext] = []

    def _make(locale: str = "en-GB") -> BrowserContext:
        ctx = browser.new_context(viewport=VIEWPORT, locale=locale)
        ctx.set_default_timeout(TIMEOUT_MS)
        opened.append(ctx)
        return ctx

    yield _make
    for ctx in opened:
        ctx.close()


@pytest.fixture
def new_page(new_context: Callable[..., BrowserContext]) -> Callable[..., Page]:
    """A page in a fresh context, not signed in."""

    def _make(locale: str = "en-GB") -> Page:
        return new_context(locale).new_page()

    return _make


def click_and_load(page: Page, target: Locator) -> None:
    """Click something that loads a new page (a form post, a link) and wait until the new page is there, so the
    expectations that follow look at it at once instead of polling the old one with growing pauses."""
    with page.expect_event("domcontentloaded"):  # fired by the next document only
        target.click()


def sign_in(page: Page, server: Server, name: str) -> Page:
    """Sign in through the sign-in page with the person's token, as a person does."""
    page.goto(f"{server.url}/signin")
    page.get_by_test_id("signin-token").fill(server.tokens[name])
    click_and_load(page, page.get_by_test_id("signin-submit"))
    assert "/signin" not in page.url, f"{name} could not sign in"
    return page


@pytest.fixture
def signed_in(
    server: Server, browser: Browser, new_context: Callable[..., BrowserContext]
) -> Iterator[Callable[..., Page]]:
    """`signed_in("hana")`: a page in its own context, signed in as that person (see PEOPLE for the roles).

    Each person signs in through the page once per server; later contexts start with that session's cookie."""

    def _make(name: str, locale: str = "en-GB") -> Page:
        if name not in server.sessions:
            page = sign_in(new_context(locale).new_page(), server, name)
            server.sessions[name] = page.context.storage_state()
            return page
        ctx = browser.new_context(viewport=VIEWPORT, locale=locale, storage_state=server.sessions[name])
        ctx.set_default_timeout(TIMEOUT_MS)
        opened.append(ctx)
        return ctx.new_page()

    opened: list[BrowserContext] = []
    yield _make
    for ctx in opened:
        ctx.close()

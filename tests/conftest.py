"""Shared fixtures: real databases built by the migrations (SQLite always, PostgreSQL when configured).

PostgreSQL tests run when KIZUKI_TEST_PG_URL names a server; `.ci/run` sets it and also sets
KIZUKI_TEST_REQUIRE_PG=1, which turns a missing or unreachable server into a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pydantic_ai.models
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from kizuki.core.db import Database
from kizuki.core.settings import Settings, get_settings
from kizuki.runtime import Runtime

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("DISABLE_AIOHTTP_TRANSPORT", "True")

# No test reaches a model provider: a real model request fails unless a test allows it for the length of the test
# (the wire tests, which fake the provider's HTTP with respx).
pydantic_ai.models.ALLOW_MODEL_REQUESTS = False

PG_URL = os.environ.get("KIZUKI_TEST_PG_URL")
REQUIRE_PG = os.environ.get("KIZUKI_TEST_REQUIRE_PG") == "1"


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRE_PG and not PG_URL:
        raise pytest.UsageError("KIZUKI_TEST_REQUIRE_PG=1 but KIZUKI_TEST_PG_URL is not set")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    no_pg = pytest.mark.skipif(not PG_URL, reason="KIZUKI_TEST_PG_URL not set (CI sets it)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(no_pg)


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads the developer's environment or writes to ./.kizuki."""
    for name in list(os.environ):
        if name.startswith("KIZUKI_") and not name.startswith("KIZUKI_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KIZUKI_HOME", str(tmp_path / "kizuki-home"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "kizuki.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Database]:
    assert PG_URL, "KIZUKI_TEST_PG_URL is not set"
    db = Database(PG_URL)
    try:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # a configured server that does not answer is a failure, not a skip
        pytest.fail(f"PostgreSQL at KIZUKI_TEST_PG_URL is not usable: {exc}")
    db.migrate()
    yield db
    db.dispose()


def _truncate(db: Database) -> None:
    with db.engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename<>'alembic_version'")
            )
        ]
        if tables:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


def _sqlite_copy(template: Path, tmp_path: Path) -> Database:
    path = tmp_path / "kizuki.db"
    shutil.copy(template, path)
    return Database(f"sqlite:///{path}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """A migrated, empty database: each test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        database = _sqlite_copy(sqlite_template, tmp_path)
        yield database
        database.dispose()
    else:
        database = request.getfixturevalue("pg_database")
        _truncate(database)
        yield database
        _truncate(database)


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    database = _sqlite_copy(sqlite_template, tmp_path)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the session: the same texts are embedded once, not once per test."""
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture
def settings(tmp_path: Path, db: Database, embedding_cache: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=db.url, cache_home=embedding_cache)


DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"


def store_watch_rules(rt: Runtime, path: Path) -> int:
    """Store the watch rules of a YAML file as the next version; returns the version."""
    from agent.intake.service import save_watch_rules
    from agent.intake.watch import load_rules

    with rt.db.session() as s:
        rules = load_rules(path).model_dump()
        return save_watch_rules(s, rt.watch_rules, rules, edited_version=None, actor="test-setup").version


@pytest.fixture
def bare_runtime(settings: Settings, db: Database) -> Iterator[Runtime]:
    """A fresh installation: no watch rules, no profile, no knowledge."""
    from kizuki.core import audit

    yield Runtime(settings, db=db)
    audit.unconfigure(db.engine)  # the shared PostgreSQL engine must not keep this test's audit settings


@pytest.fixture
def runtime(bare_runtime: Runtime) -> Runtime:
    """A runtime whose watch rules are the demo company's (so its posts are kept); no profile, no knowledge."""
    store_watch_rules(bare_runtime, DEMO_DIR / "watch_rules.yaml")
    return bare_runtime


def make_token(runtime: Runtime, role: str, name: str | None = None) -> str:
    from api.auth import create_token

    with runtime.db.session() as s:
        _, secret = create_token(s, name=name or f"test-{role}", role=role, actor="test-setup")
    return secret


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    """The application on `runtime`; the clients below share it."""
    from api.app import create_app

    return create_app(runtime)


@pytest.fixture
def anon_client(app: FastAPI) -> Iterator[TestClient]:
    """A client without credentials."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def client(runtime: Runtime, app: FastAPI) -> Iterator[TestClient]:
    """A client holding an admin token (admin may call every endpoint); not the same object as `anon_client`."""
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {make_token(runtime, 'admin', 'test-admin')}"
        yield c


@pytest.fixture
def client_as(runtime: Runtime, app: FastAPI) -> Iterator[Callable[..., TestClient]]:
    """Clients with a token of a given role and name: `client_as("agent")`, `client_as("agent", "hana")`.

    The same role and name give the same token: names are unique among working tokens."""
    opened: list[TestClient] = []
    secrets: dict[tuple[str, str | None], str] = {}

    def _make(role: str, name: str | None = None) -> TestClient:
        c = TestClient(app)
        if (role, name) not in secrets:
            secrets[(role, name)] = make_token(runtime, role, name)
        c.headers["Authorization"] = f"Bearer {secrets[(role, name)]}"
        opened.append(c)
        return c

    yield _make
    for c in opened:
        c.close()

"""Database engine, sessions and migrations (SQLite file by default, PostgreSQL by URL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from psycopg.types.json import Json, Jsonb
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from kizuki.core.errors import InvalidInput, KizukiError
from kizuki.core.private import narrow, touch_private

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"  # kizuki/migrations: it gathers every table


def _normalise_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs (the driver Kizuki installs)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE (below) instead of pysqlite's lazy BEGIN:
    # a transaction that reads and then writes must hold the write lock from its first statement,
    # or two of them read the same state and one fails (or, worse, both act on it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
# A JSON escape of a lone surrogate: a high one not followed by a low one, or a low one not preceded
# by a high one (SQLite stores JSON as escaped text; PostgreSQL's JSONB refuses these).
_JSON_LONE_SURROGATE = re.compile(
    r"(?<!\\)(?:\\\\)*\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})(?<!\\)(?:\\\\)*\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _unstorable(value: str) -> str | None:
    if "\x00" in value:
        return "a NUL character"
    # The escape patterns run only on text that holds their prefix: a substring test costs far less than
    # their look-behind scan over a large JSON document full of escaped Japanese.
    if "\\u0000" in value and _JSON_NUL.search(value):
        return "a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "a lone surrogate (not valid Unicode)"
    if ("\\ud" in value or "\\uD" in value) and _JSON_LONE_SURROGATE.search(value):
        return "a lone surrogate (not valid Unicode)"
    return None


def _guard_parameters(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    """Refuse text no database stores faithfully (PostgreSQL rejects NUL; neither encodes lone surrogates).

    Edges validate the fields they know; this catches every other path (filters, extra fields, notes)
    with a clear 422 instead of a driver error.
    """
    _check_values(parameters)


def _check_values(value: Any) -> None:
    # Parameters come as a dict, a tuple, or (executemany) a list of either, depending on driver and path.
    # JSON documents come as psycopg Json/Jsonb wrappers on PostgreSQL (their keys count too) and as
    # serialised strings on SQLite.
    if isinstance(value, str):
        if problem := _unstorable(value):
            raise InvalidInput(f"input contains {problem}, which cannot be stored")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_values(key)
            _check_values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_values(item)
    elif isinstance(value, Json | Jsonb):
        _check_values(value.obj)


READ_ONLY = "kizuki_read_only"
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _private_sqlite_files(path: Path) -> None:
    """The database file is made 0600 before SQLite opens it (SQLite gives its -wal, -shm and -journal files the
    database file's mode); files left readable by an older version are narrowed."""
    touch_private(path)
    for suffix in SQLITE_SIDE_FILES:
        narrow(path.with_name(path.name + suffix))


def _sqlite_begin(connection: Any) -> None:
    # A read-only transaction (`Database.reading()`) begins deferred: under WAL it reads a snapshot and
    # never waits for, or holds up, a writer. Every other transaction takes the write lock up front.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def _unwrapped_domain_errors() -> Iterator[None]:
    """A domain error raised while binding a value (a date out of range) reaches us wrapped by
    SQLAlchemy; raise it as itself, so callers see a 422 and not a driver error."""
    try:
        yield
    except StatementError as exc:
        if isinstance(exc.orig, KizukiError):
            raise exc.orig from None
        raise


class Database:
    """One engine and session factory for a URL; `session()` is one transaction."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = _normalise_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
                _private_sqlite_files(Path(parsed.database))
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
        self.engine: Engine = create_engine(self.url, **kwargs)
        event.listen(self.engine, "before_cursor_execute", _guard_parameters)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # PostgreSQL: the driver opens these transactions as BEGIN READ ONLY (no extra statement).
        read_options: dict[str, Any] = {READ_ONLY: True}
        if self.is_postgres:
            read_options["postgresql_readonly"] = True
        self._read_sessions = sessionmaker(self.engine.execution_options(**read_options), expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work commits when the block ends, or rolls back on an exception."""
        session = self._sessions()
        try:
            with _unwrapped_domain_errors():
                yield session
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads (queue pages, snapshots, lookups).

        On SQLite it does not take the write lock, so readers never queue behind writers; writing
        in it is refused. On PostgreSQL it is a READ ONLY transaction.
        """
        session = self._read_sessions()
        try:
            with _unwrapped_domain_errors():
                yield session
            if session.new or session.dirty or session.deleted:
                raise RuntimeError("a read-only session has pending changes")
        finally:
            session.close()  # ends the transaction (rolled back) and keeps loaded objects readable

    def alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["engine"] = self.engine
        return cfg

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to `revision` with Alembic (the tests build their databases this way)."""
        command.upgrade(self.alembic_config(), revision)

    def is_migrated(self) -> bool:
        return "alembic_version" in inspect(self.engine).get_table_names()

    def dispose(self) -> None:
        self.engine.dispose()

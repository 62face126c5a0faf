"""Shared fixtures: a store on SQLite, on PostgreSQL, or on both (`store_url`).

PostgreSQL tests never skip silently: when the server is unreachable they fail, unless
`LIFECYCLE_SKIP_PG=1` is set explicitly. Each test session creates its own database
(so concurrent sessions do not collide) and each test starts from an empty schema.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# pytest puts `tests/` on sys.path, where `tests/cli` looks like a namespace package named
# `cli`; the editable install's finder runs after the path search, so `import cli` would
# find that folder. With the project root on the path, the real `cli.py` wins.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: `USER@HOST:PORT` of the PostgreSQL server the tests use.
PG_SERVER = os.environ.get("LIFECYCLE_TEST_PG", "postgres@127.0.0.1:5432")
#: A database on that server that exists already (to create the test database from).
PG_ADMIN_DB = os.environ.get("LIFECYCLE_TEST_PG_ADMIN_DB", "test")
SKIP_PG = os.environ.get("LIFECYCLE_SKIP_PG") == "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Whatever uses `pg_url` is a PostgreSQL test, whether or not it says so."""
    for item in items:
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


def _admin_connect(dbname: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(f"postgresql://{PG_SERVER}/{dbname}", autocommit=True,
                           connect_timeout=5)


@pytest.fixture(scope="session")
def _pg_database() -> Iterator[str]:
    """A database of this test session's own, dropped at the end."""
    yield from _fresh_database()


@pytest.fixture(scope="module")
def module_pg_url() -> Iterator[str]:
    """A PostgreSQL store URL of the test module's own (a database dropped after it), for
    modules that load a ledger once and only read it."""
    for name in _fresh_database():
        yield f"postgresql+psycopg://{PG_SERVER}/{name}"


def _fresh_database() -> Iterator[str]:
    import psycopg

    if SKIP_PG:
        pytest.skip("PostgreSQL tests skipped: LIFECYCLE_SKIP_PG=1")
    try:
        admin = _admin_connect(PG_ADMIN_DB)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_SERVER}/{PG_ADMIN_DB}: {exc}\n"
            "Start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main "
            "start), or set LIFECYCLE_SKIP_PG=1 to skip the PostgreSQL tests on purpose.",
            pytrace=False)
    name = f"lifecycle_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    _with_amcheck(name)
    try:
        yield name
    finally:
        with _admin_connect(PG_ADMIN_DB) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _with_amcheck(database: str) -> None:
    """`lifecycle verify` runs PostgreSQL's own check where amcheck is installed (and notes
    that it skipped it elsewhere: tests/reliability/test_tamper.py)."""
    with _admin_connect(database) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")


@pytest.fixture
def pg_url(_pg_database: str) -> str:
    """A PostgreSQL store URL whose `public` schema is empty when the test starts."""
    with _admin_connect(_pg_database) as conn:
        # Anything still connected is a leftover of an earlier test of this session.
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
        conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")  # dropped with the schema
    return f"postgresql+psycopg://{PG_SERVER}/{_pg_database}"


@pytest.fixture(scope="session")
def pg_session_url(_pg_database: str) -> Iterator[str]:
    """A PostgreSQL store URL of a database of its own that lasts the whole session (for
    data built once and only read, like the report tests' ledger; `pg_url` is emptied
    before every test)."""
    name = f"{_pg_database}_session"
    with _admin_connect(PG_ADMIN_DB) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    _with_amcheck(name)
    try:
        yield f"postgresql+psycopg://{PG_SERVER}/{name}"
    finally:
        with _admin_connect(PG_ADMIN_DB) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite store URL in a fresh file of the test's own."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """The test runs once on SQLite and once on PostgreSQL."""
    fixture = {"sqlite": "sqlite_url", "postgres": "pg_url"}[request.param]
    return str(request.getfixturevalue(fixture))


@pytest.fixture(scope="session")
def definitions_yaml() -> str:
    """The bundled b2b-2024 definitions, as YAML text."""
    from lifecycle.domain.starters import DATA

    return (DATA / "b2b-2024.yaml").read_text("utf-8")

"""The integration fixtures: a marketing service (real gunicorn) per module and back end, beside the session
churn, and `marketing_app`, one marketing per module in this process for what needs no process of its own.

Tests that touch storage take `backend` (through `marketing` or `new_db`) and, in a module that asks for
both (`BACKENDS`), run on both back ends: SQLite, the default, and PostgreSQL on one throwaway cluster per
session (harness/postgres.py), a fresh database per module (the `marketing` server's) or per call of
`new_db`. A missing PostgreSQL fails those tests; it is installed by scripts/install-test-deps.sh.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.postgres import PostgresCluster
from marketing_service import create_app
from tests.helpers import Gunicorn, Marketing, run_train
from tests.in_process import InProcess, admin_token, config_for


@pytest.fixture(scope="session")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A registry serving version A, with a weaker version B (`--C 0.001`) kept beside it: trained once per test
    process for every module that follows, promotes or shadows between two versions. Shared, so read it or
    change a copy (`registry_copy`), never the original."""
    root = tmp_path_factory.mktemp("two-versions") / "models"
    assert run_train("--registry", root, "--folds", "2").returncode == 0
    assert run_train("--registry", root, "--folds", "2", "--C", "0.001", "--promote", "never").returncode == 0
    first = (root / "CURRENT").read_text().strip()
    [second] = [p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != first]
    return root, first, second


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    with PostgresCluster() as cluster:
        yield cluster


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module that sets `BACKENDS = ("sqlite", "postgres")` runs its storage tests on both, one back end
    after the other (the parameter is module-scoped, so a module's server per back end starts once);
    a test marked `@pytest.mark.backends("sqlite")` keeps to the ones it names."""
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        chosen = marker.args if marker else getattr(metafunc.module, "BACKENDS", ("sqlite",))
        metafunc.parametrize("backend", chosen, indirect=True, scope="module")


@pytest.fixture(scope="module")
def backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="module")
def backend_cluster(backend: str, request: pytest.FixtureRequest) -> PostgresCluster | None:
    """The session's PostgreSQL cluster when the back end is PostgreSQL; None for SQLite."""
    return request.getfixturevalue("postgres_cluster") if backend == "postgres" else None


def fresh_db(cluster: PostgresCluster | None, directory: Path) -> str:
    """What MARKETING_DB takes for a fresh database: a new one on the cluster, or a SQLite file in `directory`."""
    return cluster.create_database() if cluster else str(directory / "marketing.db")


@pytest.fixture
def new_db(backend_cluster: PostgresCluster | None, tmp_path: Path) -> Callable[..., str]:
    """Makes a fresh database of the test's back end (a SQLite file in `directory`, the test's temp dir by
    default)."""

    def make(directory: Path = tmp_path) -> str:
        return fresh_db(backend_cluster, directory)

    return make


@pytest.fixture(scope="module")
def marketing(churn: Gunicorn, backend: str, backend_cluster: PostgresCluster | None, request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marketing]:
    """One real marketing (gunicorn, 2 workers, mail delivery running) per module and back end, with the
    module's `MARKETING_SETTINGS` if it has any: its tests share it, so each uses customer ids and addresses
    of its own and counts only what it made."""
    folder = tmp_path_factory.mktemp(f"marketing-{backend}")
    settings = getattr(request.module, "MARKETING_SETTINGS", {})
    with Marketing(folder, churn.url, settings, db=fresh_db(backend_cluster, folder)) as server:
        yield server


@pytest.fixture(scope="module")
def marketing_app(churn: Gunicorn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    """Marketing in process on a SQLite file, beside the real churn, with no background loop: for requests that
    must be refused before anything is stored (so the module's tests can share it) and for pages."""
    folder = tmp_path_factory.mktemp("marketing-app")
    app = create_app(config_for(folder, churn.url))
    yield InProcess(app, folder / "marketing.db", token=admin_token(app))
    app.extensions["marketing"].storage.close()

"""A real gunicorn server process on the run's test database, for concurrency tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import Server, base_env, gunicorn

WORKERS = 2
THREADS = 8


@pytest.fixture(scope="module")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``gunicorn -w 2 -k gthread --threads 8 wsgi:app``, terminated in the finalizer."""
    with gunicorn(base_env(database_url), tmp_path_factory.mktemp("server"),
                  name="gunicorn", workers=WORKERS, threads=THREADS) as server:
        yield server

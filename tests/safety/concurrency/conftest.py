"""The gunicorn server of tests/concurrency, reused for the safety-check races."""

from tests.concurrency.conftest import live_server  # noqa: F401 - fixture

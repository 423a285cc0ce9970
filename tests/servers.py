"""Real server processes for tests: gunicorn (gthread) serving ``wsgi:app`` on the run's
test database, optionally sharing a Redis message queue."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
SECRET_KEY = "test-secret-key"  # the in-process ``app`` fixture's key
REDIS_ENV = "CHOUNAIKAI_TEST_REDIS_URL"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def redis_url_or_skip() -> str:
    """``CHOUNAIKAI_TEST_REDIS_URL`` (CI sets it), else a local Redis if one answers."""
    import redis

    url = os.environ.get(REDIS_ENV) or DEFAULT_REDIS
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as error:
        if os.environ.get(REDIS_ENV) or os.environ.get("CI"):
            pytest.fail(f"Redis at {url} does not answer: {error}")
        pytest.skip(f"no Redis at {url} ({error}); set {REDIS_ENV}")
    return url


def unique_channel() -> str:
    """A Socket.IO channel of its own, so parallel runs on one Redis never cross."""
    return f"chounaikai-live-test-{uuid.uuid4().hex[:12]}"


def base_env(database_url: str, redis_url: str | None = None,
             channel: str | None = None) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "CHOUNAIKAI_SECRET_KEY": SECRET_KEY,
           "CHOUNAIKAI_ENV": "test", "PYTHONUNBUFFERED": "1"}
    env.pop("REDIS_URL", None)
    env.pop("CHOUNAIKAI_LIVE_CHANNEL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    if channel:
        env["CHOUNAIKAI_LIVE_CHANNEL"] = channel
    return env


@dataclass
class Server:
    url: str
    log_path: Path
    process: subprocess.Popen

    def log_text(self, offset: int = 0) -> str:
        return self.log_path.read_text(errors="replace")[offset:]

    def log_size(self) -> int:
        return len(self.log_text())


@contextmanager
def gunicorn(env: dict[str, str], log_dir: Path, *, name: str = "server", workers: int = 1,
             threads: int = 32) -> Iterator[Server]:
    """``gunicorn -k gthread`` serving ``wsgi:app`` on a socket bound here (no port race)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    log_path = log_dir / f"{name}.log"
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers),
               "--worker-class", "gthread", "--threads", str(threads),
               "--bind", f"fd://{sock.fileno()}", "--chdir", str(ROOT),
               "--graceful-timeout", "3", "--timeout", "60", "--log-level", "warning",
               "wsgi:app"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, pass_fds=(sock.fileno(),),
                                   start_new_session=True)
    sock.close()
    server = Server(f"http://127.0.0.1:{port}", log_path, process)
    try:
        _wait_healthy(server)
        yield server
    finally:
        _stop(process)


def _wait_healthy(server: Server, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.process.returncode}:\n{server.log_text()}")
        try:
            if requests.get(server.url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer within {timeout}s:\n{server.log_text()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: only our server
            process.wait(timeout=5)

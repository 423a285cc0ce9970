"""A real gunicorn server process on the run's test database, for concurrency tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "test-secret-key"  # the same key as the in-process ``app`` fixture
WORKERS = 2
THREADS = 8


@dataclass
class LiveServer:
    url: str
    log_path: Path

    def log_text(self, offset: int = 0) -> str:
        return self.log_path.read_text(errors="replace")[offset:]

    def log_size(self) -> int:
        return len(self.log_path.read_text(errors="replace"))


@pytest.fixture(scope="module")
def live_server(database_url: str,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``gunicorn -w 2 -k gthread --threads 8 wsgi:app`` on a listening socket we pass it.

    The socket is bound here and handed over as ``fd://N``, so there is no race
    for a free port.  The server is always terminated in the finalizer.
    """
    log_path = tmp_path_factory.mktemp("server") / "gunicorn.log"
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CHOUNAIKAI_SECRET_KEY": SECRET_KEY,
        "CHOUNAIKAI_ENV": "test",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    command = [
        sys.executable, "-m", "gunicorn",
        "--workers", str(WORKERS), "--worker-class", "gthread", "--threads", str(THREADS),
        "--bind", f"fd://{sock.fileno()}", "--chdir", str(ROOT),
        "--graceful-timeout", "5", "--timeout", "60", "--log-level", "warning",
        "wsgi:app",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, pass_fds=(sock.fileno(),),
                                   start_new_session=True)
    sock.close()  # the server holds its own copy
    server = LiveServer(url=f"http://127.0.0.1:{port}", log_path=log_path)
    try:
        _wait_healthy(server, process)
        yield server
    finally:
        _stop(process)


def _wait_healthy(server: LiveServer, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{server.log_text()}")
        try:
            if requests.get(server.url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer /healthz within {timeout}s:\n{server.log_text()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # graceful: the arbiter stops its workers
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: only our server
            process.wait(timeout=5)

"""nginx from docs/deploy/nginx.conf in front of a gunicorn, for tests and benchmarks.

The template is filled with a temporary folder, a free port and the gunicorn
address, and nginx runs in the foreground as a child process, so what is tested
and measured is the production front as documented.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "docs" / "deploy" / "nginx.conf"
MIME_TYPES = Path("/etc/nginx/mime.types")


class FrontError(RuntimeError):
    """nginx is missing or did not start."""


@dataclass
class Front:
    process: subprocess.Popen
    url: str
    command: list[str]


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (str(p) for p in (Path("/usr/sbin/nginx"),) if p.exists()), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def render(listen: str, upstream: str, run_dir: Path, workers: str = "auto") -> str:
    values = {
        "LISTEN": listen, "UPSTREAM": upstream, "STATIC_ROOT": str(ROOT / "static"),
        "RUN_DIR": str(run_dir), "CACHE_DIR": str(run_dir / "cache"),
        "MIME_TYPES": str(MIME_TYPES), "WORKERS": workers,
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    if re.search(r"\{\{[A-Z_]+\}\}", text):
        raise FrontError(f"{TEMPLATE}: a placeholder was left unfilled")
    return text


def start(upstream_url: str, tmp: Path, workers: str = "auto") -> Front:
    binary = nginx_binary()
    if binary is None:
        raise FrontError("nginx is not installed (Debian: apt-get install nginx-light)")
    run_dir = tmp / "nginx"
    (run_dir / "cache").mkdir(parents=True, exist_ok=True)
    port = _free_port()
    upstream = urlsplit(upstream_url).netloc
    conf = run_dir / "nginx.conf"
    conf.write_text(render(f"127.0.0.1:{port}", upstream, run_dir, workers))
    directives = "daemon off;"
    if os.geteuid() == 0:
        directives += " user root;"  # workers must read the checkout and write tmp
    command = [binary, "-p", str(run_dir), "-c", str(conf), "-g", directives]
    stderr_path = run_dir / "stderr.log"
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise FrontError(f"nginx exited: {stderr_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return Front(process, url, command)
        except OSError:
            time.sleep(0.1)
    stop(Front(process, url, command))
    raise FrontError("nginx did not answer /healthz within 20 s")


def stop(front: Front) -> None:
    if front.process.poll() is None:
        os.killpg(front.process.pid, signal.SIGQUIT)  # graceful: finish, then exit
        try:
            front.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(front.process.pid, signal.SIGKILL)
            front.process.wait(timeout=5)

"""Time inside the gunicorn workers, per request: which requests are slow, and which wait.

``read_path.py --worker-times`` asks for it.  The client sees each request's whole
latency: its wait in the worker's queue behind other requests, and its own work.
This splits the two.  ``bench_wsgi.py`` wraps the served application in
:class:`RequestTimes` when ``BENCH_WORKER_TIMES`` names a file.  Each worker then
appends one line per request to that file: pid, end time (epoch s), wall ms and
thread CPU ms spent inside the application, whether Flask ran (``1``) or
:class:`chounaikai.replay.ReplayPages` answered from a remembered page (``0``),
the client's port (one per keep-alive connection), method and path.  After the
run, :func:`print_report` summarizes the lines of the read path's measured window.

It is a diagnostic, not part of the app, and it costs something: each request
formats one line (about 10 µs), and every 2,000 lines a worker writes them out.
Compare figures from runs with the same flags.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stats import percentile

from chounaikai.replay import ReplayPages

ENV = "BENCH_WORKER_TIMES"
_RAN_KEY = "bench.flask_ran"
_FLUSH_EVERY = 2000


class _NoteFlaskRan:
    """Inside :class:`ReplayPages`: marks the requests it did not answer itself."""

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response):
        environ[_RAN_KEY] = True
        return self.app(environ, start_response)


def _note_flask_ran(flask_app: Any) -> None:
    """Find the replay layer among the Flask app's WSGI middlewares and wrap what is inside it."""
    layer = flask_app.wsgi_app
    while not isinstance(layer, ReplayPages):
        layer = getattr(layer, "app", None)  # ProxyFix keeps the wrapped app as .app
        if layer is None:
            raise RuntimeError("no ReplayPages layer in the app's wsgi_app chain")
    layer.wsgi_app = _NoteFlaskRan(layer.wsgi_app)


class RequestTimes:
    """WSGI middleware writing one line per request to ``path`` (see the module docstring).

    The response body is joined inside the timing, so a page's rendering counts even
    when it is produced lazily.  Lines are kept per process and appended in blocks;
    gunicorn's graceful stop runs ``atexit``, which writes the rest.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], flask_app: Any, path: str):
        self.app, self.path = app, path
        _note_flask_ran(flask_app)
        self.lines: list[str] = []
        self.lock = threading.Lock()
        atexit.register(self.flush)

    def flush(self) -> None:
        with self.lock:
            lines, self.lines = self.lines, []
        if lines:
            with open(self.path, "a", encoding="utf-8") as log:
                log.writelines(lines)  # one write per block: lines of two workers never mix

    def __call__(self, environ: dict[str, Any], start_response):
        # PATH_INFO before the dispatcher moves /bare into SCRIPT_NAME.
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        start, cpu = time.perf_counter(), time.thread_time()
        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        wall, cpu = time.perf_counter() - start, time.thread_time() - cpu
        ran = 1 if environ.get(_RAN_KEY) else 0
        line = (f"{os.getpid()} {time.time():.4f} {wall * 1000:.3f} {cpu * 1000:.3f} "
                f"{ran} {environ.get('REMOTE_PORT', '-')} {method} {path}\n")
        with self.lock:
            self.lines.append(line)
            full = len(self.lines) >= _FLUSH_EVERY
        if full:
            self.flush()
        return [body]


@dataclass(frozen=True)
class Line:
    pid: int
    end: float  # epoch seconds
    wall_ms: float
    cpu_ms: float
    flask_ran: bool
    client_port: str
    step: str


def read_lines(path: Path, window: tuple[float, float]) -> list[Line]:
    """The requests that ended inside ``window`` (epoch seconds)."""
    rows = []
    for text in path.read_text(encoding="utf-8").splitlines():
        pid, end, wall, cpu, ran, port, method, request_path = text.split(" ", 7)
        if window[0] <= float(end) <= window[1]:
            rows.append(Line(int(pid), float(end), float(wall), float(cpu), ran == "1", port,
                             step_of(method, request_path)))
    return rows


def step_of(method: str, path: str) -> str:
    if method == "POST" and path.endswith("/read"):
        return "read"
    if path.startswith("/a/"):
        return "list"
    if path.startswith("/circulars/"):
        return "open"
    if path.startswith("/bare"):
        return "bare"
    return "other"


def busy_by_slice(path: Path, window: tuple[float, float],
                  step: float) -> dict[int, tuple[float, float]]:
    """``{slice: (in the app, in Flask)}``: the workers' wall time spent in the app, and
    in Flask renders, per slice of ``step`` seconds from the window's start, as a
    fraction of all workers' time (a request counts in the slice it ended in)."""
    rows = read_lines(path, window) if path.exists() else []
    workers = len({row.pid for row in rows}) or 1
    busy: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in rows:
        sums = busy[int((row.end - window[0]) // step)]
        sums[0] += row.wall_ms
        if row.flask_ran:
            sums[1] += row.wall_ms
    span_ms = step * 1000 * workers
    return {index: (app / span_ms, flask / span_ms) for index, (app, flask) in busy.items()}


def print_report(path: Path, window: tuple[float, float], seconds: float) -> None:
    """The read path's measured window as the workers saw it."""
    rows = read_lines(path, window) if path.exists() else []
    if not rows:
        print("\n  inside the workers: no lines (did the workers stop gracefully?)")
        return
    groups: dict[tuple[str, bool], list[Line]] = defaultdict(list)
    for row in rows:
        groups[(row.step, row.flask_ran)].append(row)
    total_cpu = sum(row.cpu_ms for row in rows)
    print("\n  inside the workers, read-path window (time in the app, queue wait excluded):")
    # "off-CPU s": time in the app not on this thread's CPU (SQLite's write lock, I/O, the
    # other threads and processes on the same two cores); it stalls the worker all the same.
    print(f"    {'step':<5} {'answered by':<11} {'requests':>8} {'CPU p50':>8} {'wall p50':>8}"
          f" {'wall p99':>8} {'CPU s':>6} {'share':>6} {'off-CPU s':>9}")
    for step, ran in sorted(groups, key=lambda key: (key[0], not key[1])):
        values = groups[(step, ran)]
        walls = sorted(row.wall_ms for row in values)
        cpus = sorted(row.cpu_ms for row in values)
        print(f"    {step:<5} {'Flask' if ran else 'replay':<11} {len(values):>8} "
              f"{percentile(cpus, 0.5):>6.2f}ms {percentile(walls, 0.5):>6.2f}ms "
              f"{percentile(walls, 0.99):>6.2f}ms {sum(cpus) / 1000:>6.2f} "
              f"{sum(cpus) / total_cpu:>6.0%} {(sum(walls) - sum(cpus)) / 1000:>9.2f}")
    # Keep-alive connections stay with the worker that accepted them, for the whole run.
    print("    per worker (keep-alive connections stay where they were accepted):")
    for pid in sorted({row.pid for row in rows}):
        own = [row for row in rows if row.pid == pid]
        connections = len({row.client_port for row in own})
        renders = sum(1 for row in own if row.flask_ran)
        in_app = sum(row.wall_ms for row in own) / 1000 / seconds
        print(f"      pid {pid}: {connections} connections, {len(own)} requests "
              f"({renders} rendered by Flask), in the app {in_app:.0%} of the window")

#!/usr/bin/env python
"""Profile one resident's read path in-process (Flask test client, no server, no network).

    .venv/bin/python bench/profile_read_path.py [--iterations 300] [--database sqlite|postgresql]
        [--sort cumulative|tottime] [--queries]

Prints the mean time per request for list / open / mark read, the number of SQL
statements each request runs (``--queries``), and the cProfile top functions.
Uses the same seed as bench/read_path.py.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import read_path  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--limit", type=int, default=45)
    parser.add_argument("--queries", action="store_true", help="print the SQL of one iteration")
    parser.add_argument("--no-profile", action="store_true", help="only time (CPU ms/request)")
    parser.add_argument("--cold", action="store_true",
                        help="every resident reads every unread circular once (first reads, "
                             "first renders) instead of one resident repeating")
    parser.add_argument("--only", choices=("list", "open", "read"),
                        help="with --cold: profile only this request")
    args = parser.parse_args()

    from chounaikai import create_app

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url, drop = read_path.create_database(args.database, tmp, args.postgres_url)
        app = None
        try:
            seeded = read_path.migrate_and_seed(url, tmp)
            app = create_app({"DATABASE_URL": url, "SECRET_KEY": read_path.SECRET_KEY,
                              "UPLOAD_FOLDER": str(tmp), "LOGIN_RATE_LIMIT": "1000 per minute",
                              "PUSH_WORKER": "off"})
            aid = seeded.association_id
            if args.cold:
                profile_cold(app, seeded, args)
                return
            client = _logged_in(app, seeded.logins[7])
            statements: list[str] = []

            @event.listens_for(Engine, "before_cursor_execute")
            def _count(conn, cursor, statement, *rest):
                statements.append(statement)

            rng = random.Random(1)
            timings: dict[str, float] = Counter()
            counts: dict[str, int] = Counter()

            def iteration(profile_queries: bool = False):
                for label, call in (
                    ("list", lambda: client.get(f"/a/{aid}/circulars")),
                    ("open", lambda: client.get(f"/circulars/{cid[0]}")),
                    ("read", lambda: client.post(f"/circulars/{cid[0]}/read", headers={
                        "X-CSRFToken": csrf[0], "Accept": "application/json"})),
                ):
                    before = len(statements)
                    start = time.thread_time()  # CPU time: robust to other load on the machine
                    response = call()
                    timings[label] += time.thread_time() - start
                    assert response.status_code == 200, (label, response.status_code)
                    body = response.get_data(as_text=True)
                    counts[label] = len(statements) - before
                    if label == "list":
                        cid[0] = rng.choice(re.findall(r'href="/circulars/(\d+)"', body))
                    if label == "open":
                        csrf[0] = _META.search(body).group(1)
                    if profile_queries:
                        print(f"--- {label}: {len(statements) - before} statements")
                        for sql in statements[before:]:
                            print("   ", " ".join(sql.split())[:160])

            cid, csrf = [None], [None]
            for _ in range(20):
                iteration()
            if args.queries:
                iteration(profile_queries=True)
            timings.clear()
            profiler = cProfile.Profile()
            if not args.no_profile:
                profiler.enable()
            for _ in range(args.iterations):
                iteration()
            profiler.disable()
            mode = "CPU, unprofiled" if args.no_profile else "CPU, under cProfile"
            for label in ("list", "open", "read"):
                print(f"{label}: {timings[label] / args.iterations * 1000:.2f} ms/request "
                      f"({mode}), {counts[label]} SQL statements")
            if not args.no_profile:
                pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.limit)
        finally:
            if app is not None:
                from chounaikai.database import dispose_engines
                from chounaikai.live import counters
                counters.stop_thread(app)  # its next tick would find the database dropped
                dispose_engines(app)
            drop()


def _logged_in(app, login: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"login": login, "password": read_path.PASSWORD,
                                           "csrf_token": _META.search(page).group(1)})
    assert response.status_code == 302, response.status_code
    return client


def profile_cold(app, seeded, args) -> None:
    """Each resident in turn: list → open → read for every circular still unread to them.

    This is the bench's cold start (first reads, re-rendered lists) without the load.
    """
    clients = [_logged_in(app, login) for login in seeded.logins]
    aid = seeded.association_id
    timings: dict[str, float] = Counter()
    counts: dict[str, int] = Counter()
    statements: dict[str, int] = Counter()
    sql: list[str] = []

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(conn, cursor, statement, *rest):
        sql.append(statement)

    profiler = cProfile.Profile()

    def timed(label: str, client, method: str, url: str, **kwargs):
        profiling = not args.no_profile and args.only in (None, label)
        if profiling:
            profiler.enable()
        before, start = len(sql), time.thread_time()
        response = client.open(url, method=method, **kwargs)
        timings[label] += time.thread_time() - start
        if profiling:
            profiler.disable()
        counts[label] += 1
        statements[label] += len(sql) - before
        if args.queries and counts[label] == 2:  # the second: a page shown before, a first read
            print(f"--- {label}: {len(sql) - before} statements")
            for statement in sql[before:]:
                print("   ", " ".join(statement.split())[:160])
        assert response.status_code == 200, (label, response.status_code)
        return response.get_data(as_text=True)

    for client in clients:
        while True:
            inbox = timed("list", client, "GET", f"/a/{aid}/circulars")
            unread = re.findall(r'circular-item unread">\s*<a href="/circulars/(\d+)"', inbox)
            if not unread:
                break
            page = timed("open", client, "GET", f"/circulars/{unread[0]}")
            token = _META.search(page).group(1)
            timed("read", client, "POST", f"/circulars/{unread[0]}/read", headers={
                "X-CSRFToken": token, "Accept": "application/json"})
    for label in ("list", "open", "read"):
        n = max(counts[label], 1)
        print(f"{label}: {counts[label]} requests, {timings[label] / n * 1000:.2f} ms/request CPU, "
              f"{statements[label] / n:.1f} SQL statements/request")
    if not args.no_profile:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.limit)


if __name__ == "__main__":
    main()

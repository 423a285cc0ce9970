#!/usr/bin/env python
"""Disaster-portal benchmark: /portal, a CAP document and the Atom feed under 200 clients,
each beside a static file served by the same server in the same run.

During a disaster everyone opens the portal at once.  One gunicorn server
(bench/bench_wsgi.py, the same as bench/read_path.py) serves the app; this script

1. creates a fresh database (SQLite file, or PostgreSQL beside --postgres-url),
   migrates it and seeds the real Machida shelters (GSI files in tests/fixtures),
   a third of them open with counts, one Level 4 alert from the templates and one
   free-text alert;
2. starts gunicorn and waits for /healthz;
3. runs N closed-loop clients (default 200, keep-alive; no think time unless
   --think-ms, which makes it 200 people reloading now and then) against each
   endpoint in turn: the static file first (the server's ceiling for a response of
   similar size), then /portal (Accept-Encoding: gzip, as phones send), the Level 4
   alert's CAP document, and /alerts.atom;
4. prints requests/s, p50 and p99 per endpoint, the ratio to the static file, and
   whether p99 < 50 ms (the target on a 2-core machine).

The load generator shares the machine's cores with the server (see read_path.py).

    .venv/bin/python bench/portal.py [--clients 200 --duration 15 --database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import loadgen  # noqa: E402
from read_path import (  # noqa: E402
    SECRET_KEY,
    _cpu_model,
    _cpu_seconds,
    create_database,
    start_server,
    stop_server,
    wait_for_quiet_machine,
)
from stats import percentile  # noqa: E402

from tests import nginx_front as front  # noqa: E402

TARGET_P99_MS = 50.0
SHELTER_FILES = sorted((ROOT / "tests" / "fixtures" / "shelters").glob("gsi-machida-*.geojson"))


def seed(url: str) -> tuple[int, str]:
    """Shelters, statuses and two alerts; returns (Level 4 alert id, summary)."""
    os.environ["DATABASE_URL"] = url
    os.environ["CHOUNAIKAI_SECRET_KEY"] = SECRET_KEY
    from flask_migrate import upgrade

    from chounaikai import create_app
    from chounaikai.alerts import services as alerts
    from chounaikai.extensions import db
    from chounaikai.models import AlertKind, Congestion, GlobalRole, Shelter, User, utcnow
    from chounaikai.shelters.importers import import_files

    app = create_app({"PUSH_WORKER": "off"})
    with app.app_context():
        upgrade()
        result = import_files(SHELTER_FILES)
        shelters = list(db.session.scalars(db.select(Shelter).order_by(Shelter.id)))
        steps = list(Congestion)
        for index, shelter in enumerate(shelters):
            if index % 3 == 0:
                shelter.is_open, shelter.congestion = True, steps[index % len(steps)]
                shelter.evacuees, shelter.status_updated_at = index * 7, utcnow()
        staff = User(login_id="bench-staff", display_name="bench", global_role=GlobalRole.STAFF,
                     password_hash="x")
        db.session.add(staff)
        db.session.commit()
        with app.test_request_context("/staff/alerts/", method="POST"):
            level4 = alerts.issue(actor=db.session.get(User, staff.id), draft=alerts.AlertDraft(
                kind=AlertKind.LEVEL4, hazard=alerts.Hazard.FLOOD))
            alerts.issue(actor=db.session.get(User, staff.id), draft=alerts.AlertDraft(
                kind=AlertKind.FREE, hazard=None, headline="土砂災害に注意してください",
                description="山沿いの地域では土砂災害に注意してください。",
                instruction="危険を感じたら早めに避難してください。"))
            alert_id = level4.id
            db.session.commit()
        summary = (f"{len(shelters)} shelters from {len(SHELTER_FILES)} GSI files "
                   f"({result.created} created), {sum(1 for s in shelters if s.is_open)} open;"
                   " 2 active alerts")
        db.engine.dispose()
    return alert_id, summary


@dataclass
class Result:
    name: str
    path: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    bytes_per_response: int = 0
    server_cpu: float = 0.0
    seconds: float = 0.0


async def run(server_url: str, result: Result, args, headers: dict[str, str],
              server_pids: list[int]) -> None:
    if args.wait_idle:
        wait_for_quiet_machine(args.wait_idle)
    host, port = urlsplit(server_url).hostname, urlsplit(server_url).port
    start = time.perf_counter()
    window = (start + args.warmup, start + args.warmup + args.duration)

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        connection = loadgen.Connection(host, port)
        try:
            while time.perf_counter() < window[1]:
                began = time.perf_counter()
                try:
                    response = await connection.request("GET", result.path, headers)
                    status, body = response.status, response.body
                except OSError:
                    status, body = -1, b""
                ended = time.perf_counter()
                if window[0] <= ended <= window[1]:
                    if status == 200:
                        result.latencies.append(ended - began)
                        result.bytes_per_response = len(body)
                    else:
                        result.errors += 1
                if args.think_ms:
                    await asyncio.sleep(rng.expovariate(1000 / args.think_ms))
        finally:
            await connection.close()

    async def cpu() -> None:
        await asyncio.sleep(max(0.0, window[0] - time.perf_counter()))
        before = sum(_cpu_seconds(pid) for pid in server_pids)
        await asyncio.sleep(max(0.0, window[1] - time.perf_counter()))
        result.server_cpu = sum(_cpu_seconds(pid) for pid in server_pids) - before

    await asyncio.gather(cpu(), *(client(i) for i in range(args.clients)))
    result.seconds = args.duration


def endpoints(alert_id: int) -> list[Result]:
    # The static file runs first and last (the baseline is their total), so warm-up
    # effects and drift fall on both sides of the comparison.
    return [Result("static file", "/static/css/app.css"),
            Result("portal", "/portal"),
            Result("CAP document", f"/alerts/{alert_id}/cap.xml"),
            Result("Atom feed", "/alerts.atom"),
            Result("static file (again)", "/static/css/app.css")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "CHOUNAIKAI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--front", choices=("auto", "none", "nginx"), default="auto",
                        help="also measure through nginx (docs/deploy/nginx.conf); "
                             "auto = when nginx is installed")
    parser.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="mean pause after each response (exponential): 0 = saturate; "
                             "1000 = 200 people each reloading about once a second")
    args = parser.parse_args()
    args.http_slots, args.worker_times_log = 0, None  # read_path.start_server's experiments: off
    use_front = args.front == "nginx" or (args.front == "auto" and front.nginx_binary())
    headers = {"Accept-Encoding": "gzip", "Accept-Language": "ja"}

    setups: list[Setup] = []
    with tempfile.TemporaryDirectory(prefix="chounaikai-portal-bench-") as tmp_name:
        tmp = Path(tmp_name)
        url, drop = create_database(args.database, tmp, args.postgres_url)
        try:
            alert_id, summary = seed(url)
            server = start_server(args, url, tmp, proxy_hops=1 if use_front else 0)
            try:
                direct = Setup("gunicorn alone", shlex.join(server.command[1:]),
                               endpoints(alert_id))
                setups.append(direct)
                for result in direct.results:
                    loadgen.run(run(server.url, result, args, headers, [server.process.pid]))
                if use_front:
                    proxy = front.start(server.url, tmp)
                    try:
                        behind = Setup("nginx in front (docs/deploy/nginx.conf)",
                                       shlex.join(proxy.command), endpoints(alert_id))
                        setups.append(behind)
                        for result in behind.results:
                            loadgen.run(run(proxy.url, result, args, headers,
                                            [server.process.pid, proxy.process.pid]))
                    finally:
                        front.stop(proxy)
            finally:
                stop_server(server)
        finally:
            drop()
    return report(args, summary, setups)


@dataclass
class Setup:
    name: str
    command: str
    results: list[Result]


def report(args, summary: str, setups: list[Setup]) -> int:
    cores = os.cpu_count() or 1
    print()
    print("chounaikai disaster-portal benchmark")
    print(f"  command  : {shlex.join([sys.executable, *sys.argv])}")
    print(f"  machine  : nproc={cores}, CPU: {_cpu_model()}")
    print(f"  database : {args.database}: {summary}")
    think = f"think time {args.think_ms:g} ms (exponential)" if args.think_ms else \
        "no think time (saturating)"
    print(f"  clients  : {args.clients} closed-loop, keep-alive, {think}; warm-up "
          f"{args.warmup:g}s then {args.duration:g}s measured per endpoint")
    for setup in setups:
        print()
        print(f"  {setup.name}")
        print(f"    {setup.command}")
        print(f"  {'endpoint':<28} {'bytes':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'vs static':>9} {'errors':>6} {'server CPU':>10}")
        statics = [r for r in setup.results if r.path.startswith("/static/")]
        baseline = sum(len(r.latencies) for r in statics) / sum(r.seconds for r in statics)
        ok = True
        for result in setup.results:
            values = sorted(result.latencies)
            rps = len(values) / result.seconds if result.seconds else 0.0
            p99 = percentile(values, 0.99) * 1000
            if result not in statics:
                ok = ok and p99 < TARGET_P99_MS and result.errors == 0
            print(f"  {result.name + ' ' + result.path:<28.28} {result.bytes_per_response:>7} "
                  f"{rps:>8.1f} {percentile(values, 0.5) * 1000:>8.1f} {p99:>8.1f} "
                  f"{rps / baseline if baseline else 0:>9.2f} {result.errors:>6} "
                  f"{result.server_cpu / (result.seconds * cores) if result.seconds else 0:>10.0%}")
        print(f"  target: p99 < {TARGET_P99_MS:.0f} ms for portal, CAP and Atom: "
              f"{'met' if ok else 'MISSED'}")
    print()
    print("  server CPU: the server's processes (gunicorn; with the front, nginx too);")
    print("  the rest of the machine is mostly this script's load generator.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

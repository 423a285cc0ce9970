#!/usr/bin/env python
"""Live-update capacity: how many Socket.IO clients one server process holds, and how fast
an event fans out to all of them.

In one run this script

1. creates a temporary SQLite database (or ``--database-url``), migrates it and seeds one
   association with one resident, one circular and N block leaders (so every client may
   join the same ``leaders:<id>`` room), each with an API token;
2. starts the production shape: ``gunicorn -k gthread`` (``--workers``, threads sized for
   the clients), ``REDIS_URL`` as the message queue on a channel of its own (``--no-redis``
   for the embedded single-process mode);
3. opens python-socketio ``AsyncClient``s (websocket transport, bearer token in ``auth``)
   in steps (``--steps 100,250,500,1000``), each joining the leaders' room;
4. at every step measures ``--events`` fan-outs, one at a time:
   * ``http``: ``POST /api/v1/circulars/<id>/read`` by the resident → the receipt hook
     records the event, commits, announces → every client; latency = arrival − request
     start (it includes the request itself and the counting);
   * ``queue`` (with Redis): a write-only emitter in this process publishes an event
     stamped with its send time (the path a worker uses); latency = arrival − send;
5. prints per step: clients connected, connect time, delivered/expected, p50/p95/max
   latency per path, and the server's threads, RSS and CPU.

The clients run in this process on the same 2 cores as the server, so the figures are a
floor for the server alone.  A step counts as held when every event reached every client
and the p95 stays under ``--target-p95-ms`` (default 1000 ms).

    .venv/bin/python bench/live_connections.py [--steps 100,250,500,1000] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import socketio  # noqa: E402

SECRET_KEY = "bench-secret-key-" + uuid.uuid4().hex
CONNECT_CONCURRENCY = 50


# --------------------------------------------------------------------------- data

def migrate_and_seed(url: str, upload_folder: Path, clients: int) -> dict:
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from chounaikai import create_app
    from chounaikai.auth.passwords import hash_password
    from chounaikai.auth.sessions import token_digest
    from chounaikai.circulars.rendering import render_markdown
    from chounaikai.codes import new_code
    from chounaikai.extensions import db
    from chounaikai.models import (
        ApiToken,
        Association,
        Block,
        Circular,
        Household,
        MemberRole,
        Membership,
        User,
    )

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY,
                      "UPLOAD_FOLDER": str(upload_folder), "REDIS_URL": None})
    with app.app_context():
        upgrade()
        password = hash_password(secrets.token_urlsafe(16))
        association = Association(name="原町田一丁目町内会", district="原町田")
        association.blocks = [Block(name=f"{i}班") for i in range(1, 9)]
        db.session.add(association)
        db.session.flush()
        blocks = association.blocks
        people = clients + 1  # block leaders + one resident
        household_ids = list(db.session.scalars(
            insert(Household).returning(Household.id, sort_by_parameter_order=True),
            [{"association_id": association.id, "block_id": blocks[i % len(blocks)].id,
              "name": f"世帯{i}", "join_code": new_code(12), "has_smartphone": True}
             for i in range(people)]))
        user_ids = list(db.session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [{"login_id": f"bench-{i}", "display_name": f"会員{i}", "password_hash": password,
              "session_version": 1} for i in range(people)]))
        db.session.execute(insert(Membership), [
            {"user_id": uid, "association_id": association.id, "household_id": hid,
             "role": MemberRole.RESIDENT if i == 0 else MemberRole.BLOCK_LEADER}
            for i, (uid, hid) in enumerate(zip(user_ids, household_ids, strict=True))])
        tokens = ["cnk_" + secrets.token_urlsafe(32) for _ in user_ids]
        db.session.execute(insert(ApiToken), [
            {"user_id": uid, "token_hash": token_digest(tok), "name": "bench",
             "session_version": 1} for uid, tok in zip(user_ids, tokens, strict=True)])
        circular = Circular(association_id=association.id, title="防災訓練のお知らせ",
                            body_md="訓練です。", body_html=render_markdown("訓練です。"))
        db.session.add(circular)
        db.session.commit()
        seeded = {"association_id": association.id, "circular_id": circular.id,
                  "resident_token": tokens[0], "leader_tokens": tokens[1:]}
        db.engine.dispose()
    return seeded


# --------------------------------------------------------------------------- server

def start_server(args, database_url: str, redis_url: str | None, channel: str,
                 tmp: Path) -> tuple[subprocess.Popen, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url, "CHOUNAIKAI_SECRET_KEY": SECRET_KEY,
           "CHOUNAIKAI_ENV": "bench", "CHOUNAIKAI_LIVE_CHANNEL": channel,
           "PYTHONUNBUFFERED": "1"}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    per_worker = -(-max(args.step_list) // args.workers)
    threads = per_worker + 32  # a thread per websocket, plus room for HTTP requests
    command = [sys.executable, "-m", "gunicorn", "--workers", str(args.workers),
               "--worker-class", "gthread", "--threads", str(threads),
               "--worker-connections", str(threads + 100), "--backlog", "4096",
               "--bind", f"fd://{sock.fileno()}", "--timeout", "120",
               "--log-level", "warning", "wsgi:app"]
    log = open(tmp / "gunicorn.log", "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               pass_fds=(sock.fileno(),), start_new_session=True)
    sock.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit((tmp / "gunicorn.log").read_text())
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                print(f"server: {' '.join(command[2:-6])} … wsgi:app", flush=True)
                return process, url
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def server_stats(master: int) -> dict[str, float]:
    """Threads, RSS (MiB) and CPU seconds of the gunicorn master and its workers."""
    pids = [master]
    children = Path(f"/proc/{master}/task/{master}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    threads = rss = cpu = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("Threads:"):
                threads += int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss += int(line.split()[1]) / 1024
        cpu += (int(stat[11]) + int(stat[12])) / tick
    return {"threads": threads, "rss": rss, "cpu": cpu}


def machine_busy() -> float:
    """Busy CPU seconds of all cores so far (/proc/stat): others' load shows up here."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- clients

class Ear:
    """One python-socketio client in the leaders' room, noting when each event arrives."""

    def __init__(self, arrivals: dict[str, list[float]]) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.arrivals = arrivals
        self.client.on("live", self._on_live)

    async def _on_live(self, envelope) -> None:
        now = time.time()
        data = envelope.get("data") or {}
        key = data.get("bench_id") or f"seq:{envelope.get('seq')}"
        self.arrivals.setdefault(key, []).append(now)
        if "sent_at" in data:
            self.arrivals.setdefault("sent:" + key, [data["sent_at"]])


async def open_clients(url: str, tokens: list[str], room: str,
                       arrivals: dict[str, list[float]]) -> tuple[list[Ear], float, int]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    ears = [Ear(arrivals) for _ in tokens]
    failures = 0

    async def one(ear: Ear, token: str) -> None:
        nonlocal failures
        async with gate:
            try:
                await ear.client.connect(url, auth={"token": token}, transports=["websocket"],
                                         wait_timeout=30)
                answer = await ear.client.call("join", {"room": room}, timeout=30)
                if not answer.get("ok"):
                    failures += 1
            except Exception:  # noqa: BLE001 - counted and reported
                failures += 1

    started = time.monotonic()
    await asyncio.gather(*(one(e, t) for e, t in zip(ears, tokens, strict=True)))
    return ears, time.monotonic() - started, failures


async def fan_out(kind: str, trigger, arrivals: dict[str, list[float]], expected: int,
                  timeout: float = 15) -> list[float]:
    """Fire one event and wait until ``expected`` clients have it; latencies in ms."""
    key, started = await trigger()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(arrivals.get(key, [])) >= expected:
            break
        await asyncio.sleep(0.01)
    if kind == "queue":
        started = arrivals.get("sent:" + key, [started])[0]
    return [(t - started) * 1000 for t in arrivals.get(key, [])]


def summary(latencies: list[float], expected: int) -> str:
    if not latencies:
        return f"0/{expected} delivered"
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return (f"{len(latencies)}/{expected} delivered, p50 {statistics.median(ordered):.0f} ms, "
            f"p95 {p95:.0f} ms, max {ordered[-1]:.0f} ms")


async def run(args, url: str, seeded: dict, redis_url: str | None, channel: str,
              master: int) -> list[dict]:
    from chounaikai.live.service import write_only_emitter

    room = f"leaders:{seeded['association_id']}"
    arrivals: dict[str, list[float]] = {}
    ears: list[Ear] = []
    results = []
    emitter = write_only_emitter(redis_url, channel) if redis_url else None
    async with aiohttp.ClientSession() as http:
        async def http_trigger():
            # The next event's seq is not known before the commit: key by the response's
            # seq-independent marker instead, the read's own request count.
            before = set(arrivals)
            started = time.time()
            async with http.post(f"{url}/api/v1/circulars/{seeded['circular_id']}/read",
                                 headers={"Authorization":
                                          f"Bearer {seeded['resident_token']}"}) as response:
                await response.read()
                assert response.status == 200, response.status
            for _ in range(500):
                new = [k for k in arrivals if k not in before and k.startswith("seq:")]
                if new:
                    return new[0], started
                await asyncio.sleep(0.01)
            return "seq:none", started

        async def queue_trigger():
            bench_id = uuid.uuid4().hex
            envelope = {"seq": 0, "prev": None, "room": room, "kind": "bench",
                        "data": {"bench_id": bench_id, "sent_at": time.time()}, "at": ""}
            await asyncio.to_thread(emitter.emit, "live", envelope, to=room, namespace="/")
            return bench_id, time.time()

        for step in args.step_list:
            more = seeded["leader_tokens"][len(ears):step]
            new_ears, took, failures = await open_clients(url, more, room, arrivals)
            ears += new_ears
            connected = sum(1 for e in ears if e.client.connected)
            await asyncio.sleep(1)
            cpu_before = server_stats(master)["cpu"]
            client_before = time.process_time()
            machine_before = machine_busy()
            wall = time.monotonic()
            http_latencies: list[float] = []
            queue_latencies: list[float] = []
            for _ in range(args.events):
                http_latencies += await fan_out("http", http_trigger, arrivals, connected)
                if emitter is not None:
                    queue_latencies += await fan_out("queue", queue_trigger, arrivals, connected)
                await asyncio.sleep(args.pause)
            stats = server_stats(master)
            elapsed = time.monotonic() - wall
            busy = (stats["cpu"] - cpu_before) / elapsed
            client = (time.process_time() - client_before) / elapsed
            machine = (machine_busy() - machine_before) / elapsed
            alive = sum(1 for e in ears if e.client.connected)
            result = {"step": step, "connected": connected, "alive": alive, "failures": failures,
                      "connect_s": took, "http": http_latencies, "queue": queue_latencies,
                      **stats, "busy": busy}
            results.append(result)
            print(f"\n{step:>5} clients: {connected} connected ({failures} failed) in "
                  f"{took:.1f} s, {alive} still connected after the fan-outs; "
                  f"server {stats['threads']:.0f} threads, "
                  f"{stats['rss']:.0f} MiB RSS", flush=True)
            print(f"       CPU during fan-out (cores): server {busy:.2f}, these clients "
                  f"{client:.2f}, whole machine {machine:.2f} of {os.cpu_count()}; "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)
            print(f"       http  → all: {summary(http_latencies, connected * args.events)}",
                  flush=True)
            if emitter is not None:
                print(f"       queue → all: {summary(queue_latencies, connected * args.events)}",
                      flush=True)
        await asyncio.gather(*(e.client.disconnect() for e in ears), return_exceptions=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="100,250,500,1000",
                        help="client counts to measure at (cumulative)")
    parser.add_argument("--events", type=int, default=10, help="fan-outs per path and step")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between fan-outs")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL",
                                                              "redis://127.0.0.1:6379/0"))
    parser.add_argument("--no-redis", action="store_true", help="no message queue")
    parser.add_argument("--target-p95-ms", type=float, default=1000.0)
    args = parser.parse_args()
    args.step_list = [int(s) for s in args.steps.split(",")]

    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
    logging.getLogger("socketio.client").setLevel(logging.CRITICAL)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    redis_url = None if args.no_redis else args.redis_url
    channel = f"chounaikai-live-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="live-bench-") as tmp_name:
        tmp = Path(tmp_name)
        database_url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
        print(f"seeding {max(args.step_list)} block leaders + 1 resident …", flush=True)
        seeded = migrate_and_seed(database_url, tmp / "uploads", max(args.step_list))
        print(f"message queue: {redis_url or 'none (single process)'}; "
              f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}", flush=True)
        process, url = start_server(args, database_url, redis_url, channel, tmp)
        try:
            results = asyncio.run(run(args, url, seeded, redis_url, channel, process.pid))
        finally:
            stop_server(process)
        log = (tmp / "gunicorn.log").read_text(errors="replace").strip()
        if log:  # warnings and errors only (--log-level warning)
            print("\nserver log (last lines):\n" + "\n".join(log.splitlines()[-30:]))

    print("\nsummary (held = every event reached every client, p95 within "
          f"{args.target_p95_ms:.0f} ms):")
    for r in results:
        expected = r["connected"] * args.events
        ok = (r["connected"] == r["alive"] == r["step"] and len(r["http"]) == expected
              and (not r["queue"] or len(r["queue"]) == expected))
        p95s = [sorted(x)[int(round(0.95 * (len(x) - 1)))] for x in (r["http"], r["queue"]) if x]
        held = ok and all(p <= args.target_p95_ms for p in p95s)
        print(f"  {r['step']:>5} clients on {args.workers} worker(s): "
              f"{'held' if held else 'NOT held'}; p95 "
              + " / ".join(f"{p:.0f} ms" for p in p95s) + " (http / queue)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Read-path benchmark: residents list → open → mark read, beside a bare Flask endpoint.

One gunicorn server (bench/bench_wsgi.py) serves both ``/bare/`` (a minimal Flask
app) and chounaikai, with the same workers and threads.  In one run this script

1. creates a temporary database (SQLite file, or a fresh PostgreSQL database),
   migrates it with Alembic and seeds one association (30 households, 100
   residents, 20 published circulars + 2 scheduled, about half already read);
2. starts gunicorn on a socket it binds itself and waits for /healthz;
3. logs every simulated resident in once through the real ``POST /login`` form
   (CSRF token from the page's ``<meta name="csrf-token">``);
4. runs N closed-loop clients (no think time) against ``GET /bare/`` for the
   warm-up + duration, then against the read path for warm-up + duration;
   one read-path iteration is GET /a/<aid>/circulars → GET /circulars/<cid> →
   POST /circulars/<cid>/read (fetch-style: X-CSRFToken header, Accept JSON) when the
   page asks for it, as its script does (``--post always``: on every open);
5. prints requests/s, p50 and p99 per phase (every HTTP request counts), their
   ratio, the first reads written inside the window, and CPU used by the server
   and by this load generator.

The load generator (this process: asyncio on uvloop with bench/loadgen.py's lean
keep-alive client, as bench/portal.py uses) runs on the same 2 cores as
the server, so both figures are lower than the server alone could do; the CPU
columns show how much of the machine each side used.

    .venv/bin/python bench/read_path.py [--clients 100 --duration 20 --database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import loadgen  # noqa: E402  (bench/, on sys.path as the script's directory)
import worker_times  # noqa: E402
from stats import percentile  # noqa: E402

PASSWORD = "bench-password-1"
SECRET_KEY = "bench-secret-key-" + uuid.uuid4().hex
TARGET_RATIO = 0.50
TARGET_P99_MS = 100.0
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_CIRCULAR_LINK = re.compile(r'href="/circulars/(\d+)"')


# --------------------------------------------------------------------------- database

def _postgres_admin_url(url: str):
    from sqlalchemy import make_url

    from chounaikai.config import normalize_database_url

    return make_url(normalize_database_url(url))


def create_database(kind: str, tmp: Path, postgres_url: str) -> tuple[str, callable]:
    """Return (url, drop) for a fresh, empty database."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.sqlite3'}", lambda: None
    from sqlalchemy import create_engine, text

    admin_url = _postgres_admin_url(postgres_url)
    name = f"chounaikai_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
            "吉田", "山田", "佐々木", "山口", "松本", "井上", "木村", "林", "清水", "山崎",
            "阿部", "森", "池田", "橋本", "石川", "前田", "小川", "藤田", "岡田", "後藤"]
GIVEN = ["太郎", "花子", "健一", "美咲", "翔太", "陽菜", "大輔", "さくら", "誠", "由美"]
TOPICS = ["防災訓練", "ごみ集積所の清掃当番", "夏祭りの準備", "防犯パトロール", "資源回収",
          "町内会費の集金", "公園の草刈り", "敬老会", "回覧板の電子化", "夜警への協力",
          "子ども会の行事", "道路工事のお知らせ", "献血のお願い", "防災倉庫の点検",
          "避難所運営訓練", "街路灯の修理", "新年会", "総会の開催", "集会所の利用",
          "花壇の植え替え"]


def _body(topic: str, rng: random.Random) -> str:
    paragraphs = [
        f"## {topic}について\n\n{topic}を下記のとおり行います。ご協力をお願いします。",
        f"- 日時: {rng.randint(1, 12)}月{rng.randint(1, 28)}日（日）{rng.randint(8, 10)}時から\n"
        f"- 場所: 町田第一小学校 校庭\n- 持ち物: 飲み物、タオル、軍手",
        "雨天の場合は中止します。中止の場合は、この回覧で**前日の18時まで**にお知らせします。",
        "ご不明な点は、各班の班長または会長までお問い合わせください。" * rng.randint(1, 3),
    ]
    return "\n\n".join(paragraphs)


@dataclass
class Seeded:
    association_id: int
    logins: list[str]
    summary: str


def migrate_and_seed(url: str, upload_folder: Path) -> Seeded:
    """Alembic upgrade, then realistic data for one association."""
    from flask_migrate import upgrade

    from chounaikai import create_app
    from chounaikai.auth.passwords import hash_password
    from chounaikai.circulars.rendering import render_markdown
    from chounaikai.codes import new_code
    from chounaikai.extensions import db
    from chounaikai.models import (
        Association,
        Block,
        Circular,
        Household,
        MemberRole,
        Membership,
        Receipt,
        User,
        utcnow,
    )

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "PUSH_WORKER": "off",
                      "UPLOAD_FOLDER": str(upload_folder)})
    rng = random.Random(20240601)
    with app.app_context():
        upgrade()
        password_hash = hash_password(PASSWORD)  # argon2 once; every resident shares it
        association = Association(name="原町田一丁目町内会", district="原町田")
        association.blocks = [Block(name=f"{i}班") for i in range(1, 5)]
        db.session.add(association)
        db.session.flush()
        blocks = association.blocks
        households = [Household(association_id=association.id, block=blocks[i % len(blocks)],
                                name=f"{SURNAMES[i]}家", join_code=new_code(10))
                      for i in range(30)]
        db.session.add_all(households)
        db.session.flush()
        leader = User(login_id="bench-leader", display_name="会長 佐藤",
                      password_hash=password_hash)
        db.session.add(Membership(user=leader, association_id=association.id,
                                  household=households[0], role=MemberRole.LEADER))
        residents: list[tuple[User, Household]] = []
        for i in range(100):
            household = households[i] if i < 30 else rng.choice(households)
            user = User(login_id=f"bench-resident-{i:03d}",
                        display_name=f"{household.name[:-1]} {rng.choice(GIVEN)}",
                        email=f"resident{i}@example.test", password_hash=password_hash)
            db.session.add(Membership(user=user, association_id=association.id,
                                      household=household, role=MemberRole.RESIDENT))
            residents.append((user, household))
        now = utcnow()
        circulars = []
        for i, topic in enumerate(TOPICS):
            targeted = i % 5 == 3  # 4 of 20 go to two blocks only
            body = _body(topic, rng)
            circular = Circular(
                association_id=association.id, author=leader, title=f"{topic}のお知らせ",
                body_md=body, body_html=render_markdown(body), audience_all=not targeted,
                blocks=rng.sample(blocks, 2) if targeted else [],
                publish_at=now - timedelta(days=3 * (len(TOPICS) - i), hours=rng.randint(0, 12)),
                deadline_at=now + timedelta(days=rng.randint(3, 30)) if i % 4 == 0 else None,
                ack_required=i % 3 == 0,
                corrected_at=now - timedelta(days=1) if i in (5, 12) else None,
                revision=2 if i in (5, 12) else 1)
            circulars.append(circular)
        for i in range(2):  # scheduled, not visible to residents yet
            body = _body("来月の予定", rng)
            circulars.append(Circular(
                association_id=association.id, author=leader, title=f"来月の予定 {i + 1}",
                body_md=body, body_html=render_markdown(body),
                publish_at=now + timedelta(days=7 + i)))
        db.session.add_all(circulars)
        db.session.flush()
        receipts = 0
        for user, household in residents:
            for circular in circulars[:20]:
                reaches = circular.audience_all or household.block in circular.blocks
                if reaches and rng.random() < 0.5:
                    acked = circular.ack_required and rng.random() < 0.5
                    db.session.add(Receipt(circular_id=circular.id, user_id=user.id,
                                           household_id=household.id,
                                           read_at=now - timedelta(hours=rng.randint(1, 48)),
                                           acknowledged_at=now if acked else None))
                    receipts += 1
        db.session.commit()
        summary = (f"1 association, {len(blocks)} blocks, {len(households)} households, "
                   f"{len(residents)} residents + 1 leader, {len(TOPICS)} published + 2 scheduled "
                   f"circulars ({sum(1 for c in circulars[:20] if not c.audience_all)} for "
                   f"some blocks only), {receipts} receipts already recorded")
        seeded = Seeded(association.id, [u.login_id for u, _ in residents], summary)
        db.engine.dispose()
    return seeded


# --------------------------------------------------------------------------- server

@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log_path: Path
    command: list[str]


def start_server(args, url: str, tmp: Path, proxy_hops: int = 0) -> Server:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    port = sock.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CHOUNAIKAI_SECRET_KEY": SECRET_KEY,
        "CHOUNAIKAI_ENV": "bench",  # not production: cookies without Secure over plain HTTP
        # 100 residents log in from one address; the real limit stays in force elsewhere.
        "CHOUNAIKAI_LOGIN_RATE_LIMIT": "100000 per minute",
        "BENCH_UPLOAD_FOLDER": str(tmp / "uploads"),
        # Web Push delivery is not on the read path (and needs a VAPID key outside dev).
        "CHOUNAIKAI_PUSH_WORKER": "off",
        "CHOUNAIKAI_PROXY_HOPS": str(proxy_hops),  # 1 behind bench/front.py's nginx
        "BENCH_HTTP_SLOTS": str(args.http_slots or ""),
        worker_times.ENV: str(args.worker_times_log or ""),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench")]),
    }
    env.pop("REDIS_URL", None)
    command = [
        sys.executable, "-m", "gunicorn",
        "--workers", str(args.workers), "--worker-class", "gthread",
        "--threads", str(args.threads), "--bind", f"fd://{sock.fileno()}",
        "--backlog", "2048", "--keep-alive", "600", "--timeout", "120",
        "--log-level", "warning", "bench_wsgi:application",
    ]
    log_path = tmp / "gunicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, pass_fds=(sock.fileno(),),
                                   start_new_session=True)
    sock.close()
    server = Server(process, f"http://127.0.0.1:{port}", log_path, command)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    stop_server(server)
    raise SystemExit(f"gunicorn did not answer /healthz:\n{log_path.read_text()}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=5)


def _machine_cpu() -> tuple[float, float]:
    """(busy, irq + softirq) CPU seconds of all cores so far, from /proc/stat.

    Loopback networking is partly accounted as softirq, to no process.
    """
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / tick, (fields[5] + fields[6]) / tick


def _machine_busy_seconds() -> float:
    return _machine_cpu()[0]


def wait_for_quiet_machine(max_wait: float, threshold: float = 0.15) -> float:
    """Wait (up to ``max_wait`` s) until the machine is below ``threshold`` busy for 2 s.

    Returns the busy share of the last sample.  Others' test runs on a shared machine
    would otherwise skew the figures; the report shows the share of other processes.
    """
    cores = os.cpu_count() or 1
    deadline = time.monotonic() + max_wait
    while True:
        before = _machine_busy_seconds()
        time.sleep(2)
        busy = (_machine_busy_seconds() - before) / (2 * cores)
        if busy < threshold or time.monotonic() >= deadline:
            return busy


def _cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its live children (the gunicorn workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# --------------------------------------------------------------------------- load

@dataclass
class Phase:
    name: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    machine_cpu: float = 0.0
    irq_cpu: float = 0.0
    receipts_written: int = 0  # first reads (the only writes) inside the measured window
    recounts: int = 0  # leaders' counter events (one per recount of a circular) in the window
    window_epoch: tuple[float, float] = (0.0, 0.0)  # the window in time.time(), for workers' lines
    # (completion time, latency, label) of every measured request, for --timeline
    completions: list[tuple[float, float, str]] = field(default_factory=list)

    def all_latencies(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]


class Resident:
    def __init__(self, base_url: str, login_id: str):
        self.login_id = login_id
        url = urlsplit(base_url)
        # One keep-alive connection and cookie jar, like a browser tab.
        self.http = loadgen.CookieClient(url.hostname, url.port)

    async def login(self) -> None:
        page = (await self.http.request("GET", "/login")).body.decode()
        token = _META.search(page).group(1)
        form = urlencode({"login": self.login_id, "password": PASSWORD, "csrf_token": token})
        response = await self.http.request(
            "POST", "/login", {"Content-Type": "application/x-www-form-urlencoded"},
            form.encode())
        if response.status != 302:
            raise SystemExit(f"login of {self.login_id} failed: {response.status}")

    async def close(self) -> None:
        await self.http.close()


# What aiohttp's client sent by default until 7 Dec 2026, so that the server's work per
# request stayed the same when the load generator changed.
_AIOHTTP_DEFAULT_HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate",
                    "User-Agent": "chounaikai-bench"}


async def _timed(http: loadgen.CookieClient, phase: Phase, label: str,
                 window: tuple[float, float], method: str, path: str,
                 headers: dict[str, str] | None = None) -> str | None:
    start = time.perf_counter()
    try:
        response = await http.request(method, path, {**_AIOHTTP_DEFAULT_HEADERS, **(headers or {})})
        raw = response.body
        if response.headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        body, status = raw.decode(), response.status
    except loadgen.HTTPError as error:
        body, status = repr(error), -1
    end = time.perf_counter()
    measured = window[0] <= end <= window[1]
    if status != 200:
        if measured:
            phase.errors[label] += 1
            if len(phase.error_samples) < 5:
                phase.error_samples.append(f"{label} {path} → {status}: {body[:120]!r}")
        return None
    if measured:
        phase.latencies[label].append(end - start)
        phase.completions.append((end - window[0], end - start, label))
    return body


async def _think(rng: random.Random, think_s: float) -> None:
    if think_s > 0:
        await asyncio.sleep(rng.expovariate(1 / think_s))


async def bare_loop(resident: Resident, phase: Phase, window: tuple[float, float],
                    rng: random.Random, think_s: float) -> None:
    while time.perf_counter() < window[1]:
        await _timed(resident.http, phase, "GET /bare/", window, "GET", "/bare/")
        await _think(rng, think_s)


_READ_URL = re.compile(r'data-read-url="([^"]*)"')


async def read_loop(resident: Resident, phase: Phase, window: tuple[float, float],
                    rng: random.Random, think_s: float, association_id: int,
                    post: str = "page") -> None:
    """One resident: list → open a circular from it → mark it read.

    ``post`` "page" sends the read POST when the page asks for it, as its script does
    (``data-read-url`` is set only while the circular is unread); "always" sends it on
    every open, as if every open were retried; "never" leaves it out.
    """
    while time.perf_counter() < window[1]:
        inbox = await _timed(resident.http, phase, "list  GET /a/<aid>/circulars", window,
                             "GET", f"/a/{association_id}/circulars")
        if inbox is None:
            continue
        ids = _CIRCULAR_LINK.findall(inbox)
        if not ids:
            raise SystemExit(f"{resident.login_id} sees no circulars")
        cid = rng.choice(ids)
        page = await _timed(resident.http, phase, "open  GET /circulars/<cid>", window,
                            "GET", f"/circulars/{cid}")
        if page is None:
            continue
        read_url = _READ_URL.search(page)
        if post == "always" or (post == "page" and read_url and read_url.group(1)):
            token = _META.search(page).group(1)
            await _timed(resident.http, phase, "read  POST /circulars/<cid>/read", window,
                         "POST", f"/circulars/{cid}/read",
                         headers={"X-CSRFToken": token, "Accept": "application/json"})
        await _think(rng, think_s)


def _written(database_url: str) -> tuple[int, int]:
    """(receipt rows, leaders' counter events) now (read by this process, not the server)."""
    from sqlalchemy import create_engine, text

    from chounaikai.config import normalize_database_url

    engine = create_engine(normalize_database_url(database_url))
    try:
        with engine.connect() as conn:
            return (conn.execute(text("SELECT count(*) FROM receipts")).scalar_one(),
                    conn.execute(text("SELECT count(*) FROM live_events "
                                      "WHERE kind = 'receipts'")).scalar_one())
    finally:
        engine.dispose()


async def run_phase(name: str, residents: list[Resident], make_loop, args,
                    server_pid: int, database_url: str) -> Phase:
    phase = Phase(name)
    if args.wait_idle:
        wait_for_quiet_machine(args.wait_idle)
    start = time.perf_counter()
    window = (start + args.warmup, start + args.warmup + args.duration)
    to_epoch = time.time() - time.perf_counter()
    phase.window_epoch = (window[0] + to_epoch, window[1] + to_epoch)

    async def measure_cpu() -> None:
        await asyncio.sleep(max(0.0, window[0] - time.perf_counter()))
        receipts0, recounts0 = _written(database_url)
        server0, client0 = _cpu_seconds(server_pid), time.process_time()
        machine0, irq0 = _machine_cpu()
        await asyncio.sleep(max(0.0, window[1] - time.perf_counter()))
        phase.server_cpu = _cpu_seconds(server_pid) - server0
        phase.client_cpu = time.process_time() - client0
        machine1, irq1 = _machine_cpu()
        phase.machine_cpu, phase.irq_cpu = machine1 - machine0, irq1 - irq0
        receipts1, recounts1 = _written(database_url)
        phase.receipts_written, phase.recounts = receipts1 - receipts0, recounts1 - recounts0

    rngs = [random.Random(f"{name}-{i}") for i in range(len(residents))]
    await asyncio.gather(measure_cpu(), *(make_loop(r, phase, window, rng)
                                          for r, rng in zip(residents, rngs, strict=True)))
    phase.seconds = args.duration  # completions are counted inside the window only
    return phase


async def drive(args, server: Server, seeded: Seeded, database_url: str
                ) -> tuple[list[Phase], float]:
    residents = [Resident(server.url, seeded.logins[i % len(seeded.logins)])
                 for i in range(args.clients)]
    try:
        started = time.perf_counter()
        gate = asyncio.Semaphore(args.login_concurrency)

        async def login(resident: Resident) -> None:
            async with gate:
                await resident.login()

        await asyncio.gather(*(login(r) for r in residents))
        login_seconds = time.perf_counter() - started
        think_s = args.think_ms / 1000

        def bare(resident, phase, window, rng):
            return bare_loop(resident, phase, window, rng, think_s)

        def read(resident, phase, window, rng):
            return read_loop(resident, phase, window, rng, think_s, seeded.association_id,
                             post=args.post)

        plan = [("bare", bare), ("read path", read)]
        if args.order == "read-first":
            plan.reverse()
        phases = [await run_phase(name, residents, loop, args, server.process.pid, database_url)
                  for name, loop in plan]
        return phases, login_seconds
    finally:
        await asyncio.gather(*(r.close() for r in residents))


# --------------------------------------------------------------------------- report

def _row(label: str, values: list[float], errors: int, seconds: float) -> str:
    values = sorted(values)
    return (f"  {label:<36} {len(values):>8} {len(values) / seconds:>9.1f} "
            f"{percentile(values, 0.50) * 1000:>8.1f} {percentile(values, 0.99) * 1000:>8.1f} "
            f"{errors:>7}")


def print_timeline(phase: Phase, step: float, log: Path | None = None) -> None:
    """The read path's window in slices of ``step`` seconds: where its tail comes from.
    With the workers' lines (``log``, --worker-times) also how busy they were: in the
    app, and in Flask renders (rather than replays), as a share of their time."""
    busy = worker_times.busy_by_slice(log, phase.window_epoch, step) if log else {}
    print(f"\n  read path over the window ({step:g} s slices):")
    print(f"    {'from s':>6} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'read POSTs':>10}"
          + (f" {'in app':>7} {'Flask':>6}" if log else ""))
    slices: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for at, latency, label in phase.completions:
        slices[int(at // step)].append((latency, label))
    for index in sorted(slices):
        latencies = sorted(latency for latency, _label in slices[index])
        posts = sum(1 for _latency, label in slices[index] if label.startswith("read"))
        in_app, flask = busy.get(index, (0.0, 0.0))
        print(f"    {index * step:>6.0f} {len(latencies) / step:>8.0f} "
              f"{percentile(latencies, 0.50) * 1000:>7.1f} "
              f"{percentile(latencies, 0.99) * 1000:>7.1f} {posts:>10}"
              + (f" {in_app:>7.0%} {flask:>6.0%}" if log else ""))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def report(args, server: Server, seeded: Seeded, phases: list[Phase],
           login_seconds: float) -> bool:
    by_name = {p.name: p for p in phases}
    bare, read = by_name["bare"], by_name["read path"]
    cores = os.cpu_count() or 1
    print()
    print("chounaikai read-path benchmark")
    print(f"  command   : {shlex.join([sys.executable, *sys.argv])}")
    print(f"  machine   : nproc={cores}, CPU: {_cpu_model()}")
    print(f"  server    : {shlex.join(server.command[1:])}  (fd = a socket on "
          f"{server.url.removeprefix('http://')} bound by this script; same server for both)")
    if args.http_slots:
        print(f"  slots     : at most {args.http_slots} requests executing per worker "
              "(bench_wsgi.ExecutionSlots, an experiment)")
    print(f"  database  : {args.database}: {seeded.summary}")
    think = (f"think time {args.think_ms:g} ms (exponential) after each bare request / "
             "read-path iteration" if args.think_ms else "no think time")
    print(f"  clients   : {args.clients} closed-loop ({think}), 1 keep-alive connection each;"
          f" warm-up {args.warmup:g}s then {args.duration:g}s measured per phase;"
          f" order: {' then '.join(p.name for p in phases)}")
    steps = {"page": "list → open → mark read when the page asks (as its script does)",
             "always": "list → open → mark read on every open (repeats included)",
             "never": "list → open (--post never: a diagnostic)"}[args.post]
    print(f"  read path : {steps}, every HTTP request counted")
    print(f"  logins    : {args.clients} residents through POST /login in {login_seconds:.1f}s")
    print()
    print(f"  {'':<36} {'requests':>8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    print(_row("bare      GET /bare/", bare.all_latencies(), sum(bare.errors.values()),
               bare.seconds))
    print(_row("read path (all requests)", read.all_latencies(), sum(read.errors.values()),
               read.seconds))
    for label in sorted(read.latencies):
        print(_row("  " + label, read.latencies[label], read.errors[label], read.seconds))
    print()
    bare_rps = len(bare.all_latencies()) / bare.seconds
    read_rps = len(read.all_latencies()) / read.seconds
    ratio = read_rps / bare_rps if bare_rps else 0.0
    read_p99 = percentile(sorted(read.all_latencies()), 0.99) * 1000
    ok_ratio, ok_p99 = ratio >= TARGET_RATIO, read_p99 < TARGET_P99_MS
    if args.think_ms:
        print(f"  ratio read path / bare throughput: {ratio:.2f}  (not a capacity ratio: with "
              "think time both phases run at the offered load)")
    else:
        print(f"  ratio read path / bare throughput: {ratio:.2f}  "
              f"(target ≥ {TARGET_RATIO:.2f}: {'met' if ok_ratio else 'MISSED'})")
    print(f"  read path p99: {read_p99:.1f} ms  "
          f"(target < {TARGET_P99_MS:.0f} ms: {'met' if ok_p99 else 'MISSED'})")
    iterations = len(read.latencies.get("open  GET /circulars/<cid>", []))
    print(f"  read-path iterations/s: {iterations / read.seconds:.1f}; first reads (receipts "
          f"written) in the window: {read.receipts_written} of "
          f"{len(read.latencies.get('read  POST /circulars/<cid>/read', []))} read POSTs; "
          f"leaders' counter recounts: {read.recounts}")
    if args.timeline:
        print_timeline(read, args.timeline, args.worker_times_log)
    if args.worker_times_log:
        worker_times.print_report(args.worker_times_log, read.window_epoch, read.seconds)
    print()
    print("  CPU during the measured window (100% = all cores busy):")
    for phase in phases:
        span = phase.seconds * cores
        other = phase.machine_cpu - phase.irq_cpu - phase.server_cpu - phase.client_cpu
        print(f"    {phase.name:<10} server {phase.server_cpu / span:>4.0%}   "
              f"load generator {phase.client_cpu / span:>4.0%}   "
              f"kernel irq/softirq {phase.irq_cpu / span:>4.0%}   "
              f"other processes {max(0.0, other) / span:>4.0%}   "
              f"idle {max(0.0, 1 - phase.machine_cpu / span):>4.0%}")
    print("  The load generator shares the machine with the server, so these are lower bounds")
    print("  for the server alone; the ratio compares two phases under the same handicap.")
    print("  'other processes' should be near 0%: anything else running skews the figures.")
    for phase in phases:
        for sample in phase.error_samples:
            print(f"  error sample ({phase.name}): {sample}")
    log = server.log_path.read_text(errors="replace")
    if "Traceback" in log or "ERROR" in log:
        print("\n  server log has errors:\n" + log[-3000:])
    return ok_ratio and ok_p99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds per phase")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "CHOUNAIKAI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="server database beside which a fresh one is created (with --database postgresql)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1,
                        help="gthread threads per worker (1 measured best on 2 cores since "
                             "pages are replayed, see README)")
    parser.add_argument("--http-slots", type=int, default=0, metavar="N",
                        help="experiment: at most N requests run at once per worker "
                             "(bench_wsgi.ExecutionSlots), whatever --threads is")
    parser.add_argument("--login-concurrency", type=int, default=2,
                        help="logins in flight while setting up (see README: argon2 under "
                             "SQLite's write lock)")
    parser.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                        help="before each phase wait up to this long for other load to stop")
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="mean think time between read-path iterations (0: none)")
    parser.add_argument("--post", choices=("page", "always", "never"), default="page",
                        help="when to send the read POST: when the page asks for it (its "
                             "script does so only for an unread circular), on every open "
                             "(sessions 1-3 measured this), or never (a diagnostic)")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 when a target is missed")
    parser.add_argument("--order", choices=("bare-first", "read-first"), default="bare-first")
    parser.add_argument("--timeline", type=float, default=0.0, metavar="SECONDS",
                        help="also print the read path's req/s, p50, p99 and read POSTs per "
                             "slice of this many seconds of the window")
    parser.add_argument("--worker-times", action="store_true",
                        help="also print the read path's time inside the workers, rendered "
                             "by Flask vs replayed (bench/worker_times.py; costs a little)")
    args = parser.parse_args()
    # A SIGTERM (timeout, CI) must still stop the server and drop the database below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="chounaikai-bench-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "uploads").mkdir()
        args.worker_times_log = tmp / "worker-times.log" if args.worker_times else None
        url, drop = create_database(args.database, tmp, args.postgres_url)
        try:
            seeded = migrate_and_seed(url, tmp / "uploads")
            server = start_server(args, url, tmp)
            try:
                phases, login_seconds = loadgen.run(drive(args, server, seeded, url))
            except BaseException:
                print("server log (tail):\n" + server.log_path.read_text(errors="replace")[-6000:],
                      file=sys.stderr)
                raise
            finally:
                stop_server(server)
            met = report(args, server, seeded, phases, login_seconds)
        finally:
            drop()
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())

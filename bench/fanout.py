"""Web Push delivery benchmark: one circular to N subscriptions over loopback.

    .venv/bin/python bench/fanout.py                 # 100,000 subscriptions, SQLite
    .venv/bin/python bench/fanout.py --workers 2     # two sender processes (both cores)
    .venv/bin/python bench/fanout.py --n 20000 --database-url postgresql://postgres@127.0.0.1/test

A fake push service (tests/push/fake_push_service.py in bench mode: it reads
every body but skips VAPID checks and decryption) runs in a subprocess.  The
measured phase is end to end inside this process: fan-out (INSERT … SELECT),
claim with leases, payload, RFC 8291 encryption with a fresh key per
message, pooled HTTP, recording results; with ``--workers N`` the fan-out
runs here and N ``flask push worker --once`` processes send.  Beside it, in
the same run (half before, half after), the naive loop
(``pywebpush.webpush()`` per message) on a sample.

Prints msgs/s, CPU µs per message (process CPU time / messages; with
PostgreSQL the server's own CPU is not included), wall time, the naive
figures, the ratio and the projection for 430,000 subscriptions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from unittest import mock
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: E402
from sqlalchemy import create_engine, insert, make_url, text  # noqa: E402

from chounaikai.config import normalize_database_url  # noqa: E402
from chounaikai.push.encryption import b64url_encode  # noqa: E402

CITY = 430_000
KEY_POOL = 64  # subscriber key pairs shared by the devices (our side still encrypts per message)


def start_fake_service() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.push.fake_push_service", "--bench"], cwd=ROOT,
        stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    origin = process.stdout.readline().strip()
    if not origin.startswith("http://127.0.0.1:"):
        process.kill()
        raise SystemExit(f"fake push service did not start: {origin!r}")
    return process, origin


def received(origin: str) -> int:
    with urlopen(f"{origin}/stats", timeout=10) as response:  # noqa: S310 - loopback only
        return int(json.load(response)["received"])


def subscriber_keys() -> list[tuple[str, str]]:
    keys = []
    for _ in range(KEY_POOL):
        public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint)
        keys.append((b64url_encode(public), b64url_encode(os.urandom(16))))
    return keys


def seed(engine, n: int, origin: str, keys: list[tuple[str, str]]) -> tuple[int, int, list]:
    """N residents (one device each) of one association plus a leader; bulk inserts."""
    from chounaikai.models import (
        Association,
        Household,
        MemberRole,
        Membership,
        PushSubscription,
        User,
    )

    tag = secrets.token_hex(3)
    chunk = 10_000
    with engine.begin() as conn:
        association_id = conn.execute(insert(Association).values(
            name="ベンチ町内会", district="原町田").returning(Association.id)).scalar_one()
        leader_household = conn.execute(insert(Household).values(
            association_id=association_id, name="会長", join_code=f"L{tag}",
            has_smartphone=True).returning(Household.id)).scalar_one()
        leader_id = conn.execute(insert(User).values(
            login_id=f"leader-{tag}", display_name="会長", password_hash="x",
            global_role="none", session_version=1).returning(User.id)).scalar_one()
        conn.execute(insert(Membership).values(user_id=leader_id, association_id=association_id,
                                               household_id=leader_household,
                                               role=MemberRole.LEADER))
    subscriptions = []
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        with engine.begin() as conn:
            households = conn.scalars(insert(Household).returning(
                Household.id, sort_by_parameter_order=True), [
                {"association_id": association_id, "name": f"世帯{start + i}",
                 "join_code": f"{tag}{start + i:07d}", "has_smartphone": True}
                for i in range(size)]).all()
            users = conn.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), [
                {"login_id": f"b{tag}-{start + i}", "display_name": "住民", "password_hash": "x",
                 "global_role": "none", "session_version": 1} for i in range(size)]).all()
            conn.execute(insert(Membership), [
                {"user_id": uid, "association_id": association_id, "household_id": hid,
                 "role": MemberRole.RESIDENT} for uid, hid in zip(users, households, strict=True)])
            rows = []
            for i, uid in enumerate(users):
                endpoint = f"{origin}/push/{tag}-{start + i}"
                p256dh, auth = keys[(start + i) % len(keys)]
                rows.append({"user_id": uid, "endpoint": endpoint, "origin": origin,
                             "endpoint_hash": hashlib.sha256(endpoint.encode()).hexdigest(),
                             "p256dh": p256dh, "auth": auth, "device_label": "bench"})
            conn.execute(insert(PushSubscription), rows)
            subscriptions.extend(rows[:50])
    return association_id, leader_id, subscriptions


def publish(app, association_id: int, leader_id: int) -> int:
    """The leader publishes through the real service, committed like a request.

    The live (Socket.IO) announcement is left out: it is not part of push
    delivery, and on PostgreSQL its per-member advisory locks exceed
    ``max_locks_per_transaction`` for an audience this size.
    """
    from chounaikai import notify
    from chounaikai.circulars.services import CircularInput, create_circular
    from chounaikai.extensions import db
    from chounaikai.models import User

    live = getattr(notify, "live", None)
    quiet = (mock.patch.object(live, "circular_published", return_value=None)
             if hasattr(live, "circular_published") else nullcontext())
    with quiet, app.test_request_context("/", method="POST"):
        circular = create_circular(
            actor=db.session.get(User, leader_id), association_id=association_id,
            data=CircularInput(title="防災訓練のお知らせ", body_md="日曜日の9時から訓練です。"))
        circular_id = circular.id
        db.session.commit()
        db.session.remove()  # no transaction (no SQLite lock) left open behind us
    return circular_id


def naive_loop(sample: list[dict], count: int, vapid_key: str) -> tuple[float, float]:
    """pywebpush.webpush() per message, as a first implementation would: (wall s, CPU s)."""
    from pywebpush import webpush

    payload = json.dumps({"title": "新しい回覧があります", "body": "防災訓練のお知らせ",
                          "url": "/circulars/1", "tag": "circular-1"}, ensure_ascii=False)
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        row = sample[i % len(sample)]
        subscription = {"endpoint": row["endpoint"],
                        "keys": {"p256dh": row["p256dh"], "auth": row["auth"]}}
        webpush(subscription, data=payload, vapid_private_key=vapid_key,
                vapid_claims={"sub": "mailto:bench@chounaikai.invalid"}, ttl=86400,
                headers={"Urgency": "normal", "Topic": "circular-1"}, timeout=10)
    return time.perf_counter() - wall, time.process_time() - cpu


def run_worker_processes(count: int, overrides: dict) -> float:
    """``count`` × ``flask push worker --once`` on the database; their CPU seconds.

    What production does with several workers: claims are disjoint (SKIP
    LOCKED on PostgreSQL, one writer at a time on SQLite).  Start-up (imports,
    app creation) is included in the figures.
    """
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update({"DATABASE_URL": overrides["DATABASE_URL"], "CHOUNAIKAI_ENV": "test",
                "CHOUNAIKAI_SECRET_KEY": "bench", "CHOUNAIKAI_PUSH_WORKER": "off",
                "CHOUNAIKAI_VAPID_PRIVATE_KEY": overrides["VAPID_PRIVATE_KEY"],
                "CHOUNAIKAI_VAPID_SUBJECT": overrides["VAPID_SUBJECT"]})
    for key in ("PUSH_BATCH_SIZE", "PUSH_CONCURRENCY"):
        if key in overrides:
            env[f"CHOUNAIKAI_{key}"] = str(overrides[key])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    processes = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "push",
                                   "worker", "--once"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL) for _ in range(count)]
    for process in processes:
        if process.wait() != 0:
            raise SystemExit(f"a worker exited with {process.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def fresh_database(url: str | None, tmp: Path) -> tuple[str, callable]:
    if not url:
        return f"sqlite:///{tmp / 'bench.sqlite3'}", lambda: None
    server = make_url(normalize_database_url(url))
    name = f"chounaikai_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description="Web Push fan-out benchmark")
    parser.add_argument("--n", type=int, default=100_000, help="subscriptions (default 100,000)")
    parser.add_argument("--naive", type=int, default=500, help="naive pywebpush sample size")
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite file)")
    parser.add_argument("--batch", type=int, default=None, help="PUSH_BATCH_SIZE override")
    parser.add_argument("--concurrency", type=int, default=None, help="PUSH_CONCURRENCY")
    parser.add_argument("--workers", type=int, default=1,
                        help="sender processes (default 1: in this process)")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from chounaikai import create_app
    from chounaikai.database import dispose_engines
    from chounaikai.extensions import db
    from chounaikai.models import utcnow
    from chounaikai.push import fanout, vapid, workers

    fake, origin = start_fake_service()
    tmp = Path(tempfile.mkdtemp(prefix="chounaikai-bench-"))
    url, drop = fresh_database(args.database_url, tmp)
    vapid_key = vapid.private_key_b64url(vapid.generate_private_key())
    overrides = {"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url,
                 "UPLOAD_FOLDER": str(tmp / "uploads"), "VAPID_PRIVATE_KEY": vapid_key,
                 "VAPID_SUBJECT": "mailto:bench@chounaikai.invalid", "PUSH_WORKER": "off"}
    if args.batch:
        overrides["PUSH_BATCH_SIZE"] = args.batch
    if args.concurrency:
        overrides["PUSH_CONCURRENCY"] = args.concurrency
    app = create_app(overrides)
    try:
        with app.app_context():
            upgrade()
            backend = db.engine.dialect.name
            started = time.perf_counter()
            association_id, leader_id, sample = seed(db.engine, args.n, origin, subscriber_keys())
            print(f"seeded {args.n:,} subscriptions on {backend} in "
                  f"{time.perf_counter() - started:.1f} s")
            publish(app, association_id, leader_id)
            # The naive sample runs half before and half after, so both see the same
            # (shared machine's) load on average.
            before = naive_loop(sample, args.naive // 2, vapid_key)
            load = os.getloadavg()[0]
            wall, cpu = time.perf_counter(), time.process_time()
            if args.workers == 1:
                stats = workers.run_cycle(app, housekeeping=False)
                child_cpu = 0.0
            else:
                stats = Counter(fanned_out=fanout.fan_out_due(db.engine, utcnow()).deliveries)
                child_cpu = run_worker_processes(args.workers, overrides)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu + child_cpu
            load = (load + os.getloadavg()[0]) / 2
        got = received(origin) - args.naive // 2
        after = naive_loop(sample, args.naive - args.naive // 2, vapid_key)
        naive_wall, naive_cpu = before[0] + after[0], before[1] + after[1]
        ours = args.n / wall
        naive = args.naive / naive_wall
        senders = "1 sender process" if args.workers == 1 else \
            f"fan-out + {args.workers} `flask push worker --once` processes"
        print(f"\nengine ({backend}, {senders}): {args.n:,} messages in {wall:.2f} s wall "
              f"= {ours:,.0f} msgs/s, {cpu / args.n * 1e6:.0f} µs CPU per message "
              f"(received {got:,}; {dict(sorted(stats.items()))})")
        print(f"naive pywebpush.webpush() loop: {args.naive} messages in {naive_wall:.2f} s "
              f"= {naive:,.0f} msgs/s, {naive_cpu / args.naive * 1e6:.0f} µs CPU per message")
        print(f"ratio: {ours / naive:.1f}x the naive loop's throughput, "
              f"{naive_cpu / args.naive / (cpu / args.n):.1f}x less CPU per message")
        print(f"(machine load average during the run: {load:.1f} on {os.cpu_count()} cores)")
        print(f"projection for {CITY:,} subscriptions: {CITY / ours:.0f} s "
              f"(naive: {CITY / naive / 60:.0f} min)")
        if got < args.n:
            raise SystemExit(f"only {got} of {args.n} messages arrived")
    finally:
        dispose_engines(app)
        fake.terminate()
        fake.wait(10)
        drop()


if __name__ == "__main__":
    main()

"""Crash safety: ``kill -9`` a real RQ sender at about 40 % of a 2,000-device broadcast.

The publication goes through the real path: a leader's commit rings the RQ
doorbell on real Redis, a ``flask push worker`` subprocess (SimpleWorker,
queues emergency then default) on the run's test database sends to the fake
push service in this process.  After the kill a second worker takes over the
crashed one's leases.  Expect: every live device got the message, at most
two claimed batches were sent twice (all with one Topic and tag, so a phone
shows one notification), and the 410 devices are deleted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chounaikai.extensions import db
from chounaikai.models import DeliveryStatus, MemberRole, PushDelivery, PushSubscription
from tests.push.conftest import TEST_VAPID_KEY, add_devices
from tests.push.fake_push_service import FakePushService
from tests.push.helpers import bulk_members, publish

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DEVICES = 2000
GONE = 100  # answer 410
BATCH = 100
KILL_AT = int(DEVICES * 0.4)


def _start_worker(database_url: str, redis_url: str, prefix: str, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CHOUNAIKAI_ENV": "test",
        "CHOUNAIKAI_SECRET_KEY": "test-secret-key",
        "CHOUNAIKAI_PUSH_WORKER": "rq",
        "CHOUNAIKAI_PUSH_QUEUE_PREFIX": prefix,
        "CHOUNAIKAI_VAPID_PRIVATE_KEY": TEST_VAPID_KEY,
        "CHOUNAIKAI_VAPID_SUBJECT": "mailto:test@chounaikai.invalid",
        "CHOUNAIKAI_PUSH_BATCH_SIZE": str(BATCH),
        "CHOUNAIKAI_PUSH_CONCURRENCY": "20",
        "CHOUNAIKAI_PUSH_LEASE_SECONDS": "4",
        "CHOUNAIKAI_PUSH_TICK_SECONDS": "0.5",
        "PYTHONUNBUFFERED": "1",
    }
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "push", "worker"], cwd=ROOT,
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: only our worker
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _wait(condition, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{log.read_text()[-3000:]}")


def test_kill_9_mid_broadcast_then_restart(app, factory, rq_app, database_url, redis_url,
                                           queue_prefix, tmp_path):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    users = bulk_members(factory._engine, association, DEVICES // 2)
    log = tmp_path / "worker.log"
    # A little latency per request keeps a 2,000-message broadcast busy for a few seconds.
    with FakePushService(latency=0.01) as fake:
        devices = add_devices(app, fake, users) + add_devices(app, fake, users)
        gone = {d.token for d in devices[::DEVICES // GONE]}
        for token in gone:
            fake.fail(token, 410, repeat=True)
        live = {d.token for d in devices} - gone

        circular_id = publish(rq_app, leader.user_id, association.id)  # rings Redis

        worker = _start_worker(database_url, redis_url, queue_prefix, log)
        try:
            _wait(lambda: fake.count() >= KILL_AT, 60, "40 % delivered", log)
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            at_kill = fake.count()
            with app.app_context():
                leased = db.session.scalar(select(func.count()).where(
                    PushDelivery.status == DeliveryStatus.PENDING,
                    PushDelivery.lease_until.is_not(None)))
                db.session.remove()
            assert at_kill < len(live), "the broadcast finished before the kill"
            assert leased > 0, "the crash left no claimed deliveries behind"

            worker = _start_worker(database_url, redis_url, queue_prefix, log)
            _wait(lambda: set(fake.tokens()) >= live, 60, "every live device", log)
            _wait(lambda: _pending(app) == 0, 30, "no pending deliveries", log)
        finally:
            _stop(worker)

        received = fake.tokens()
        duplicates = sum(received.values()) - len(received)
        assert set(received) == live  # 410 devices never count as received
        assert duplicates <= 2 * BATCH, f"{duplicates} duplicates"
        tags = Counter((r.payload["tag"], r.headers["Topic"]) for r in fake.received)
        assert set(tags) == {(f"circular-{circular_id}", f"circular-{circular_id}")}
        assert fake.errors == []

    with app.app_context():
        remaining = set(db.session.scalars(select(PushSubscription.endpoint)))
        statuses = Counter(db.session.scalars(select(PushDelivery.status)))
    assert not any(endpoint.rsplit("/", 1)[1] in gone for endpoint in remaining)
    assert len(remaining) == len(live)
    assert statuses == {DeliveryStatus.SENT: len(live), DeliveryStatus.GONE: len(gone)}
    print(f"\ncrash test: killed at {at_kill}/{DEVICES} received, {leased} leased; "
          f"{duplicates} duplicates after restart")


def _pending(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).where(
            PushDelivery.status == DeliveryStatus.PENDING))
        db.session.remove()
    return count or 0

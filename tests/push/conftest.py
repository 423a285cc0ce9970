"""Fixtures for the delivery engine: a fake push service, subscriptions, a VAPID key, Redis."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import insert

from chounaikai.database import dispose_engines
from chounaikai.extensions import db
from chounaikai.models import PushSubscription
from chounaikai.push import vapid
from tests.push.fake_push_service import FakePushService, FakeSubscription
from tests.servers import redis_url_or_skip

# A fixed test key, so nothing is written to the real instance folder.
TEST_VAPID_KEY = vapid.private_key_b64url(vapid.generate_private_key())


@dataclass
class Device:
    """A subscription row and the browser side that holds its keys."""

    id: int
    user_id: int
    fake: FakeSubscription

    @property
    def token(self) -> str:
        return self.fake.token


@pytest.fixture(autouse=True)
def _vapid_key(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", TEST_VAPID_KEY)
    monkeypatch.setitem(app.config, "VAPID_SUBJECT", "mailto:test@chounaikai.invalid")
    cached = app.extensions.pop("chounaikai_vapid", None)
    yield
    app.extensions.pop("chounaikai_vapid", None)
    if cached is not None:
        app.extensions["chounaikai_vapid"] = cached


@pytest.fixture
def fake_push(app: Flask) -> Iterator[FakePushService]:
    """A fake push service with two origins (429 pauses are per origin)."""
    with app.app_context():
        key = vapid.public_key_b64url(app)
    with FakePushService(origins=2, expected_key=key) as service:
        yield service
    assert not service.errors, service.errors


def add_devices(app: Flask, fake: FakePushService, user_ids: list[int], *,
                origin: int = 0, **columns) -> list[Device]:
    """One subscription row per user id, inserted directly (independent of the UI code)."""
    subs = [fake.subscription(origin) for _ in user_ids]
    rows = [{"user_id": uid, "endpoint": sub.endpoint,
             "endpoint_hash": hashlib.sha256(sub.endpoint.encode()).hexdigest(),
             "origin": sub.origin, "p256dh": sub.p256dh, "auth": sub.auth,
             "device_label": "test", **columns}
            for uid, sub in zip(user_ids, subs, strict=True)]
    with app.app_context():
        ids = list(db.session.scalars(
            insert(PushSubscription).returning(PushSubscription.id, sort_by_parameter_order=True),
            rows))
        db.session.commit()
    return [Device(i, uid, sub) for i, uid, sub in zip(ids, user_ids, subs, strict=True)]


@pytest.fixture
def redis_url() -> str:
    """Real Redis (CHOUNAIKAI_TEST_REDIS_URL, else 127.0.0.1:6379/0); skips if absent locally."""
    return redis_url_or_skip()


@pytest.fixture
def queue_prefix(redis_url: str) -> Iterator[str]:
    """Unique RQ queue names for one test; its keys are removed afterwards."""
    from redis import Redis
    from rq import Queue

    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    yield prefix
    client = Redis.from_url(redis_url)
    for name in ("emergency", "default"):  # jobs live under rq:job:<id>, not the prefix
        queue = Queue(prefix + name, connection=client)
        for job_id in queue.failed_job_registry.get_job_ids():
            queue.failed_job_registry.remove(job_id, delete_job=True)
        queue.empty()
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def rq_app(app: Flask, database_url: str, redis_url: str, queue_prefix: str) -> Iterator[Flask]:
    """A second app on the same test database in production-style ``rq`` mode."""
    from chounaikai import create_app

    second = create_app({
        "TESTING": True, "SECRET_KEY": "test-secret-key", "DATABASE_URL": database_url,
        "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"], "SERVER_NAME": "localhost",
        "REDIS_URL": redis_url, "PUSH_WORKER": "rq", "PUSH_QUEUE_PREFIX": queue_prefix,
        "VAPID_PRIVATE_KEY": TEST_VAPID_KEY, "VAPID_SUBJECT": "mailto:test@chounaikai.invalid",
        "RATELIMIT_STORAGE_URI": "memory://",
    })
    yield second
    dispose_engines(second)
    client = second.extensions.get("chounaikai_push_redis")
    if client is not None:
        client.close()

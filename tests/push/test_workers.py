"""Who sends: RQ on real Redis (doorbell after commit, queue priority), the embedded thread."""

from __future__ import annotations

import time

import pytest
from rq import Queue, SimpleWorker

from chounaikai.database import dispose_engines
from chounaikai.extensions import db
from chounaikai.models import MemberRole, Notification, Priority
from chounaikai.push import workers
from chounaikai.push.settings import queue_names, worker_mode
from tests.push.conftest import add_devices
from tests.push.helpers import publish


@pytest.fixture
def people(app, factory, fake_push):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    members = [factory.member(association) for _ in range(3)]
    devices = add_devices(app, fake_push, [m.user_id for m in members])
    return association, leader, members, devices


def _queues(app):
    redis = workers._redis(app)
    return [Queue(name, connection=redis) for name in queue_names(app)]


def test_commit_rings_the_default_queue_once(rq_app, people, fake_push):
    association, leader, _members, devices = people
    emergency, default = _queues(rq_app)

    publish(rq_app, leader.user_id, association.id)
    publish(rq_app, leader.user_id, association.id, title="二つ目")

    # A burst of commits queues one job: it drains everything when it runs.
    assert (emergency.count, default.count) == (0, 1)
    assert default.name.endswith("default")
    assert emergency.name.endswith("emergency")


def test_rolled_back_publication_rings_nothing(rq_app, people):
    association, leader, _members, _devices = people
    with rq_app.test_request_context("/", method="POST"):
        db.session.add(Notification(kind="circular", audience={"circular_id": 1}, topic="x"))
        db.session.flush()
        db.session.rollback()
    assert [q.count for q in _queues(rq_app)] == [0, 0]


def test_emergency_goes_to_its_own_queue(rq_app, people):
    association, _leader, members, _devices = people
    with rq_app.test_request_context("/", method="POST"):
        db.session.add(Notification(kind="alert", priority=Priority.EMERGENCY,
                                    audience={"user_ids": [members[0].user_id]}, topic="e"))
        db.session.commit()
    emergency, default = _queues(rq_app)
    assert (emergency.count, default.count) == (1, 0)


def test_rq_worker_drains_the_outbox(rq_app, people, fake_push):
    association, leader, _members, devices = people
    publish(rq_app, leader.user_id, association.id)
    redis = workers._redis(rq_app)
    assert redis.exists(workers.doorbell_key(queue_names(rq_app)[1]))

    with rq_app.app_context():
        SimpleWorker(_queues(rq_app), connection=redis).work(burst=True)

    assert all(len(fake_push.received_by(d.token)) == 1 for d in devices)
    assert not redis.exists(workers.doorbell_key(queue_names(rq_app)[1]))
    assert [q.count for q in _queues(rq_app)] == [0, 0]
    assert all(q.failed_job_registry.count == 0 for q in _queues(rq_app))


def test_rq_job_fails_visibly_on_401(rq_app, people, fake_push):
    association, leader, _members, devices = people
    fake_push.fail(devices[0].token, 403, repeat=True)
    publish(rq_app, leader.user_id, association.id)
    with rq_app.app_context():
        SimpleWorker(_queues(rq_app), connection=workers._redis(rq_app)).work(burst=True)
    assert _queues(rq_app)[1].failed_job_registry.count == 1
    status = rq_app.test_cli_runner().invoke(args=["push", "status"])
    assert status.exit_code == 1
    assert "403" in status.output
    assert "1 failed jobs" in status.output


def test_worker_command_in_burst_mode(rq_app, people, fake_push):
    association, leader, _members, devices = people
    publish(rq_app, leader.user_id, association.id)
    result = rq_app.test_cli_runner().invoke(args=["push", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert all(fake_push.received_by(d.token) for d in devices)


def test_worker_mode_defaults(app):
    assert worker_mode(app) == "off"  # tests run senders explicitly
    for config, mode in (({"ENV_NAME": "development"}, "thread"),
                         ({"ENV_NAME": "production", "REDIS_URL": "redis://x"}, "rq"),
                         ({"ENV_NAME": "production", "PUSH_WORKER": "off"}, "off")):
        fake = type("App", (), {"config": config})()
        assert worker_mode(fake) == mode


@pytest.fixture
def thread_app(app, database_url):
    from chounaikai import create_app

    second = create_app({
        "TESTING": True, "SECRET_KEY": "test-secret-key", "DATABASE_URL": database_url,
        "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"], "SERVER_NAME": "localhost",
        "PUSH_WORKER": "thread", "PUSH_TICK_SECONDS": 30,
        "VAPID_PRIVATE_KEY": app.config["VAPID_PRIVATE_KEY"],
        "VAPID_SUBJECT": "mailto:test@chounaikai.invalid"})
    yield second
    thread = second.extensions.get("chounaikai_push_thread")
    if thread is not None:
        thread.stop()
        thread.join(10)
    dispose_engines(second)


def test_embedded_thread_starts_on_first_request_and_wakes_on_commit(thread_app, people,
                                                                      fake_push):
    association, leader, _members, devices = people
    assert "chounaikai_push_thread" not in thread_app.extensions  # CLI use never starts it
    thread_app.test_client().get("/healthz")
    thread = thread_app.extensions["chounaikai_push_thread"]
    assert thread.is_alive()
    time.sleep(0.3)  # let it finish its first (empty) cycle and fall asleep for 30 s

    publish(thread_app, leader.user_id, association.id)  # after commit: wake it up

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and fake_push.count() < len(devices):
        time.sleep(0.05)
    assert all(len(fake_push.received_by(d.token)) == 1 for d in devices)

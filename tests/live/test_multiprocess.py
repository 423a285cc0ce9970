"""Production shape: two gunicorn processes sharing REDIS_URL as the Socket.IO message
queue, a python-socketio client on process A, changes made through process B and by a
separate worker process (no server) that emits through the write-only queue."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import aiohttp
import pytest
import socketio

from chounaikai.models import MemberRole
from tests.servers import ROOT, Server, base_env, gunicorn, redis_url_or_skip, unique_channel

pytestmark = pytest.mark.slow

WAIT = 15  # seconds for an event to cross processes


@pytest.fixture(scope="module")
def redis_queue() -> tuple[str, str]:
    return redis_url_or_skip(), unique_channel()


@pytest.fixture(scope="module")
def two_servers(database_url, redis_queue, tmp_path_factory) -> Iterator[tuple[Server, Server]]:
    redis_url, channel = redis_queue
    env = base_env(database_url, redis_url, channel)
    logs = tmp_path_factory.mktemp("live-servers")
    with gunicorn(env, logs, name="a") as a, gunicorn(env, logs, name="b") as b:
        yield a, b
        for server in (a, b):
            assert "Traceback" not in server.log_text(), server.log_text()[-4000:]


class Listener:
    """A python-socketio client (websocket transport) collecting ``live`` envelopes."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue = asyncio.Queue()
        self.client.on("live", self._on_live)

    async def _on_live(self, envelope) -> None:
        await self.events.put(envelope)

    async def connect(self, url: str, token: str) -> None:
        await self.client.connect(url, auth={"token": token}, transports=["websocket"],
                                  wait_timeout=10)

    async def join(self, room: str) -> dict:
        return await self.client.call("join", {"room": room}, timeout=10)

    async def next(self, kind: str) -> dict:
        while True:
            envelope = await asyncio.wait_for(self.events.get(), WAIT)
            if envelope["kind"] == kind:
                return envelope


def _worker_publishes(database_url: str, redis_url: str, channel: str, leader_id: int,
                      association_id: int) -> None:
    """A separate Python process, no server: publishes a circular in its own transaction;
    the live events go out after commit through the write-only Redis queue."""
    script = textwrap.dedent(f"""
        from chounaikai import create_app
        from chounaikai.circulars import services
        from chounaikai.extensions import db
        from chounaikai.models import User

        app = create_app()
        with app.app_context():
            leader = db.session.get(User, {leader_id})
            services.create_circular(
                actor=leader, association_id={association_id},
                data=services.CircularInput(title="ワーカーからの回覧", body_md="本文"))
            db.session.commit()
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False,
                            env=base_env(database_url, redis_url, channel))
    assert result.returncode == 0, result.stderr[-4000:]


def test_events_cross_processes_through_redis(two_servers, redis_queue, database_url, factory):
    a, b = two_servers
    redis_url, channel = redis_queue
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    resident = factory.member(association)
    circular = factory.circular(association, author=leader.user)
    leader_token, resident_token = factory.token(leader.user), factory.token(resident.user)
    leaders_room, own_room = f"leaders:{association.id}", f"user:{resident.user.id}"

    async def scenario() -> None:
        leader_ear, resident_ear = Listener(), Listener()
        try:
            await leader_ear.connect(a.url, leader_token)  # both listen on process A
            await resident_ear.connect(a.url, resident_token)
            assert (await leader_ear.join(leaders_room))["ok"] is True
            assert (await resident_ear.join(own_room))["ok"] is True
            assert (await resident_ear.join(leaders_room)) == {"ok": False,
                                                               "error": "forbidden"}

            # 1. An HTTP request to process B.
            async with aiohttp.ClientSession() as http, http.post(
                    f"{b.url}/api/v1/circulars/{circular.id}/read",
                    headers={"Authorization": f"Bearer {resident_token}"}) as response:
                assert response.status == 200, await response.text()
            counters = await leader_ear.next("receipts")
            assert counters["room"] == leaders_room
            assert counters["data"]["circular_id"] == circular.id
            assert counters["data"]["members_read"] == 1
            receipt = await resident_ear.next("receipt")
            assert receipt["data"]["unread"] == 0

            # 2. A worker process without a server, through the write-only queue.
            await asyncio.to_thread(_worker_publishes, database_url, redis_url, channel,
                                    leader.user.id, association.id)
            published = await resident_ear.next("circular")
            assert published["data"]["title"] == "ワーカーからの回覧"
            assert published["data"]["unread"] == 1
            assert published["prev"] == receipt["seq"]  # the room's chain is unbroken

            # 3. What was announced is also the record: catch-up from process B.
            async with aiohttp.ClientSession() as http, http.get(
                    f"{b.url}/api/v1/live/events",
                    params={"room": own_room, "after": "0"},
                    headers={"Authorization": f"Bearer {resident_token}"}) as response:
                assert response.status == 200, await response.text()
                body = await response.json()
            assert [e["seq"] for e in body["events"]] == [receipt["seq"], published["seq"]]
        finally:
            await leader_ear.client.disconnect()
            await resident_ear.client.disconnect()
            await asyncio.sleep(0.1)  # let aiohttp close its connections

    asyncio.run(scenario())


def test_the_channel_isolates_deployments(two_servers, redis_queue, factory):
    """An emit on another channel of the same Redis does not reach this run's clients."""
    from chounaikai.live.service import emit_envelopes

    a, _b = two_servers
    redis_url, channel = redis_queue
    association = factory.association()
    resident = factory.member(association)
    token = factory.token(resident.user)
    room = f"user:{resident.user.id}"

    async def scenario() -> None:
        ear = Listener()
        try:
            await ear.connect(a.url, token)
            assert (await ear.join(room))["ok"] is True
            stray = {"seq": 1, "prev": 0, "room": room, "kind": "stray", "data": {}, "at": ""}
            mine = {**stray, "kind": "mine"}
            await asyncio.to_thread(emit_envelopes, [stray], redis_url=redis_url,
                                    channel_name=channel + "-elsewhere")
            await asyncio.to_thread(emit_envelopes, [mine], redis_url=redis_url,
                                    channel_name=channel)
            first = await asyncio.wait_for(ear.events.get(), WAIT)
            assert first["kind"] == "mine"
        finally:
            await ear.client.disconnect()
            await asyncio.sleep(0.1)

    asyncio.run(scenario())

"""Concurrent readers against real server processes: a room's events commit in seq order.

That is what makes "events after N" safe and the counters exact: with 120 residents
reading at once through two gunicorn workers, the leaders' room holds events whose
``members_read`` only grows in seq order (each computed after every earlier commit)
and ends at 120 (every read counted, even one still in flight during a recount),
and the ``prev`` each announcement carried is exactly the room's
previous seq.  Counted per read (``LIVE_COUNTS_SECONDS=0``) that is one event per
reader, 1, 2, … 120; counted per tick (the default) far fewer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import pytest
import socketio
from sqlalchemy import select
from sqlalchemy.orm import Session

from chounaikai.models import LiveEvent, MemberRole
from tests.servers import Server, base_env, gunicorn, redis_url_or_skip, unique_channel

pytestmark = pytest.mark.slow

READERS = 120
IN_FLIGHT = 32


@pytest.fixture(scope="module", params=["0", "0.2"], ids=["per-read", "per-tick"])
def server(request, database_url, tmp_path_factory) -> Iterator[Server]:
    env = base_env(database_url, redis_url_or_skip(), unique_channel())
    env["CHOUNAIKAI_LIVE_COUNTS_SECONDS"] = request.param
    with gunicorn(env, tmp_path_factory.mktemp("live-ordering"), workers=2, threads=16) as s:
        s.counted_per_read = request.param == "0"  # type: ignore[attr-defined]
        yield s
        assert "Traceback" not in s.log_text(), s.log_text()[-4000:]


async def _storm(url: str, circular_id: int, tokens: list[str], leader_token: str,
                 room: str) -> tuple[list[int], list[dict]]:
    received: list[dict] = []
    listener = socketio.AsyncClient(reconnection=False)

    @listener.on("live")
    async def _on_live(envelope) -> None:
        received.append(envelope)

    gate = asyncio.Semaphore(IN_FLIGHT)
    try:
        await listener.connect(url, auth={"token": leader_token}, transports=["websocket"],
                               wait_timeout=10)
        assert (await listener.call("join", {"room": room}, timeout=10))["ok"] is True
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
            async def read(token: str) -> int:
                async with gate, http.post(f"{url}/api/v1/circulars/{circular_id}/read",
                                           headers={"Authorization": f"Bearer {token}"}) as r:
                    await r.read()
                    return r.status

            statuses = await asyncio.gather(*(read(t) for t in tokens))
        for _ in range(200):  # announcements trail the responses slightly
            if any(e["data"].get("members_read") == len(tokens) for e in received):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # a late announcement of an earlier event would show now
    finally:
        await listener.disconnect()
        await asyncio.sleep(0.1)
    return list(statuses), received


def test_concurrent_reads_commit_in_seq_order(server, factory):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    circular = factory.circular(association, author=leader.user)
    readers = factory.bulk_members(association, READERS)
    room = f"leaders:{association.id}"

    statuses, received = asyncio.run(_storm(
        server.url, circular.id, [token for _uid, token in readers],
        factory.token(leader.user), room))

    assert statuses == [200] * READERS
    with Session(factory._engine) as db:
        rows = db.scalars(select(LiveEvent).where(LiveEvent.room == room)
                          .order_by(LiveEvent.seq)).all()
        own = db.execute(select(LiveEvent.room, LiveEvent.payload)
                         .where(LiveEvent.room.like("user:%"))).all()
    counted = [r.payload["members_read"] for r in rows]
    if server.counted_per_read:
        assert counted == list(range(1, READERS + 1))
    else:
        # Never shrinks: no event is stale.  (A read committing between a recount's
        # taking the marks and its counting is counted twice: the same number again.)
        assert counted == sorted(counted)
        assert len(counted) < READERS / 4  # one recount per tick, not per read
    assert counted[-1] == READERS
    assert rows[-1].payload["households_read"] == READERS
    assert sorted(room for room, _ in own) == sorted(f"user:{uid}" for uid, _ in readers)
    assert all(payload["unread"] == 0 for _, payload in own)

    # Every announcement arrived (possibly out of order) and its prev links the chain.
    assert sorted(e["seq"] for e in received) == [r.seq for r in rows]
    expected_prev = dict(zip([r.seq for r in rows], [0] + [r.seq for r in rows[:-1]],
                             strict=True))
    assert {e["seq"]: e["prev"] for e in received} == expected_prev

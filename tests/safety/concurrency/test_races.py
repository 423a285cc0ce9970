"""Races against a real gunicorn server (2 workers × 8 threads), on SQLite and PostgreSQL:
many households answering at once (two members each, each twice) leave one row per
household, and leaders tapping "start" at the same moment open one round."""

from __future__ import annotations

import asyncio
import random

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chounaikai.models import MemberRole, SafetyAnswer, SafetyRound, utcnow

pytestmark = pytest.mark.slow

MEMBERS = 200  # 100 households of two
IN_FLIGHT = 100


async def _post_all(base_url: str, jobs: list[tuple[str, str, dict]]) -> list[tuple[int, str]]:
    gate = asyncio.Semaphore(IN_FLIGHT)
    async with aiohttp.ClientSession(base_url, timeout=aiohttp.ClientTimeout(total=120),
                                     connector=aiohttp.TCPConnector(limit=IN_FLIGHT)) as http:
        async def one(path: str, token: str, body: dict) -> tuple[int, str]:
            async with gate:
                try:
                    async with http.post(path, json=body, headers={
                            "Authorization": f"Bearer {token}"}) as response:
                        return response.status, (await response.text())[:200]
                except aiohttp.ClientError as error:
                    return -1, repr(error)

        return await asyncio.gather(*(one(*job) for job in jobs))


def test_concurrent_answers_leave_one_row_per_household(factory, live_server):
    association = factory.association()
    with Session(factory._engine) as db:
        db.add(SafetyRound(association_id=association.id, started_at=utcnow()))
        db.commit()
    pairs = factory.bulk_members(association, MEMBERS, per_household=2)
    path = f"/api/v1/associations/{association.id}/safety/answer"
    statuses = ["safe", "needs_help", "at_shelter"]
    jobs = [(path, token, {"status": random.choice(statuses)})  # noqa: S311
            for _uid, token in pairs for _ in range(2)]
    random.shuffle(jobs)
    log_offset = live_server.log_size()

    results = asyncio.run(_post_all(live_server.url, jobs))

    failures = [r for r in results if r[0] != 200]
    assert not failures, f"{len(failures)} failed, e.g. {failures[:5]}"
    with Session(factory._engine) as db:
        rows = db.scalar(select(func.count()).select_from(SafetyAnswer))
        households = db.scalar(select(func.count(func.distinct(SafetyAnswer.household_id))))
    assert rows == households == MEMBERS // 2
    log = live_server.log_text(log_offset)
    assert "Traceback" not in log, log[-4000:]


def test_leaders_starting_at_once_open_one_round(factory, live_server):
    association = factory.association()
    tokens = [token for _uid, token in factory.bulk_members(association, 12,
                                                            role=MemberRole.LEADER)]
    path = f"/api/v1/associations/{association.id}/safety/rounds"

    results = asyncio.run(_post_all(live_server.url, [(path, t, {}) for t in tokens]))

    assert sorted(status for status, _body in results) == [200] * 11 + [201], results
    with Session(factory._engine) as db:
        assert db.scalar(select(func.count()).select_from(SafetyRound).where(
            SafetyRound.association_id == association.id)) == 1

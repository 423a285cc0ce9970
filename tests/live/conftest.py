"""Fixtures for live updates: a small town and Flask-SocketIO test clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from chounaikai.models import Association, Block, Circular, GlobalRole, MemberRole, Membership, User
from tests.factories import Factory


@dataclass
class Town:
    """Association A with a leader, a block leader (1班), residents in 1班 and 2班 and one
    published circular for everyone; association B with its own leader."""

    association: Association
    block1: Block
    block2: Block
    leader: Membership
    block_leader: Membership
    resident: Membership
    neighbor: Membership  # 2班
    circular: Circular
    other: Association
    other_leader: Membership
    staff: User

    @property
    def leaders_room(self) -> str:
        return f"leaders:{self.association.id}"


@pytest.fixture(autouse=True)
def _counted_per_read(app: Flask, monkeypatch) -> None:
    """These tests follow each receipt's own event: the leaders' counters are recounted
    in the receipt's transaction (tests/live/test_counters.py covers the per-tick mode)."""
    monkeypatch.setitem(app.config, "LIVE_COUNTS_SECONDS", 0)


@pytest.fixture
def town(factory: Factory) -> Town:
    association = factory.association(name="原町田一丁目町内会", blocks=("1班", "2班"))
    block1, block2 = association.blocks
    leader = factory.member(association, role=MemberRole.LEADER, block=block1,
                            user=factory.user(name="高橋 一郎"))
    block_leader = factory.member(association, role=MemberRole.BLOCK_LEADER, block=block1,
                                  user=factory.user(name="伊藤 班長"))
    resident = factory.member(association, block=block1, user=factory.user(name="山田 花子"))
    neighbor = factory.member(association, block=block2, user=factory.user(name="佐藤 太郎"))
    circular = factory.circular(association, title="秋の防災訓練のお知らせ", ack_required=True,
                                author=leader.user)
    other = factory.association(name="鶴川町内会")
    other_leader = factory.member(other, role=MemberRole.LEADER)
    staff = factory.user(role=GlobalRole.STAFF)
    return Town(association, block1, block2, leader, block_leader, resident, neighbor, circular,
                other, other_leader, staff)


@pytest.fixture
def sockets(app: Flask) -> Iterator[Callable[..., Any]]:
    """``sockets(flask_client=None, auth=None)``: a Socket.IO test client of ``app``
    (with the Flask test client's cookies when given).  All are disconnected afterwards."""
    socketio = app.extensions["socketio"]
    server = socketio.server
    handlers = (server.async_handlers, server.eio.async_handlers)
    made: list[Any] = []

    def _connect(flask_client=None, auth: dict[str, Any] | None = None):
        client = socketio.test_client(app, flask_test_client=flask_client, auth=auth)
        made.append(client)
        return client

    yield _connect
    for client in made:
        if client.is_connected():
            client.disconnect()
    # The test client patches the app's server in place; undo it so a real server of the
    # same app (the browser tests) delivers to real sockets again.
    for name in ("_send_packet", "_send_eio_packet"):
        vars(server).pop(name, None)
    server.async_handlers, server.eio.async_handlers = handlers


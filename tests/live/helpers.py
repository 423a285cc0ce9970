"""Helpers for the live-update tests."""

from __future__ import annotations

from typing import Any


def live_events(socket_client) -> list[dict[str, Any]]:
    """The ``live`` envelopes a test client received since the last call."""
    return [message["args"][0] for message in socket_client.get_received()
            if message["name"] == "live"]


def join(socket_client, room: Any) -> dict[str, Any]:
    return socket_client.emit("join", {"room": room}, callback=True)

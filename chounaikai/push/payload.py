"""The JSON each device decrypts: ids, a localized title, the circular's title, url, tag.

Never names or addresses: the text passes through third-party push services.
The notification ``tag`` equals the RFC 8030 ``Topic``, so a re-sent or
replaced message shows as one notification on the phone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..alerts.templates import alert_text
from ..i18n import DEFAULT_LOCALE, LANGUAGES, force_language
from ..models import Alert, Circular, CircularTranslation, Notification, Priority

# Push services accept about 4 KB of ciphertext; stay well under it.
MAX_PAYLOAD_BYTES = 3072
BODY_LIMIT = 200


@dataclass(frozen=True)
class NoteInfo:
    """What the sender needs of a notification, read once per batch."""

    id: int
    kind: str
    priority: Priority
    topic: str | None
    ttl_seconds: int
    payload: dict[str, Any]
    circular_title: str | None  # read from the circular at send time: corrections count
    # language code → the circular's title as the leader translated it
    translated_titles: dict[str, str] = field(default_factory=dict)
    alert: Alert | None = None  # a detached copy, for alert notifications


def load_notes(conn: Connection, ids: set[int]) -> dict[int, NoteInfo]:
    """The notifications ``ids`` with their circulars' current titles."""
    rows = conn.execute(
        select(Notification.id, Notification.kind, Notification.priority, Notification.topic,
               Notification.ttl_seconds, Notification.payload, Notification.audience)
        .where(Notification.id.in_(ids))).all()
    circular_ids = {row.audience.get("circular_id") for row in rows} - {None}
    titles = dict(conn.execute(select(Circular.id, Circular.title)
                               .where(Circular.id.in_(circular_ids))).all()) if circular_ids else {}
    translated: dict[int, dict[str, str]] = {}
    if circular_ids:
        for row in conn.execute(
                select(CircularTranslation.circular_id, CircularTranslation.language,
                       CircularTranslation.title)
                .where(CircularTranslation.circular_id.in_(circular_ids))):
            translated.setdefault(row.circular_id, {})[row.language] = row.title
    alerts = _alerts(conn, {(row.payload or {}).get("alert_id") for row in rows} - {None})
    return {row.id: NoteInfo(row.id, row.kind, row.priority, row.topic, row.ttl_seconds,
                             row.payload or {}, titles.get(row.audience.get("circular_id")),
                             translated.get(row.audience.get("circular_id"), {}),
                             alerts.get((row.payload or {}).get("alert_id")))
            for row in rows}


def _alerts(conn: Connection, ids: set[int]) -> dict[int, Alert]:
    """Detached Alert objects: enough for the templates to word them in any language."""
    if not ids:
        return {}
    columns = (Alert.id, Alert.message_type, Alert.kind, Alert.hazard, Alert.texts,
               Alert.target, Alert.districts)
    return {row.id: Alert(**row._asdict())
            for row in conn.execute(select(*columns).where(Alert.id.in_(ids)))}


def _texts(note: NoteInfo, language: str) -> tuple[str, str]:
    """(title, body) in the forced language; a circular's own title as translated."""
    data = note.payload
    if note.kind == "circular":
        return _("新しい回覧があります"), (note.translated_titles.get(language)
                                          or note.circular_title or str(data.get("title", "")))
    if note.kind == "digest":
        count = int(data.get("count", 0))
        return _("回覧のまとめ"), ngettext("新しい回覧が%(num)d件あります",
                                          "新しい回覧が%(num)d件あります", count)
    if note.kind == "safety":
        return _("安否確認"), _("安否確認をしています。無事かどうか教えてください。")
    if note.alert is not None:
        text = alert_text(note.alert, language, current_app.config["CITY_NAME"])
        return text.headline, text.description
    if note.priority == Priority.EMERGENCY:
        return _("緊急のお知らせ"), str(data.get("title", ""))
    return _("お知らせ"), str(data.get("title", ""))


def build(note: NoteInfo, locale: str | None) -> bytes:
    """The UTF-8 JSON for one notification in the recipient's language (app context needed)."""
    with force_language(locale if locale in LANGUAGES else DEFAULT_LOCALE) as language:
        title, body = _texts(note, language.code)
    data: dict[str, Any] = {
        "v": 1,
        "kind": note.kind,
        "notification_id": note.id,
        "title": title,
        "body": body[:BODY_LIMIT],
        "url": str(note.payload.get("url") or "/"),
        "tag": note.topic or f"n-{note.id}",
        "urgent": note.priority == Priority.EMERGENCY,
        "lang": language.html,  # the service worker sets the notification's language
    }
    for key in ("circular_id", "alert_id", "count"):
        if isinstance(note.payload.get(key), int):
            data[key] = note.payload[key]
    encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    if len(encoded) > MAX_PAYLOAD_BYTES:  # only a pathological body can get here
        data["body"] = body[:40]
        encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return encoded


class PayloadCache:
    """Payload bytes per (notification, locale): built once, shared by every recipient."""

    def __init__(self) -> None:
        self.notes: dict[int, NoteInfo] = {}
        self._built: dict[tuple[int, str | None], bytes] = {}

    def need(self, conn: Connection, ids: set[int]) -> None:
        missing = ids - self.notes.keys()
        if missing:
            self.notes.update(load_notes(conn, missing))

    def get(self, notification_id: int, locale: str | None) -> bytes:
        key = (notification_id, locale)
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = build(self.notes[notification_id], locale)
        return built

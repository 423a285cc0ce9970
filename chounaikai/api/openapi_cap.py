"""OpenAPI paths, schemas and tags of the cap API routes (merged by openapi.py)."""

from __future__ import annotations

from typing import Any

from .openapi_components import DATETIME, ID, NULLABLE_DATETIME, NULLABLE_ID, obj, ref

_P = "/api/v1"
_XML_BODY = {"type": "string", "contentMediaType": "application/xml",
             "description": "A CAP 1.2 document (urn:oasis:names:tc:emergency:cap:1.2), "
             "at most 1 MB"}


def _import_operation() -> dict[str, Any]:
    from .openapi import op  # here: openapi.py imports this module while it loads

    operation = op(
        "import_cap", "cap", "Import a CAP 1.2 alert document", "city staff", status=201,
        schema="ImportedAlert", errors=(400, 403, 413, 415), description=(
            "The body is the XML itself (Content-Type `application/xml`, "
            "`application/cap+xml` or `text/xml`). Documents with a DTD or entity "
            "declaration are refused, the rest must validate against the OASIS CAP 1.2 "
            "schema; a refused document stores nothing and the 400 message names the line "
            "and the problem. Only `scope` Public and `msgType` Alert, Update or Cancel are "
            "accepted. The same `sender` + `identifier` again answers 200 with the alert "
            "already stored. The alert targets the whole city; an Update or Cancel makes the "
            "stored messages it references inactive. Nothing is pushed. The document is "
            "then served verbatim at `/alerts/{id}/cap.xml`."))
    operation["requestBody"] = {"required": True, "content": {
        media: {"schema": _XML_BODY}
        for media in ("application/xml", "application/cap+xml", "text/xml")}}
    operation["responses"]["200"] = {
        "description": "This sender's identifier was already imported; nothing changed",
        "content": {"application/json": {"schema": ref("ImportedAlert")}}}
    return operation


PATHS: dict[str, Any] = {f"{_P}/alerts/cap": {"post": _import_operation()}}
SCHEMAS: dict[str, Any] = {
    "ImportedAlert": obj({
        "id": ID,
        "identifier": {"type": "string", "description": "CAP identifier"},
        "sender": {"type": "string", "description": "CAP sender"},
        "sent_at": DATETIME,
        "expires_at": {**NULLABLE_DATETIME, "description": "the latest <expires>, if any"},
        "message_type": {"type": "string", "enum": ["alert", "update", "cancel"]},
        "hazard": {"type": ["string", "null"], "description": (
            "guessed from the event words and category; null when none of ours fits"),
                   "enum": ["flood", "landslide", "storm_surge", "earthquake", "tsunami",
                            "fire", "inland_flooding", "volcano", None]},
        "active": {"type": "boolean", "description": (
            "false for Cancel, expired, or non-Actual status (Test, Exercise, …)")},
        "references_id": {**NULLABLE_ID, "description": "the stored message it replaces"},
        "languages": {"type": "array", "items": {"type": "string"}, "description": (
            "keys of the stored texts: an interface language code, or the raw <info> "
            "language tag when none matches (e.g. de-DE)")},
        "cap_url": {"type": "string", "format": "uri"},
    }),
}
TAGS: list[dict[str, str]] = [
    {"name": "cap", "description": "CAP 1.2 alert documents from other authorities"},
]

"""Reusable OpenAPI 3.1 components: schemas, parameters and error responses."""

from __future__ import annotations

from typing import Any

from ..i18n import DEFAULT_LOCALE, LANGUAGES
from ..models import MAX_ID

Schema = dict[str, Any]


DATETIME = {"type": "string", "format": "date-time",
            "description": "ISO 8601 with an offset, e.g. 2025-04-01T09:00:00+09:00"}
NULLABLE_DATETIME = {**DATETIME, "type": ["string", "null"]}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
NULLABLE_ID = {**ID, "type": ["integer", "null"]}
ROLE = {"type": "string", "enum": ["resident", "block_leader", "leader"]}
TRANSLATION_LANGUAGE = {"type": "string",
                        "enum": [code for code in LANGUAGES if code != DEFAULT_LOCALE],
                        "description": "interface language; ja-easy is やさしい日本語"}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: Schema, required: tuple[str, ...] | None = None, *,
        closed: bool = True) -> Schema:
    """An object schema; ``required`` defaults to every property."""
    schema: Schema = {"type": "object", "properties": properties,
                      "required": list(properties if required is None else required)}
    if closed:
        schema["additionalProperties"] = False
    return schema


def items_of(name: str) -> Schema:
    return obj({"items": {"type": "array", "items": ref(name)}})


def string(max_length: int, **extra: Any) -> Schema:
    return {"type": "string", "maxLength": max_length, **extra}


_ASSOCIATION = {"id": ID, "name": {"type": "string"}, "district": {"type": "string"}}
_CIRCULAR_SUMMARY = {
    "id": ID, "association_id": ID, "title": {"type": "string"},
    "audience_all": {"type": "boolean"}, "block_ids": {"type": "array", "items": ID},
    "publish_at": DATETIME, "deadline_at": NULLABLE_DATETIME,
    "ack_required": {"type": "boolean"}, "revision": {"type": "integer"},
    "corrected_at": NULLABLE_DATETIME, "attachment_count": {"type": "integer"},
}
_OWN_RECEIPT = {"read_at": NULLABLE_DATETIME, "acknowledged_at": NULLABLE_DATETIME}
_CIRCULAR_INPUT = {
    "title": string(200), "body": string(20_000, description="Markdown"),
    "audience_all": {"type": "boolean", "default": True},
    "block_ids": {"type": "array", "items": ID, "maxItems": 500,
                  "description": "Required (non-empty) when audience_all is false"},
    "publish_at": {**NULLABLE_DATETIME, "description": "Default: now. Ignored once published."},
    "deadline_at": NULLABLE_DATETIME,
    "ack_required": {"type": "boolean", "default": False},
}
_MEMBER_STATUS = obj({"id": ID, "display_name": {"type": "string"}, "role": ROLE,
                      **_OWN_RECEIPT})
_HOUSEHOLD_STATUS = obj({
    "id": ID, "name": {"type": "string"}, "has_smartphone": {"type": "boolean"},
    "read": {"type": "boolean"}, "acknowledged": {"type": "boolean"},
    "paper": {"oneOf": [{"type": "null"}, obj(_OWN_RECEIPT)]},
    "members": {"type": "array", "items": _MEMBER_STATUS},
})

SCHEMAS: dict[str, Schema] = {
    "Error": obj({"error": obj({
        "code": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Message per request field"}}, ("code", "message"))}),
    "TokenRequest": obj({"login": string(254, description="login id or e-mail"),
                         "password": string(1024), "token_name": string(80)},
                        ("login", "password")),
    "RegisterRequest": obj({
        "code": string(64), "display_name": string(80), "login_id": string(64),
        "email": string(254), "password": string(1024, minLength=8),
        "household_name": string(80, description="A new household (or give household_code)"),
        "household_code": string(32, description="Join an existing household"),
        "token_name": string(80)}, ("code", "display_name", "login_id", "password")),
    "RedeemRequest": obj({"code": string(64), "household_name": string(80),
                          "household_code": string(32)}, ("code",)),
    "Token": obj({"token": {"type": "string"}, "token_type": {"const": "Bearer"},
                  "user": obj({"id": ID, "display_name": {"type": "string"}}),
                  "membership": ref("OwnMembership")}, ("token", "token_type", "user")),
    "Association": obj(_ASSOCIATION),
    "AssociationWithRole": obj({**_ASSOCIATION, "role": ROLE}),
    "AssociationList": items_of("AssociationWithRole"),
    "AssociationCreate": obj({"name": string(120), "district": string(80)}),
    "OwnMembership": obj({
        "id": ID, "association": ref("Association"), "role": ROLE,
        "household": obj({"id": ID, "name": {"type": "string"}, "block_id": NULLABLE_ID,
                          "join_code": {"type": "string"}}),
        "joined_at": DATETIME}),
    "Me": obj({
        "id": ID, "login_id": {"type": "string"}, "email": {"type": ["string", "null"]},
        "display_name": {"type": "string"},
        "global_role": {"type": "string", "enum": ["none", "staff", "admin"]},
        "is_staff": {"type": "boolean"}, "locale": {"type": ["string", "null"]},
        "large_text": {"type": "boolean"},
        "memberships": {"type": "array", "items": ref("OwnMembership")}}),
    "StaffCounts": items_of("AssociationCounts"),
    "AssociationCounts": obj({"association": ref("Association"),
                              "households": {"type": "integer"},
                              "members": {"type": "integer"},
                              "circulars": {"type": "integer"},
                              "household_reads": {"type": "integer"}}),
    "Block": obj({"id": ID, "association_id": ID, "name": {"type": "string"}}),
    "BlockList": items_of("Block"),
    "BlockCreate": obj({"name": string(60)}),
    "Household": obj({"id": ID, "association_id": ID, "block_id": NULLABLE_ID,
                      "name": {"type": "string"}, "has_smartphone": {"type": "boolean"}}),
    "HouseholdList": items_of("Household"),
    "HouseholdCreate": obj({"name": string(80), "block_id": NULLABLE_ID,
                            "has_smartphone": {"type": "boolean", "default": False,
                                               "description": "false: a paper household"}},
                           ("name",)),
    "HouseholdMove": obj({"block_id": NULLABLE_ID}),
    "RosterMember": obj({"id": ID, "display_name": {"type": "string"}, "role": ROLE,
                         "household": obj({"id": ID, "name": {"type": "string"},
                                           "block_id": NULLABLE_ID})}),
    "Roster": obj({"association": ref("Association"),
                   "blocks": {"type": "array", "items": ref("Block")},
                   "members": {"type": "array", "items": ref("RosterMember")}}),
    "RoleChange": obj({"role": ROLE}),
    "Invite": obj({"id": ID, "association_id": ID, "code": {"type": "string"}, "role": ROLE,
                   "block_id": NULLABLE_ID,
                   "max_uses": {"type": ["integer", "null"]}, "uses": {"type": "integer"},
                   "expires_at": DATETIME, "revoked_at": NULLABLE_DATETIME,
                   "created_at": DATETIME, "join_url": {"type": "string", "format": "uri"}}),
    "InviteList": items_of("Invite"),
    "InviteCreate": obj({
        "role": {**ROLE, "default": "resident"}, "block_id": NULLABLE_ID,
        "max_uses": {"type": ["integer", "null"], "minimum": 1, "maximum": 1000, "default": 1,
                     "description": "null: unlimited until expiry"},
        "valid_days": {"type": "integer", "minimum": 1, "maximum": 365, "default": 30}}, ()),
    "Attachment": obj({"id": ID, "name": {"type": "string"},
                       "content_type": {"type": "string",
                                        "enum": ["application/pdf", "image/jpeg", "image/png"]},
                       "size": {"type": "integer"}, "url": {"type": "string"}}),
    "CircularSummary": obj(_CIRCULAR_SUMMARY),
    "Circular": obj({**_CIRCULAR_SUMMARY, "body_md": {"type": "string"},
                     "body_html": {"type": "string", "description": "sanitized HTML"},
                     "attachments": {"type": "array", "items": ref("Attachment")},
                     "translations": {"type": "array", "items": ref("Translation"),
                                      "description": "the leader's translations; the circular "
                                                     "itself is the Japanese original"},
                     **_OWN_RECEIPT}),
    "Translation": obj({"language": TRANSLATION_LANGUAGE, "title": {"type": "string"},
                        "body_md": {"type": "string"},
                        "body_html": {"type": "string", "description": "sanitized HTML"},
                        "updated_at": DATETIME}),
    "TranslationInput": obj({"title": string(200), "body": string(20_000)}),
    "CircularInput": obj(_CIRCULAR_INPUT, ("title", "body")),
    "CircularForm": obj({**_CIRCULAR_INPUT,
                         "files": {"type": "array", "items": {
                             "type": "string", "contentMediaType": "application/octet-stream"},
                             "description": "PDF, JPEG or PNG; at most 5 per circular"}},
                        ("title", "body")),
    "Inbox": obj({"unread": {"type": "integer"}, "items": {"type": "array", "items": obj(
        {**_CIRCULAR_SUMMARY, **_OWN_RECEIPT})}}),
    "LeaderList": obj({"items": {"type": "array", "items": obj(
        {**_CIRCULAR_SUMMARY, "households_read": {"type": "integer"}})}}),
    "Receipt": obj({"circular_id": ID, "household_id": ID, "read_at": DATETIME,
                    "acknowledged_at": NULLABLE_DATETIME,
                    "proxy": {"type": "boolean",
                              "description": "recorded by a leader for a paper household"}}),
    "PaperReceiptRequest": obj({"acknowledge": {"type": "boolean", "default": False}}, ()),
    "StatusReport": obj({
        "circular": ref("CircularSummary"),
        "totals": obj({k: {"type": "integer"} for k in (
            "households", "households_read", "households_acknowledged", "members",
            "members_read")}),
        "blocks": {"type": "array", "items": obj({
            "id": NULLABLE_ID, "name": {"type": ["string", "null"]},
            "household_count": {"type": "integer"}, "households_read": {"type": "integer"},
            "households_acknowledged": {"type": "integer"},
            "households": {"type": "array", "items": _HOUSEHOLD_STATUS}})}}),
}

_ERRORS = {
    400: "Invalid input; `error.fields` names each bad field",
    401: "Missing or invalid bearer token (a `WWW-Authenticate: Bearer` header is sent)",
    403: "A member whose role is too low, or not city staff",
    404: "Does not exist, or the caller is not a member of its association",
    409: "Conflicts with the current state (e.g. the last leader, a non-empty block)",
    413: "The request body is too large",
    415: "The body is not JSON (or multipart/form-data where accepted)",
    429: "Too many attempts; try again in a minute",
}

RESPONSES: dict[str, Schema] = {
    str(status): {"description": text,
                  "content": {"application/json": {"schema": ref("Error")}}}
    for status, text in _ERRORS.items()
}

PARAMETER_NAMES = ("association_id", "block_id", "household_id", "membership_id",
                   "invite_id", "circular_id", "attachment_id")
PARAMETERS: dict[str, Schema] = {
    name: {"name": name, "in": "path", "required": True, "schema": ID}
    for name in PARAMETER_NAMES
}

PARAMETERS["language"] = {"name": "language", "in": "path", "required": True,
                          "schema": TRANSLATION_LANGUAGE}

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "A token from POST /api/v1/tokens or /api/v1/register"},
}

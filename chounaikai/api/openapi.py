"""The OpenAPI 3.1 document of the API, as Python data, served at GET /api/v1/openapi.json.

Each operation's ``operationId`` is its view's name in the ``api`` blueprint;
tests/api/test_openapi.py fails when a route and this document disagree.
"""

from __future__ import annotations

from typing import Any

from . import bp
from .auth import public
from .openapi_components import (
    DATETIME,
    ID,
    NULLABLE_DATETIME,
    PARAMETERS,
    RESPONSES,
    SCHEMAS,
    SECURITY_SCHEMES,
    obj,
    ref,
    string,
)

P = "/api/v1"
JSON = "application/json"
Op = dict[str, Any]

_TAGS = [
    {"name": "auth", "description": "Tokens, registration with an invite code, own profile"},
    {"name": "associations", "description": "Associations and the city staff counts"},
    {"name": "structure", "description": "Blocks (班) and households (世帯)"},
    {"name": "members", "description": "Roster, roles and removal (leaders)"},
    {"name": "invites", "description": "Invite codes and their QR flyers"},
    {"name": "circulars", "description": "Circulars (回覧), receipts and attachments"},
    {"name": "push", "description": "Web Push: own devices, notification settings, VAPID key"},
    {"name": "meta", "description": "This document"},
]


def op(operation_id: str, tag: str, summary: str, who: str, *, status: int = 200,
       schema: str | None = None, body: str | None = None, errors: tuple[int, ...] = (),
       params: tuple[str, ...] = (), multipart: str | None = None, optional_body: bool = False,
       auth: bool = True, content: Op | None = None, description: str = "") -> Op:
    """One operation.  ``errors`` lists statuses besides 401 (added for protected ones)."""
    ok: Op = {"description": "OK" if status != 204 else "No content"}
    if schema:
        ok["content"] = {JSON: {"schema": ref(schema)}}
    if content:
        ok["content"] = content
    responses = {str(status): ok}
    for code in sorted(set(errors) | ({401} if auth else set())):
        responses[str(code)] = {"$ref": f"#/components/responses/{code}"}
    operation: Op = {"operationId": operation_id, "tags": [tag], "summary": summary,
                     "description": f"**Who:** {who}." + (f"\n\n{description}" if description
                                                           else ""),
                     "responses": responses}
    if params:
        operation["parameters"] = [{"$ref": f"#/components/parameters/{p}"} for p in params]
    if body or multipart:
        media: Op = {}
        if body:
            media[JSON] = {"schema": ref(body)}
        if multipart:
            media["multipart/form-data"] = {"schema": ref(multipart)}
        operation["requestBody"] = {"required": not optional_body, "content": media}
    if not auth:
        operation["security"] = []
    return operation


_WRITE = (400, 403, 404, 415)
_READ = (403, 404)
_MEMBER = "a member of the association"
_LEADER = "a leader (会長・役員) of the association"
_BLOCK_LEADER = "a block leader (班長) or leader; block leaders see only their own block"
_CIRCULAR_BODY = ("Send JSON, or multipart/form-data with the same fields as form fields "
                  "(booleans as true/false, `block_ids` repeated or comma-separated) plus "
                  "any number of `files` parts.")

PATHS: dict[str, dict[str, Op]] = {
    f"{P}/openapi.json": {"get": op(
        "openapi_document", "meta", "This OpenAPI document", "anyone", auth=False,
        content={JSON: {"schema": {"type": "object"}}})},
    f"{P}/tokens": {"post": op(
        "create_token", "auth", "Obtain a bearer token", "anyone with a login",
        status=201, schema="Token", body="TokenRequest", errors=(400, 401, 415, 429),
        auth=False, description="Rate limited like the web login. A bad login or password "
        "gives 401 with code `invalid_credentials`.")},
    f"{P}/tokens/current": {"delete": op(
        "delete_token", "auth", "Revoke the token of this request", "any token holder",
        status=204)},
    f"{P}/register": {"post": op(
        "register", "auth", "Register with an invite code", "anyone with an invite code",
        status=201, schema="Token", body="RegisterRequest", errors=(400, 415, 429), auth=False,
        description="Creates the account and membership and returns a token. An unknown, "
        "expired, used or revoked code gives 400 with `error.fields.code`; nothing is "
        "written then.")},
    f"{P}/invites/redeem": {"post": op(
        "redeem_invite", "auth", "Join an association with an invite code",
        "any authenticated user", status=201, schema="OwnMembership", body="RedeemRequest",
        errors=(400, 415, 429))},
    f"{P}/me": {"get": op(
        "me", "auth", "Own profile and memberships", "any authenticated user", schema="Me")},
    f"{P}/associations": {
        "get": op("list_associations", "associations", "Associations I belong to",
                  "any authenticated user", schema="AssociationList"),
        "post": op("create_association", "associations", "Register an association",
                   "city staff", status=201, schema="Association", body="AssociationCreate",
                   errors=(400, 403, 415)),
    },
    f"{P}/staff/associations": {"get": op(
        "staff_counts", "associations", "Counts per association (aggregates only)",
        "city staff", schema="StaffCounts", errors=(403,),
        description="Audit-logged. Never shows who read what.")},
    f"{P}/associations/{{association_id}}/blocks": {
        "get": op("list_blocks", "structure", "List blocks", _MEMBER, schema="BlockList",
                  params=("association_id",), errors=(404,)),
        "post": op("create_block", "structure", "Add a block", _LEADER, status=201,
                   schema="Block", body="BlockCreate", params=("association_id",),
                   errors=_WRITE),
    },
    f"{P}/blocks/{{block_id}}": {"delete": op(
        "delete_block", "structure", "Delete an empty block", _LEADER, status=204,
        params=("block_id",), errors=(403, 404, 409))},
    f"{P}/associations/{{association_id}}/households": {
        "get": op("list_households", "structure", "List households", _LEADER,
                  schema="HouseholdList", params=("association_id",), errors=_READ),
        "post": op("create_household", "structure", "Add a household (e.g. a paper one)",
                   _LEADER, status=201, schema="Household", body="HouseholdCreate",
                   params=("association_id",), errors=_WRITE),
    },
    f"{P}/households/{{household_id}}/block": {"put": op(
        "move_household", "structure", "Move a household to another block", _LEADER,
        schema="Household", body="HouseholdMove", params=("household_id",), errors=_WRITE)},
    f"{P}/associations/{{association_id}}/members": {"get": op(
        "list_members", "members", "The roster", _LEADER, schema="Roster",
        params=("association_id",), errors=_READ,
        description="Audit-logged. Shows display name, role and household only.")},
    f"{P}/members/{{membership_id}}/role": {"put": op(
        "change_role", "members", "Change a member's role", _LEADER, schema="RosterMember",
        body="RoleChange", params=("membership_id",), errors=(*_WRITE, 409))},
    f"{P}/members/{{membership_id}}": {"delete": op(
        "remove_member", "members", "Remove a member", _LEADER, status=204,
        params=("membership_id",), errors=(403, 404, 409),
        description="Ends the member's sessions and API tokens at once.")},
    f"{P}/associations/{{association_id}}/invites": {
        "get": op("list_invites", "invites", "List invite codes", _LEADER,
                  schema="InviteList", params=("association_id",), errors=_READ),
        "post": op("create_invite", "invites", "Create an invite code",
                   f"{_LEADER}; city staff for role `leader`", status=201, schema="Invite",
                   body="InviteCreate", optional_body=True, params=("association_id",),
                   errors=_WRITE),
    },
    f"{P}/invites/{{invite_id}}/revoke": {"post": op(
        "revoke_invite", "invites", "Revoke an invite code",
        f"{_LEADER}; city staff for leader invites", schema="Invite", params=("invite_id",),
        errors=_READ)},
    f"{P}/invites/{{invite_id}}/qr.svg": {"get": op(
        "invite_qr", "invites", "The invite's join URL as a QR code",
        f"{_LEADER}; city staff for leader invites", params=("invite_id",), errors=_READ,
        content={"image/svg+xml": {"schema": {"type": "string"}}})},
    f"{P}/associations/{{association_id}}/circulars": {
        "get": op("inbox", "circulars", "My circulars with read status and unread count",
                  _MEMBER, schema="Inbox", params=("association_id",), errors=(404,)),
        "post": op("create_circular", "circulars", "Write a circular", _LEADER, status=201,
                   schema="Circular", body="CircularInput", multipart="CircularForm",
                   params=("association_id",), errors=(*_WRITE, 413),
                   description=_CIRCULAR_BODY),
    },
    f"{P}/associations/{{association_id}}/circulars/manage": {"get": op(
        "leader_list", "circulars", "All circulars with read-household counts",
        "a block leader or leader", schema="LeaderList", params=("association_id",),
        errors=_READ)},
    f"{P}/circulars/{{circular_id}}": {
        "get": op("show_circular", "circulars", "One circular with my receipt",
                  f"{_MEMBER} in its audience once published; leaders always",
                  schema="Circular", params=("circular_id",), errors=(404,)),
        "put": op("correct_circular", "circulars", "Correct (replace) a circular", _LEADER,
                  schema="Circular", body="CircularInput", multipart="CircularForm",
                  params=("circular_id",), errors=(*_WRITE, 413),
                  description=_CIRCULAR_BODY + " Once published the edit is shown as a "
                  "correction (訂正) and `publish_at` is kept; `files` are added."),
    },
    f"{P}/circulars/{{circular_id}}/translations/{{language}}": {
        "put": op("save_translation", "circulars", "Add or replace a translation (idempotent)",
                  _LEADER, schema="Translation", body="TranslationInput",
                  params=("circular_id", "language"), errors=_WRITE,
                  description="Residents whose language has a translation read it; others "
                  "read the Japanese original with a note that it is not translated."),
        "delete": op("delete_translation", "circulars", "Remove a translation (idempotent)",
                     _LEADER, status=204, params=("circular_id", "language"), errors=_READ),
    },
    f"{P}/circulars/{{circular_id}}/read": {"post": op(
        "mark_read", "circulars", "Mark as read (idempotent)",
        f"{_MEMBER} in its audience", schema="Receipt", params=("circular_id",),
        errors=(404,), description="Repeating keeps the first `read_at`; one row per member.")},
    f"{P}/circulars/{{circular_id}}/ack": {"post": op(
        "acknowledge", "circulars", "Acknowledge (確認しました, idempotent)",
        f"{_MEMBER} in its audience", schema="Receipt", params=("circular_id",),
        errors=(404,))},
    f"{P}/circulars/{{circular_id}}/status": {"get": op(
        "status", "circulars", "Read status per block, household and member", _BLOCK_LEADER,
        schema="StatusReport", params=("circular_id",), errors=_READ,
        description="Audit-logged.")},
    f"{P}/circulars/{{circular_id}}/paper/{{household_id}}": {"post": op(
        "paper_receipt", "circulars", "Record a paper household's read (proxy receipt)",
        f"{_BLOCK_LEADER}", schema="Receipt", body="PaperReceiptRequest",
        optional_body=True, params=("circular_id", "household_id"), errors=_WRITE)},
    f"{P}/attachments/{{attachment_id}}": {"get": op(
        "attachment", "circulars", "Download an attachment",
        "anyone who may read its circular", params=("attachment_id",), errors=(404,),
        content={t: {"schema": {"type": "string", "contentMediaType": t}}
                 for t in ("application/pdf", "image/jpeg", "image/png")},
        description="Sent with Content-Disposition and X-Content-Type-Options: nosniff.")},
}

# -- Web Push (chounaikai/api/routes_push.py) ----------------------------------------------
_OWN = "any authenticated user (own data only)"
_CLOCK = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "examples": ["21:00"]}
_B64URL = {"type": "string", "pattern": "^[A-Za-z0-9_-]+={0,2}$"}
PUSH_SCHEMAS: dict[str, Any] = {
    "PushSubscriptionInput": obj({
        "endpoint": string(2048, format="uri", description=(
            "https URL of a push service on the server's allow-list (FCM, Mozilla, Apple, "
            "Windows); other hosts, http, userinfo, fragments and IP addresses are refused")),
        "keys": obj({"p256dh": {**_B64URL, "description": "65-byte uncompressed P-256 point"},
                     "auth": {**_B64URL, "description": "16 bytes"}}),
        "expirationTime": {"type": ["number", "null"], "minimum": 0,
                           "description": "milliseconds since the epoch, or null"},
        "device_label": string(60, description="default: from the User-Agent, e.g. "
                               "\"iPhone Safari\"")}, ("endpoint", "keys")),
    "PushDevice": obj({"id": ID, "device_label": {"type": "string"},
                       "origin": {"type": "string", "description": "the push service"},
                       "created_at": DATETIME, "last_success_at": NULLABLE_DATETIME,
                       "expiration_time": NULLABLE_DATETIME}),
    "PushDeviceList": obj({"items": {"type": "array", "items": ref("PushDevice")}}),
    "NotificationSettings": obj({
        "quiet_hours": {"oneOf": [{"type": "null"}, obj({"start": _CLOCK, "end": _CLOCK})],
                        "description": "Asia/Tokyo wall-clock time; start after end runs "
                        "over midnight. Emergencies ring regardless."},
        "daily_digest": {"type": "boolean",
                         "description": "one morning summary instead of a push per circular"},
        "timezone": {"const": "Asia/Tokyo"}}),
    "NotificationSettingsInput": obj({
        "quiet_hours": {"oneOf": [{"type": "null"}, obj({"start": _CLOCK, "end": _CLOCK})]},
        "daily_digest": {"type": "boolean"}}),
    "VapidPublicKey": obj({"public_key": {**_B64URL, "description": (
        "applicationServerKey for pushManager.subscribe: base64url of the 65-byte "
        "uncompressed P-256 point")}}),
}
PUSH_PARAMETERS = {"subscription_id": {"name": "subscription_id", "in": "path",
                                       "required": True, "schema": ID}}
_UNAVAILABLE = {"description": "Web Push is not configured on this server (no VAPID key)",
                "content": {JSON: {"schema": ref("Error")}}}


def _with_503(operation: Op) -> Op:
    operation["responses"]["503"] = _UNAVAILABLE
    return operation


PATHS.update({
    f"{P}/push/vapid-public-key": {"get": _with_503(op(
        "vapid_public_key", "push", "The VAPID public key (applicationServerKey)",
        "any authenticated user", schema="VapidPublicKey"))},
    f"{P}/push/subscriptions": {
        "get": op("list_push_subscriptions", "push", "My devices that receive pushes", _OWN,
                  schema="PushDeviceList"),
        "post": op("create_push_subscription", "push", "Register this device (idempotent)",
                   _OWN, status=201, schema="PushDevice", body="PushSubscriptionInput",
                   errors=(400, 409, 415), description=(
                       "Send the browser's `PushSubscription.toJSON()`. The same endpoint "
                       "again updates its row and answers 200 (it moves to the caller if "
                       "another member had it: the device follows whoever subscribes on it). "
                       "At most 20 devices per member (409). Bodies over 4 KB give 400.")),
    },
    f"{P}/push/subscriptions/{{subscription_id}}": {"delete": op(
        "delete_push_subscription", "push", "Stop pushes to one of my devices", _OWN,
        status=204, params=("subscription_id",), errors=(404,),
        description="Another member's device id gives 404.")},
    f"{P}/me/notification-settings": {
        "get": op("notification_settings", "push", "My quiet hours and daily digest", _OWN,
                  schema="NotificationSettings"),
        "put": op("update_notification_settings", "push",
                  "Replace my quiet hours and daily digest", _OWN,
                  schema="NotificationSettings", body="NotificationSettingsInput",
                  errors=(400, 415), description="Both fields are required; "
                  "`quiet_hours: null` turns quiet hours off."),
    },
})
PATHS[f"{P}/push/subscriptions"]["post"]["responses"]["200"] = {
    "description": "The endpoint was already registered; its row was updated",
    "content": {JSON: {"schema": ref("PushDevice")}}}

# -- Live updates (chounaikai/api/routes_live.py) --------------------------------------------
SCHEMAS["LiveEvent"] = obj({
    "seq": {"type": "integer", "minimum": 1, "description": "grows with every event"},
    "prev": {"type": ["integer", "null"], "description": (
        "the room's previous seq (Socket.IO only; null here)")},
    "room": {"type": "string", "examples": ["user:12", "leaders:3"]},
    "kind": {"type": "string", "examples": ["circular", "receipt", "receipts"]},
    "data": {"type": "object", "description": "ids and counts only, never names"},
    "at": DATETIME})
SCHEMAS["LiveEventPage"] = obj({
    "room": {"type": "string"}, "events": {"type": "array", "items": ref("LiveEvent")},
    "has_more": {"type": "boolean", "description": "ask again with after=last"},
    "last": {"type": "integer", "description": "the seq to send as `after` next time"},
    "stale": {"type": "boolean", "description": (
        "events after `after` were pruned (kept 7 days): reload the state instead")}})
PATHS[f"{P}/live/events"] = {"get": op(
    "live_events", "live", "Missed live events of one Socket.IO room",
    "the room's audience: `user:<id>` that user only, `leaders:<association_id>` its "
    "leaders and block leaders", schema="LiveEventPage", errors=(400, 403, 404),
    description=(
        "Query parameters: `room` (required, e.g. `user:12` or `leaders:3`), `after` "
        "(the last seq you applied, default 0) and `limit` (1-500, default 100). Returns "
        "the room's events with a greater seq, in seq order. Socket.IO (path `/socket.io/`, "
        "websocket transport, `auth: {\"token\": \"<bearer token>\"}`) only rings: after "
        "every (re)connect, join the rooms with the `join` event and then call this with "
        "your last seq. Authorized exactly like a join."))}
_TAGS.insert(-1, {"name": "live", "description": "Catch-up for Socket.IO live updates"})

# The disaster features describe their own routes (openapi_<feature>.py).
from . import openapi_cap, openapi_safety, openapi_shelters  # noqa: E402

_FEATURE_SCHEMAS: dict[str, Any] = {}
_FEATURE_PARAMETERS: dict[str, Any] = {}
for _feature in (openapi_cap, openapi_shelters, openapi_safety):
    PATHS.update(_feature.PATHS)
    _FEATURE_SCHEMAS.update(_feature.SCHEMAS)
    _FEATURE_PARAMETERS.update(getattr(_feature, "PARAMETERS", {}))
    _TAGS[-1:-1] = _feature.TAGS

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "chounaikai API",
        "version": "1.0.0",
        "description": (
            "JSON API of the digital neighborhood association for non-browser clients "
            "(a LINE bot, a city system). Authenticate with `Authorization: Bearer <token>`; "
            "the session cookie is not accepted here. Datetimes are ISO 8601 with an offset "
            "(sent in UTC); naive datetimes are refused. Unknown body fields are refused. "
            "Errors are `{\"error\": {\"code\", \"message\", \"fields\"?}}`."),
    },
    "tags": _TAGS,
    "security": [{"bearer": []}],
    "paths": PATHS,
    "components": {"schemas": {**SCHEMAS, **PUSH_SCHEMAS, **_FEATURE_SCHEMAS},
                   "responses": RESPONSES,
                   "parameters": {**PARAMETERS, **PUSH_PARAMETERS, **_FEATURE_PARAMETERS},
                   "securitySchemes": SECURITY_SCHEMES},
}


@bp.get("/openapi.json")
@public
def openapi_document():
    """This document (public)."""
    return DOCUMENT

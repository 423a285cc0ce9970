"""Every API route with the status each relation to its object must get.

Relations as in :mod:`tests.authz.web_routes`; the API answers an anonymous
caller (no bearer token) with 401 instead of a redirect.
"""

from __future__ import annotations

from tests.authz.web_routes import Case, Expect, _side
from tests.authz.world import World


def expect(anon: int = 401, outsider: int = 404, resident: int = 403, block_leader: int = 403,
           leader: int = 200, staff: int = 404) -> Expect:
    return {"anon": anon, "outsider": outsider, "resident": resident,
            "block_leader": block_leader, "leader": leader, "staff": staff}


def everyone(status: int, anon: int = 401) -> Expect:
    return expect(anon=anon, outsider=status, resident=status, block_leader=status,
                  leader=status, staff=status)


MEMBERS = expect(resident=200, block_leader=200)
BLOCK_LEADERS = expect(block_leader=200)
LEADERS = expect()
LEADERS_CREATE = expect(leader=201)
LEADERS_NO_CONTENT = expect(leader=204)
STAFF_ONLY = expect(outsider=403, resident=403, block_leader=403, leader=403, staff=200)


def _aid(w: World, s: str) -> int:
    return _side(w, s).association.id


def _circular_body(w: World, s: str) -> dict:
    return {"title": "回覧", "body": "本文です。"}


API = "/api/v1"
API_CASES: list[Case] = [
    Case("api.openapi_document", "GET", lambda w, s: f"{API}/openapi.json", everyone(200, 200)),
    Case("api.create_token", "POST", lambda w, s: f"{API}/tokens", everyone(401, 401),
         data=lambda w, s: {"login": "nobody", "password": "wrong password"}),
    Case("api.delete_token", "DELETE", lambda w, s: f"{API}/tokens/current",
         everyone(204)),
    Case("api.register", "POST", lambda w, s: f"{API}/register", everyone(400, 400),
         data=lambda w, s: {"code": "NOSUCHCODE"}),
    Case("api.redeem_invite", "POST", lambda w, s: f"{API}/invites/redeem", everyone(400),
         data=lambda w, s: {"code": "NOSUCHCODE"}),
    Case("api.me", "GET", lambda w, s: f"{API}/me", everyone(200)),
    Case("api.list_associations", "GET", lambda w, s: f"{API}/associations", everyone(200)),
    Case("api.create_association", "POST", lambda w, s: f"{API}/associations",
         expect(outsider=403, resident=403, block_leader=403, leader=403, staff=201),
         data=lambda w, s: {"name": "新しい町内会", "district": "鶴川"}),
    Case("api.staff_counts", "GET", lambda w, s: f"{API}/staff/associations", STAFF_ONLY),
    Case("api.list_blocks", "GET", lambda w, s: f"{API}/associations/{_aid(w, s)}/blocks",
         MEMBERS),
    Case("api.create_block", "POST", lambda w, s: f"{API}/associations/{_aid(w, s)}/blocks",
         LEADERS_CREATE, data=lambda w, s: {"name": f"新しい班{s}"}),
    Case("api.delete_block", "DELETE", lambda w, s: f"{API}/blocks/{w.fresh_block_id(s)}",
         LEADERS_NO_CONTENT),
    Case("api.list_households", "GET",
         lambda w, s: f"{API}/associations/{_aid(w, s)}/households", LEADERS),
    Case("api.create_household", "POST",
         lambda w, s: f"{API}/associations/{_aid(w, s)}/households", LEADERS_CREATE,
         data=lambda w, s: {"name": "紙の世帯"}),
    Case("api.move_household", "PUT",
         lambda w, s: f"{API}/households/{_side(w, s).household.id}/block", LEADERS,
         data=lambda w, s: {"block_id": _side(w, s).association.blocks[1].id}),
    Case("api.list_members", "GET", lambda w, s: f"{API}/associations/{_aid(w, s)}/members",
         LEADERS),
    Case("api.change_role", "PUT", lambda w, s: f"{API}/members/{w.fresh_member(s).id}/role",
         LEADERS, data=lambda w, s: {"role": "block_leader"}),
    Case("api.remove_member", "DELETE", lambda w, s: f"{API}/members/{w.fresh_member(s).id}",
         LEADERS_NO_CONTENT),
    Case("api.list_invites", "GET", lambda w, s: f"{API}/associations/{_aid(w, s)}/invites",
         LEADERS),
    Case("api.create_invite", "POST", lambda w, s: f"{API}/associations/{_aid(w, s)}/invites",
         LEADERS_CREATE, data=lambda w, s: {"role": "resident"}),
    Case("api.revoke_invite", "POST",
         lambda w, s: f"{API}/invites/{_side(w, s).invite.id}/revoke", LEADERS),
    Case("api.invite_qr", "GET", lambda w, s: f"{API}/invites/{_side(w, s).invite.id}/qr.svg",
         LEADERS),
    Case("api.inbox", "GET", lambda w, s: f"{API}/associations/{_aid(w, s)}/circulars", MEMBERS),
    Case("api.leader_list", "GET",
         lambda w, s: f"{API}/associations/{_aid(w, s)}/circulars/manage", BLOCK_LEADERS),
    Case("api.create_circular", "POST",
         lambda w, s: f"{API}/associations/{_aid(w, s)}/circulars", LEADERS_CREATE,
         data=_circular_body),
    Case("api.show_circular", "GET", lambda w, s: f"{API}/circulars/{_side(w, s).circular.id}",
         MEMBERS),
    Case("api.correct_circular", "PUT",
         lambda w, s: f"{API}/circulars/{_side(w, s).circular.id}", LEADERS,
         data=_circular_body),
    Case("api.save_translation", "PUT",
         lambda w, s: f"{API}/circulars/{_side(w, s).circular.id}/translations/en", LEADERS,
         data=lambda w, s: {"title": "Notice", "body": "Body text."}),
    Case("api.delete_translation", "DELETE",
         lambda w, s: f"{API}/circulars/{_side(w, s).circular.id}/translations/en",
         LEADERS_NO_CONTENT),
    Case("api.mark_read", "POST",
         lambda w, s: f"{API}/circulars/{_side(w, s).circular.id}/read", MEMBERS),
    Case("api.acknowledge", "POST",
         lambda w, s: f"{API}/circulars/{_side(w, s).circular.id}/ack", MEMBERS),
    Case("api.status", "GET", lambda w, s: f"{API}/circulars/{_side(w, s).circular.id}/status",
         BLOCK_LEADERS),
    Case("api.paper_receipt", "POST",
         lambda w, s: (f"{API}/circulars/{_side(w, s).circular.id}/paper/"
                       f"{_side(w, s).household.id}"), BLOCK_LEADERS,
         data=lambda w, s: {"acknowledge": True}),
    Case("api.attachment", "GET", lambda w, s: f"{API}/attachments/{_side(w, s).attachment.id}",
         MEMBERS),
]


# Web Push (chounaikai/api/routes_push.py): a device belongs to a person; each side's
# resident owns the device made for that side, everyone else gets 404.
def _subscription_body(w: World, s: str) -> dict:
    import base64
    import secrets

    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint)
    return {"endpoint": f"https://fcm.googleapis.com/fcm/send/api-{secrets.token_hex(8)}",
            "keys": {"p256dh": b64(point), "auth": b64(secrets.token_bytes(16))},
            "expirationTime": None}


def _fresh_device_id(w: World, s: str) -> int:
    from tests.authz.web_routes import _fresh_device_id as fresh

    return fresh(w, s)


API_CASES += [
    Case("api.vapid_public_key", "GET", lambda w, s: f"{API}/push/vapid-public-key",
         everyone(200)),
    Case("api.list_push_subscriptions", "GET", lambda w, s: f"{API}/push/subscriptions",
         everyone(200)),
    Case("api.create_push_subscription", "POST", lambda w, s: f"{API}/push/subscriptions",
         everyone(201), data=_subscription_body),
    Case("api.delete_push_subscription", "DELETE",
         lambda w, s: f"{API}/push/subscriptions/{_fresh_device_id(w, s)}",
         expect(outsider=404, resident=204, block_leader=404, leader=404, staff=404)),
    Case("api.notification_settings", "GET", lambda w, s: f"{API}/me/notification-settings",
         everyone(200)),
    Case("api.update_notification_settings", "PUT",
         lambda w, s: f"{API}/me/notification-settings", everyone(200),
         data=lambda w, s: {"quiet_hours": {"start": "22:00", "end": "06:30"},
                            "daily_digest": True}),
]


# Live updates (chounaikai/api/routes_live.py): authorized like a Socket.IO join.
API_CASES += [
    Case("api.live_events", "GET",
         lambda w, s: f"{API}/live/events?room=leaders:{_aid(w, s)}&after=0",
         expect(block_leader=200)),
    Case("api.live_events", "GET",
         lambda w, s: f"{API}/live/events?room=user:{_side(w, s).members['resident'].user.id}",
         expect(outsider=404, resident=200, block_leader=404, leader=404, staff=404)),
]

# The disaster features' API cases (tests/authz/features).
from tests.authz.features import FEATURE_API_CASES  # noqa: E402

API_CASES += FEATURE_API_CASES

"""Every web route with the status each relation to its object must get.

A relation is how the actor stands to the association that owns the object:
``anon``, ``outsider`` (logged in, not a member), ``resident``,
``block_leader``, ``leader`` or ``staff`` (city staff, not a member).
``"login"`` means a redirect to the login page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.authz.world import World

Expect = dict[str, int | str]


def expect(anon: int | str = "login", outsider: int = 404, resident: int = 403,
           block_leader: int = 403, leader: int = 200, staff: int = 404) -> Expect:
    return {"anon": anon, "outsider": outsider, "resident": resident,
            "block_leader": block_leader, "leader": leader, "staff": staff}


MEMBERS_GET = expect(resident=200, block_leader=200)
BLOCK_LEADERS_GET = expect(block_leader=200)
LEADERS_GET = expect()
MEMBERS_POST = expect(resident=302, block_leader=302, leader=302)
BLOCK_LEADERS_POST = expect(block_leader=302, leader=302)
LEADERS_POST = expect(leader=302)
STAFF_GET = expect(outsider=403, resident=403, block_leader=403, leader=403, staff=200)
STAFF_POST = expect(outsider=403, resident=403, block_leader=403, leader=403, staff=302)
LOGGED_IN_GET = expect(outsider=200, resident=200, block_leader=200, leader=200, staff=200)
LOGGED_IN_POST = expect(outsider=302, resident=302, block_leader=302, leader=302, staff=302)


def everyone(status: int | str) -> Expect:
    return expect(anon=status, outsider=status, resident=status, block_leader=status,
                  leader=status, staff=status)


@dataclass(frozen=True)
class Case:
    """One route: how to build its URL (and form) for side A or B, and what to expect."""

    endpoint: str
    method: str
    url: Callable[[World, str], str]
    expected: Expect
    data: Callable[[World, str], dict[str, Any]] | None = None
    fetch: bool = False  # sent like the page script: Accept JSON, token in a header


def _side(w: World, s: str):
    return w.sides[s]


def _circular_form(w: World, s: str) -> dict[str, Any]:
    return {"title": "回覧", "body": "本文です。", "audience": "all"}


WEB_CASES: list[Case] = [
    # Public pages.
    Case("main.index", "GET", lambda w, s: "/", everyone(200)),  # adjusted per actor below
    Case("main.healthz", "GET", lambda w, s: "/healthz", everyone(200)),
    Case("auth.login", "GET", lambda w, s: "/login", everyone(200)),  # adjusted below
    Case("auth.login_submit", "POST", lambda w, s: "/login", everyone(401),
         data=lambda w, s: {"login": "nobody", "password": "wrong password"}),
    Case("auth.logout", "POST", lambda w, s: "/logout", everyone("login")),
    Case("auth.join", "GET", lambda w, s: "/join", everyone(200)),
    Case("auth.join_submit", "POST", lambda w, s: "/join", everyone(400),
         data=lambda w, s: {"code": "NOSUCHCODE"}),
    Case("main.choose_language", "POST", lambda w, s: "/language", everyone(302),
         data=lambda w, s: {"locale": "en", "next": "/"}),
    Case("main.toggle_furigana", "POST", lambda w, s: "/furigana", everyone(302),
         data=lambda w, s: {"next": "/"}),
    Case("static", "GET", lambda w, s: "/static/css/app.css", everyone(200)),
    # Personal pages.
    Case("main.settings", "GET", lambda w, s: "/settings", LOGGED_IN_GET),
    Case("main.save_settings", "POST", lambda w, s: "/settings", LOGGED_IN_POST,
         data=lambda w, s: {"locale": "ja"}),
    Case("auth.household_code", "GET", lambda w, s: "/account/household", LOGGED_IN_GET),
    # Residents' circular pages.
    Case("circulars.inbox", "GET",
         lambda w, s: f"/a/{_side(w, s).association.id}/circulars", MEMBERS_GET),
    Case("circulars.show", "GET", lambda w, s: f"/circulars/{_side(w, s).circular.id}",
         MEMBERS_GET),
    Case("circulars.mark_read", "POST",
         lambda w, s: f"/circulars/{_side(w, s).circular.id}/read",
         expect(resident=200, block_leader=200, leader=200), fetch=True),
    Case("circulars.acknowledge", "POST",
         lambda w, s: f"/circulars/{_side(w, s).circular.id}/ack", MEMBERS_POST),
    Case("circulars.attachment", "GET",
         lambda w, s: f"/attachments/{_side(w, s).attachment.id}", MEMBERS_GET),
    # Leaders' circular pages.
    Case("circulars.manage", "GET",
         lambda w, s: f"/a/{_side(w, s).association.id}/circulars/manage", BLOCK_LEADERS_GET),
    Case("circulars.new", "GET",
         lambda w, s: f"/a/{_side(w, s).association.id}/circulars/new", LEADERS_GET),
    Case("circulars.create", "POST",
         lambda w, s: f"/a/{_side(w, s).association.id}/circulars", LEADERS_POST,
         data=_circular_form),
    Case("circulars.edit", "GET", lambda w, s: f"/circulars/{_side(w, s).circular.id}/edit",
         LEADERS_GET),
    Case("circulars.update", "POST", lambda w, s: f"/circulars/{_side(w, s).circular.id}/edit",
         LEADERS_POST, data=_circular_form),
    Case("circulars.status", "GET", lambda w, s: f"/circulars/{_side(w, s).circular.id}/status",
         BLOCK_LEADERS_GET),
    Case("circulars.translation", "GET",
         lambda w, s: f"/circulars/{_side(w, s).circular.id}/translations/en", LEADERS_GET),
    Case("circulars.save_translation", "POST",
         lambda w, s: f"/circulars/{_side(w, s).circular.id}/translations/en", LEADERS_POST,
         data=lambda w, s: {"title": "Notice", "body": "Body text."}),
    Case("circulars.delete_translation", "POST",
         lambda w, s: f"/circulars/{_side(w, s).circular.id}/translations/en/delete",
         LEADERS_POST),
    Case("circulars.paper_receipt", "POST",
         lambda w, s: f"/circulars/{_side(w, s).circular.id}/paper/{_side(w, s).household.id}",
         BLOCK_LEADERS_POST, data=lambda w, s: {"acknowledge": "1"}),
    # Association management.
    Case("associations.manage", "GET",
         lambda w, s: f"/a/{_side(w, s).association.id}/manage", LEADERS_GET),
    Case("associations.create_block", "POST",
         lambda w, s: f"/a/{_side(w, s).association.id}/blocks", LEADERS_POST,
         data=lambda w, s: {"name": f"新しい班{s}"}),
    Case("associations.delete_block", "POST",
         lambda w, s: f"/blocks/{w.fresh_block_id(s)}/delete", LEADERS_POST),
    Case("associations.create_household", "POST",
         lambda w, s: f"/a/{_side(w, s).association.id}/households", LEADERS_POST,
         data=lambda w, s: {"name": "紙の世帯", "paper": "1"}),
    Case("associations.move_household", "POST",
         lambda w, s: f"/households/{_side(w, s).household.id}/block", LEADERS_POST,
         data=lambda w, s: {"block_id": str(_side(w, s).association.blocks[1].id)}),
    Case("associations.change_role", "POST",
         lambda w, s: f"/members/{w.fresh_member(s).id}/role", LEADERS_POST,
         data=lambda w, s: {"role": "block_leader"}),
    Case("associations.remove_member", "POST",
         lambda w, s: f"/members/{w.fresh_member(s).id}/remove", LEADERS_POST),
    Case("associations.invites", "GET",
         lambda w, s: f"/a/{_side(w, s).association.id}/invites", LEADERS_GET),
    Case("associations.create_invite", "POST",
         lambda w, s: f"/a/{_side(w, s).association.id}/invites", LEADERS_POST,
         data=lambda w, s: {"role": "resident", "uses": "one", "valid_days": "30"}),
    Case("associations.print_invite", "GET",
         lambda w, s: f"/invites/{_side(w, s).invite.id}/print", LEADERS_GET),
    Case("associations.invite_qr", "GET",
         lambda w, s: f"/invites/{_side(w, s).invite.id}/qr.svg", LEADERS_GET),
    Case("associations.revoke_invite", "POST",
         lambda w, s: f"/invites/{_side(w, s).invite.id}/revoke", LEADERS_POST),
    # City staff.
    Case("staff.dashboard", "GET", lambda w, s: "/staff/", STAFF_GET),
    Case("staff.create_association", "POST", lambda w, s: "/staff/associations", STAFF_POST,
         data=lambda w, s: {"name": "新しい町内会", "district": "鶴川"}),
    Case("staff.leader_invite", "POST",
         lambda w, s: f"/staff/associations/{_side(w, s).association.id}/leader-invite",
         STAFF_POST),
]


# Web Push (chounaikai/push/routes.py).  A device belongs to a person, not to an
# association: each side's resident owns the device made for that side, so only the
# "resident" relation is the owner and everyone else gets 404.
OWNER_POST = expect(anon="login", outsider=404, resident=302, block_leader=404, leader=404,
                    staff=404)


def _fresh_device_id(w: World, s: str) -> int:
    import secrets

    from chounaikai.models import PushSubscription
    from chounaikai.push.subscription_json import endpoint_hash

    endpoint = f"https://fcm.googleapis.com/fcm/send/authz-{secrets.token_hex(8)}"
    row = PushSubscription(
        user_id=_side(w, s).members["resident"].user.id, endpoint=endpoint,
        endpoint_hash=endpoint_hash(endpoint),
        origin="https://fcm.googleapis.com", p256dh="B" * 87, auth="A" * 22,
        device_label="Android Chrome")
    w.factory._save(row)
    return row.id


WEB_CASES += [
    Case("push.manifest", "GET", lambda w, s: "/manifest.webmanifest", everyone(200)),
    Case("push.service_worker", "GET", lambda w, s: "/sw.js", everyone(200)),
    Case("push.settings", "GET", lambda w, s: "/settings/notifications", LOGGED_IN_GET),
    Case("push.save_settings", "POST", lambda w, s: "/settings/notifications", LOGGED_IN_POST,
         data=lambda w, s: {"quiet_enabled": "1", "quiet_start": "21:00", "quiet_end": "07:00",
                            "daily_digest": "1"}),
    Case("push.remove_device", "POST",
         lambda w, s: f"/settings/notifications/devices/{_fresh_device_id(w, s)}/delete",
         OWNER_POST),
    # The page script sends JSON; the matrix posts a form, which every member gets past
    # login and CSRF with and is then refused as not JSON (415).  tests/push covers 201.
    Case("push.subscribe", "POST", lambda w, s: "/push/subscriptions",
         expect(outsider=415, resident=415, block_leader=415, leader=415, staff=415),
         data=lambda w, s: {"endpoint": "https://fcm.googleapis.com/fcm/send/x"}, fetch=True),
]


# Live updates (chounaikai/live/routes.py): the catch-up is authorized like a Socket.IO
# join.  JSON only, so an anonymous caller gets 401 rather than the login page.
def _live_url(room: str) -> str:
    return f"/live/events?room={room}&after=0"


WEB_CASES += [
    Case("live.events", "GET",
         lambda w, s: _live_url(f"leaders:{_side(w, s).association.id}"),
         expect(anon=401, block_leader=200)),
    # A user's own room: only that user (each side's resident), everyone else 404.
    Case("live.events", "GET",
         lambda w, s: _live_url(f"user:{_side(w, s).members['resident'].user.id}"),
         expect(anon=401, outsider=404, resident=200, block_leader=404, leader=404,
                staff=404)),
]


# The disaster features keep their cases in tests/authz/features (imported here, after
# Case and expect exist, because those modules build their cases with them).
from tests.authz.features import FEATURE_WEB_CASES  # noqa: E402

WEB_CASES += FEATURE_WEB_CASES


def adjust(case: Case, actor: str, relation: str) -> int | str:
    """Routes whose answer depends on the actor rather than on an object."""
    if case.endpoint == "main.index" and actor in ("resident", "resident_other", "block_leader",
                                                   "leader", "leader_other"):
        return 302  # a member of one association goes straight to its circulars
    if case.endpoint == "auth.login" and actor != "anonymous":
        return 302  # already logged in
    return case.expected[relation]

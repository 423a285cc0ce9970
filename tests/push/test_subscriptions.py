"""Push subscriptions: strict validation, the push-service allow-list, one row per device,
own devices only; the web endpoint the page script uses and the JSON API."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from chounaikai.config import build_config
from chounaikai.errors import Conflict, NotFound, ValidationFailed
from chounaikai.extensions import db
from chounaikai.models import PushSubscription, User
from chounaikai.push import subscription_json as subjson
from chounaikai.push import subscriptions as subs
from chounaikai.push import vapid
from tests.api.conftest import bearer
from tests.helpers import csrf_token
from tests.support import client_for, count

FCM = "https://fcm.googleapis.com/fcm/send/"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_keys() -> dict[str, str]:
    """Keys as a browser makes them: a fresh P-256 point and 16 random bytes."""
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint)
    return {"p256dh": b64(point), "auth": b64(secrets.token_bytes(16))}


def subscription_json(endpoint: object = None, **changes) -> dict:
    """``PushSubscription.toJSON()`` of a new device (a fresh FCM endpoint unless given)."""
    data = {"endpoint": FCM + secrets.token_urlsafe(24) if endpoint is None else endpoint,
            "keys": new_keys(),
            "expirationTime": None}
    data.update(changes)
    return data



def _in_app(app, user_id: int):
    return db.session.get(User, user_id)


# -- the allow-list and the shape of the endpoint -------------------------------------------

ACCEPTED = [
    (FCM + "abc:APA91b-x_y", "https://fcm.googleapis.com"),
    ("https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk",
     "https://updates.push.services.mozilla.com"),
    ("https://push.services.mozilla.com.eu.push.services.mozilla.com/x",
     "https://push.services.mozilla.com.eu.push.services.mozilla.com"),
    ("https://web.push.apple.com/QGuQyavXutnMH", "https://web.push.apple.com"),
    ("https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB%2bx%3d",
     "https://wns2-par02p.notify.windows.com"),
    ("https://FCM.GoogleAPIs.com/fcm/send/upper", "https://fcm.googleapis.com"),
    ("https://fcm.googleapis.com:443/fcm/send/port", "https://fcm.googleapis.com"),
]

REFUSED = [
    "http://fcm.googleapis.com/fcm/send/x",  # plain http
    "https://fcm.googleapis.com.evil.example/fcm/send/x",  # suffix trick
    "https://evil.example/fcm.googleapis.com/x",
    "https://evilfcm.googleapis.com/x",  # not a subdomain wildcard
    "https://fcm.googleapis.com@evil.example/x",  # userinfo: the host is evil.example
    "https://user:pw@fcm.googleapis.com/x",  # userinfo at all
    "https://evil.example#@fcm.googleapis.com/x",  # fragment
    "https://evil.example\\@fcm.googleapis.com/x",  # backslash
    "https://evil.example/x#fcm.googleapis.com",
    "https://fcm.googleapis.com./x",  # trailing dot
    "https://fcm.googleapis.com:8443/x",  # another port
    "https://push.apple.com/x",  # the wildcard needs a subdomain
    "https://142.250.196.106/fcm/send/x",  # an IP literal not on the list
    "https://127.0.0.1/x",
    "http://127.0.0.1:8080/x",
    "https://[::1]/x",
    "https://2130706433/x",  # 127.0.0.1 as one number
    "https://1.2.3.4.push.apple.com.evil.example/x",
    "https://fcm.googleapis.com /x",  # space
    "https://fcm.googleapis.com/x y",
    "https://fcm.googleapis.com/x\n",
    "ftp://fcm.googleapis.com/x",
    "//fcm.googleapis.com/x",
    "fcm.googleapis.com/x",
    "https://fcm.googleapis.com:99999/x",
    "https://-bad-.push.apple.com/x",
    "https://xn--fcm-ｇ.googleapis.com/x",  # non-ASCII
    "",
]


@pytest.mark.parametrize(("endpoint", "origin"), ACCEPTED)
def test_push_services_on_the_allow_list_are_accepted(app, endpoint, origin):
    with app.test_request_context():
        data = subjson.parse_subscription(subscription_json(endpoint))
    assert data.origin == origin
    assert data.endpoint.lower() == endpoint.lower()


@pytest.mark.parametrize("endpoint", REFUSED)
def test_other_endpoints_are_refused(app, endpoint):
    with app.test_request_context(), pytest.raises(ValidationFailed) as caught:
        subjson.parse_subscription(subscription_json(endpoint))
    assert set(caught.value.fields) == {"endpoint"}, caught.value.fields


@pytest.mark.parametrize("value", [None, 12, ["https://fcm.googleapis.com/x"],
                                   FCM + "x" * 2048])
def test_endpoint_must_be_a_string_of_limited_length(app, value):
    with app.test_request_context(), pytest.raises(ValidationFailed) as caught:
        subjson.parse_subscription(subscription_json() | {"endpoint": value})
    assert "endpoint" in caught.value.fields


def test_refusal_names_the_host_in_plain_words(app):
    with app.test_request_context(), pytest.raises(ValidationFailed) as caught:
        subjson.parse_subscription(subscription_json("https://fcm.googleapis.com.evil.example/x"))
    assert "fcm.googleapis.com.evil.example" in caught.value.fields["endpoint"]
    assert "送れません" in caught.value.fields["endpoint"]


def test_test_hosts_are_added_by_configuration_and_http_only_where_listed(app, tmp_path: Path,
                                                                            monkeypatch):
    monkeypatch.setenv("CHOUNAIKAI_PUSH_ALLOWED_HOSTS", " http://127.0.0.1:* , push.test:8443")
    config = build_config(tmp_path, {"TESTING": True, "SECRET_KEY": "x"})
    assert "fcm.googleapis.com" in config["PUSH_ALLOWED_HOSTS"]  # the defaults stay
    with app.test_request_context():
        ok = subjson.parse_subscription(subscription_json("http://127.0.0.1:8123/push/abc"),
                                     app_config=config)
        assert ok.origin == "http://127.0.0.1:8123"
        assert subjson.parse_subscription(subscription_json("https://push.test:8443/x"),
                                       app_config=config).origin == "https://push.test:8443"
        for refused in ("http://127.0.0.2:8123/x", "https://push.test/x",
                        "http://push.test:8443/x", "http://localhost:8123/x"):
            with pytest.raises(ValidationFailed):
                subjson.parse_subscription(subscription_json(refused), app_config=config)


def test_host_patterns():
    any_port = subjson.HostPattern.parse("http://127.0.0.1:*")
    assert any_port.matches("http", "127.0.0.1", 5)
    assert not any_port.matches("https", "127.0.0.1", 443)
    wildcard = subjson.HostPattern.parse("*.push.apple.com")
    assert wildcard.matches("https", "web.push.apple.com", 443)
    assert wildcard.matches("https", "a.b.push.apple.com", 443)
    assert not wildcard.matches("https", "push.apple.com", 443)
    assert not wildcard.matches("https", "evilpush.apple.com", 443)
    assert not subjson.HostPattern.parse("*.0.0.1").matches("https", "127.0.0.1", 443)
    with pytest.raises(ValueError, match="PUSH_ALLOWED_HOSTS"):
        subjson.HostPattern.parse("host:port")


# -- keys and the rest of the JSON ---------------------------------------------------------------

def _bad_point() -> str:
    raw = bytearray(base64.urlsafe_b64decode(new_keys()["p256dh"] + "="))
    raw[-1] ^= 1  # no longer on the curve
    return b64(bytes(raw))


@pytest.mark.parametrize(("keys", "field"), [
    ({"p256dh": b64(b"\x04" + b"\x01" * 63), "auth": b64(b"a" * 16)}, "keys.p256dh"),  # 64 bytes
    ({"p256dh": b64(b"\x05" + b"\x01" * 64), "auth": b64(b"a" * 16)}, "keys.p256dh"),  # not 0x04
    ({"p256dh": "not+base64/url", "auth": b64(b"a" * 16)}, "keys.p256dh"),
    ({"p256dh": 12, "auth": b64(b"a" * 16)}, "keys.p256dh"),
    ({"auth": b64(b"a" * 16)}, "keys.p256dh"),
    ({"p256dh": "PLACEHOLDER_BAD_POINT", "auth": b64(b"a" * 16)}, "keys.p256dh"),
    ({"p256dh": "PLACEHOLDER_GOOD", "auth": b64(b"a" * 15)}, "keys.auth"),
    ({"p256dh": "PLACEHOLDER_GOOD", "auth": b64(b"a" * 17)}, "keys.auth"),
    ({"p256dh": "PLACEHOLDER_GOOD", "auth": "a b"}, "keys.auth"),
    ({"p256dh": "PLACEHOLDER_GOOD"}, "keys.auth"),
    ({"p256dh": "PLACEHOLDER_GOOD", "auth": b64(b"a" * 16), "extra": "x"}, "keys.extra"),
    ("not an object", "keys"),
])
def test_bad_keys_are_refused(app, keys, field):
    if isinstance(keys, dict):
        keys = {k: (_bad_point() if v == "PLACEHOLDER_BAD_POINT" else
                    new_keys()["p256dh"] if v == "PLACEHOLDER_GOOD" else v)
                for k, v in keys.items()}
    with app.test_request_context(), pytest.raises(ValidationFailed) as caught:
        subjson.parse_subscription(subscription_json(keys=keys))
    assert field in caught.value.fields, caught.value.fields


def test_padded_keys_are_accepted_and_stored_unpadded(app):
    keys = new_keys()
    padded = {"p256dh": keys["p256dh"] + "=", "auth": keys["auth"] + "=="}
    with app.test_request_context():
        data = subjson.parse_subscription(subscription_json(keys=padded))
    assert (data.p256dh, data.auth) == (keys["p256dh"], keys["auth"])


@pytest.mark.parametrize("value", [True, "1700000000000", -1, float("inf"), 10**20, {}])
def test_expiration_time_must_be_null_or_milliseconds(app, value):
    with app.test_request_context(), pytest.raises(ValidationFailed) as caught:
        subjson.parse_subscription(subscription_json(expirationTime=value))
    assert "expirationTime" in caught.value.fields


def test_expiration_time_in_the_past_is_refused_and_a_future_one_kept(app):
    past = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp() * 1000)
    future = datetime(2099, 1, 2, 3, 4, 5, tzinfo=UTC)
    with app.test_request_context():
        with pytest.raises(ValidationFailed) as caught:
            subjson.parse_subscription(subscription_json(expirationTime=past))
        assert "期限" in caught.value.fields["expirationTime"]
        data = subjson.parse_subscription(
            subscription_json(expirationTime=future.timestamp() * 1000))
    assert data.expiration_time == future


def test_unknown_fields_and_non_objects_are_refused(app):
    with app.test_request_context():
        with pytest.raises(ValidationFailed) as caught:
            subjson.parse_subscription(subscription_json(options={"userVisibleOnly": True}))
        assert set(caught.value.fields) == {"options"}
        with pytest.raises(ValidationFailed):
            subjson.parse_subscription([subscription_json()])


@pytest.mark.parametrize(("agent", "label"), [
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "iPhone Safari"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Mobile/15E148", "iPhone Safari"),  # opened from the Home Screen
    ("Mozilla/5.0 (Linux; Android 14; SH-M26) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Mobile Safari/537.36", "Android Chrome"),
    ("Mozilla/5.0 (Linux; Android 13; SC-51C) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "Android Samsung Internet"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Windows Edge"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0",
     "Mac Firefox"),
    ("curl/8.5.0", ""),
    (None, ""),
])
def test_device_label_is_a_short_summary_of_the_user_agent(agent, label):
    assert subs.device_label(agent) == label


# -- storing: one row per device, own devices only -------------------------------------------

def test_subscribe_creates_then_updates_the_same_row(app, factory):
    user = factory.user()
    first = subscription_json()
    again = dict(first, keys=new_keys())  # e.g. the browser renewed its keys
    with app.test_request_context():
        member = _in_app(app, user.id)
        row, created = subs.subscribe(user=member, data=subjson.parse_subscription(first),
                                      label="iPhone Safari")
        db.session.commit()
        row_id = row.id
        assert created
        assert row.endpoint_hash == subjson.endpoint_hash(first["endpoint"])
        assert len(row.endpoint_hash) == 64
        assert row.origin == "https://fcm.googleapis.com"
        row2, created2 = subs.subscribe(user=member, data=subjson.parse_subscription(again),
                                        label="")
        db.session.commit()
        assert (row2.id, created2) == (row_id, False)
        assert row2.p256dh == again["keys"]["p256dh"]
        assert row2.device_label == "iPhone Safari"  # an unknown agent keeps the label
    assert count(app, PushSubscription) == 1


def test_a_device_moves_to_the_member_who_subscribes_on_it(app, factory):
    alice, bob = factory.user(), factory.user()
    data = subscription_json()
    with app.test_request_context():
        row, _ = subs.subscribe(user=_in_app(app, alice.id), data=subjson.parse_subscription(data),
                                label="Android Chrome")
        row.last_success_at = datetime.now(UTC)
        db.session.commit()
        moved, created = subs.subscribe(user=_in_app(app, bob.id),
                                        data=subjson.parse_subscription(data), label="")
        db.session.commit()
        assert not created
        assert moved.user_id == bob.id
        assert moved.last_success_at is None
        assert subs.devices_of(_in_app(app, alice.id)) == []


def test_devices_are_listed_per_member_and_limited(app, factory):
    alice, bob = factory.user(), factory.user()
    with app.test_request_context():
        a, b = _in_app(app, alice.id), _in_app(app, bob.id)
        for _ in range(subs.MAX_DEVICES):
            subs.subscribe(user=a, data=subjson.parse_subscription(subscription_json()), label="")
        subs.subscribe(user=b, data=subjson.parse_subscription(subscription_json()), label="")
        db.session.commit()
        assert len(subs.devices_of(a)) == subs.MAX_DEVICES
        assert [d.user_id for d in subs.devices_of(b)] == [bob.id]
        with pytest.raises(Conflict):
            subs.subscribe(user=a, data=subjson.parse_subscription(subscription_json()), label="")


def test_remove_device_only_removes_own(app, factory):
    alice, bob = factory.user(), factory.user()
    with app.test_request_context():
        a, b = _in_app(app, alice.id), _in_app(app, bob.id)
        mine = subs.subscribe(user=a, data=subjson.parse_subscription(subscription_json()),
                              label="")[0].id
        theirs = subs.subscribe(user=b, data=subjson.parse_subscription(subscription_json()),
                                label="")[0].id
        db.session.commit()
        with pytest.raises(NotFound):
            subs.remove_device(user=a, subscription_id=theirs)
        subs.remove_device(user=a, subscription_id=mine)
        db.session.commit()
        remaining = db.session.scalars(select(PushSubscription.id)).all()
    assert remaining == [theirs]


@pytest.mark.parametrize(("start", "end", "minutes"), [
    ("21:00", "07:00", (1260, 420)), ("00:00", "23:59", (0, 1439)),
    ("22:30:00", "06:15", (1350, 375))])
def test_quiet_hours_parse(app, start, end, minutes):
    with app.test_request_context():
        quiet = subs.parse_quiet_hours(start, end)
    assert (quiet.start_minute, quiet.end_minute) == minutes


@pytest.mark.parametrize(("start", "end", "field"), [
    ("24:00", "07:00", "quiet_start"), ("9:00", "07:00", "quiet_start"),
    ("", "07:00", "quiet_start"), ("21:00", "7pm", "quiet_end"), ("21:00", None, "quiet_end"),
    ("21:00", "21:00", "quiet_end")])
def test_quiet_hours_validation(app, start, end, field):
    with app.test_request_context(), pytest.raises(ValidationFailed) as caught:
        subs.parse_quiet_hours(start, end)
    assert field in caught.value.fields


# -- the page script's endpoint (session + CSRF header) ------------------------------------

def _fetch(client, data, *, token: str | None = None, **headers):
    headers = {"Accept": "application/json", **headers}
    if token is not None:
        headers["X-CSRFToken"] = token
    return client.post("/push/subscriptions", json=data, headers=headers)


def test_web_subscribe_is_idempotent_and_labels_the_device(app, factory):
    user = factory.user()
    client = client_for(app, user)
    data = subscription_json()
    iphone = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko) Mobile/15E148")
    first = _fetch(client, data, token=csrf_token(client), **{"User-Agent": iphone})
    again = _fetch(client, data, token=csrf_token(client), **{"User-Agent": iphone})
    assert first.status_code == 201, first.get_json()
    assert again.status_code == 200
    assert first.json["id"] == again.json["id"]
    assert (first.json["created"], again.json["created"]) == (True, False)
    assert first.json["device_label"] == "iPhone Safari"
    assert count(app, PushSubscription, PushSubscription.user_id == user.id) == 1


def test_web_subscribe_needs_the_csrf_token_and_a_login(app, factory, client):
    user = factory.user()
    member = client_for(app, user)
    refused = _fetch(member, subscription_json())
    assert refused.status_code == 400
    assert refused.json["error"]["code"] == "csrf"
    anonymous = _fetch(client, subscription_json(), token=csrf_token(client))
    assert anonymous.status_code == 302
    assert "/login" in anonymous.headers["Location"]
    assert count(app, PushSubscription) == 0


@pytest.mark.parametrize(("body", "status", "field"), [
    (subscription_json("https://fcm.googleapis.com.evil.example/x"), 400, "endpoint"),
    (subscription_json("http://fcm.googleapis.com/fcm/send/x"), 400, "endpoint"),
    (subscription_json(keys={"p256dh": "AAAA", "auth": "AAAA"}), 400, "keys.p256dh"),
    (subscription_json(extra="x" * 5000), 400, None),
])
def test_web_subscribe_refuses_bad_input_with_a_clear_message(app, factory, body, status,
                                                              field):
    client = client_for(app, factory.user())
    response = _fetch(client, body, token=csrf_token(client))
    assert response.status_code == status
    error = response.json["error"]
    assert error["message"]
    if field:
        assert field in error["fields"]
    else:
        assert "大きすぎます" in error["message"]
    assert count(app, PushSubscription) == 0


def test_web_subscribe_refuses_a_form_body(app, factory):
    client = client_for(app, factory.user())
    response = client.post("/push/subscriptions", data={"endpoint": FCM + "x"},
                           headers={"X-CSRFToken": csrf_token(client),
                                    "Accept": "application/json"})
    assert response.status_code == 415


# -- the JSON API ------------------------------------------------------------------------------

API = "/api/v1"


def test_api_devices_create_list_delete_own_only(app, client, factory):
    alice, bob = factory.user(), factory.user()
    a, b = bearer(factory.token(alice)), bearer(factory.token(bob))
    data = subscription_json()
    created = client.post(f"{API}/push/subscriptions",
                          json=dict(data, device_label="居間のタブレット"), headers=a)
    assert created.status_code == 201, created.get_json()
    assert created.json["device_label"] == "居間のタブレット"
    assert created.json["origin"] == "https://fcm.googleapis.com"
    assert "endpoint" not in created.json
    assert "p256dh" not in created.json
    again = client.post(f"{API}/push/subscriptions", json=data, headers=a)
    assert again.status_code == 200
    assert again.json["id"] == created.json["id"]
    bobs = client.post(f"{API}/push/subscriptions", json=subscription_json(), headers=b)
    assert bobs.status_code == 201

    listed = client.get(f"{API}/push/subscriptions", headers=a).json["items"]
    assert [d["id"] for d in listed] == [created.json["id"]]

    foreign = client.delete(f"{API}/push/subscriptions/{bobs.json['id']}", headers=a)
    assert foreign.status_code == 404
    assert client.delete(f"{API}/push/subscriptions/{created.json['id']}",
                         headers=a).status_code == 204
    assert client.delete(f"{API}/push/subscriptions/{created.json['id']}",
                         headers=a).status_code == 404
    assert client.get(f"{API}/push/subscriptions", headers=a).json["items"] == []
    assert count(app, PushSubscription) == 1


@pytest.mark.parametrize(("body", "field"), [
    (subscription_json("https://user@fcm.googleapis.com/x"), "endpoint"),
    (subscription_json(device_label="x" * 61), "device_label"),
    (subscription_json(device_label="a\nb"), "device_label"),
    (subscription_json(expirationTime="soon"), "expirationTime"),
    ({"endpoint": FCM + "x"}, "keys"),
])
def test_api_create_refuses_bad_input(client, factory, body, field):
    headers = bearer(factory.token(factory.user()))
    response = client.post(f"{API}/push/subscriptions", json=body, headers=headers)
    assert response.status_code == 400
    assert field in response.json["error"]["fields"]


def test_api_device_limit_is_a_conflict(app, client, factory):
    user = factory.user()
    headers = bearer(factory.token(user))
    for _ in range(subs.MAX_DEVICES):
        assert client.post(f"{API}/push/subscriptions", json=subscription_json(),
                           headers=headers).status_code == 201
    response = client.post(f"{API}/push/subscriptions", json=subscription_json(),
                           headers=headers)
    assert response.status_code == 409
    assert "20台" in response.json["error"]["message"]


def test_api_notification_settings(app, client, factory):
    user = factory.user()
    headers = bearer(factory.token(user))
    assert client.get(f"{API}/me/notification-settings", headers=headers).json == {
        "quiet_hours": None, "daily_digest": False, "timezone": "Asia/Tokyo"}
    saved = client.put(f"{API}/me/notification-settings", headers=headers, json={
        "quiet_hours": {"start": "21:30", "end": "06:00"}, "daily_digest": True})
    assert saved.status_code == 200
    assert saved.json["quiet_hours"] == {"start": "21:30", "end": "06:00"}
    with app.test_request_context():
        stored = db.session.get(User, user.id)
        assert (stored.quiet_start_minute, stored.quiet_end_minute, stored.daily_digest) == (
            1290, 360, True)
    off = client.put(f"{API}/me/notification-settings", headers=headers,
                     json={"quiet_hours": None, "daily_digest": False})
    assert off.json == {"quiet_hours": None, "daily_digest": False, "timezone": "Asia/Tokyo"}


@pytest.mark.parametrize(("body", "field"), [
    ({"quiet_hours": {"start": "25:00", "end": "06:00"}, "daily_digest": True},
     "quiet_hours.start"),
    ({"quiet_hours": {"start": "06:00", "end": "06:00"}, "daily_digest": True},
     "quiet_hours.end"),
    ({"quiet_hours": {"start": "21:00"}, "daily_digest": True}, "quiet_hours"),
    ({"quiet_hours": "21:00-06:00", "daily_digest": True}, "quiet_hours"),
    ({"quiet_hours": None, "daily_digest": "yes"}, "daily_digest"),
    ({"daily_digest": True}, "quiet_hours"),
    ({"quiet_hours": None}, "daily_digest"),
    ({"quiet_hours": None, "daily_digest": True, "timezone": "UTC"}, "timezone"),
])
def test_api_notification_settings_validation(app, client, factory, body, field):
    user = factory.user()
    response = client.put(f"{API}/me/notification-settings", json=body,
                          headers=bearer(factory.token(user)))
    assert response.status_code == 400
    assert field in response.json["error"]["fields"], response.json
    with app.test_request_context():
        stored = db.session.get(User, user.id)
        assert (stored.quiet_start_minute, stored.daily_digest) == (None, False)


def test_api_vapid_public_key_is_the_servers_point(app, client, factory):
    response = client.get(f"{API}/push/vapid-public-key",
                          headers=bearer(factory.token(factory.user())))
    assert response.status_code == 200
    key = response.json["public_key"]
    with app.test_request_context():
        assert key == vapid.public_key_b64url(app)
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65
    assert raw[0] == 4


def test_api_push_responses_match_the_openapi_document(app, client, factory):
    validator = pytest.importorskip("openapi_schema_validator")
    from chounaikai.api.openapi import DOCUMENT

    user = factory.user()
    headers = bearer(factory.token(user))

    def schema(path: str, method: str, status: int) -> dict:
        response = DOCUMENT["paths"][f"{API}{path}"][method]["responses"][str(status)]
        if "$ref" in response:
            response = DOCUMENT["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        return {**response["content"]["application/json"]["schema"],
                "components": DOCUMENT["components"]}

    data = subscription_json(expirationTime=4102444800000)
    checks = [
        ("post", "/push/subscriptions", {"json": data}, 201),
        ("post", "/push/subscriptions", {"json": data}, 200),
        ("get", "/push/subscriptions", {}, 200),
        ("post", "/push/subscriptions", {"json": {"endpoint": "http://x"}}, 400),
        ("get", "/push/vapid-public-key", {}, 200),
        ("get", "/me/notification-settings", {}, 200),
        ("put", "/me/notification-settings",
         {"json": {"quiet_hours": {"start": "21:00", "end": "07:00"}, "daily_digest": True}},
         200),
    ]
    for method, path, kwargs, status in checks:
        response = client.open(f"{API}{path}", method=method.upper(), headers=headers, **kwargs)
        assert response.status_code == status, (path, response.get_json())
        validator.validate(response.get_json(), schema(path, method, status),
                           cls=validator.OAS31Validator)

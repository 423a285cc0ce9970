"""A round starts by itself for alerts of Level 4 and up, once per association."""

from __future__ import annotations

import pytest

from chounaikai.extensions import db
from chounaikai.models import AlertKind, AlertTarget, Association
from tests.helpers import form_post
from tests.safety.helpers import audits, cancel, issue, live_events, rounds, update
from tests.support import client_for


def _set_auto(app, association_id: int, enabled: bool) -> None:
    with app.app_context():
        db.session.get(Association, association_id).auto_safety_check = enabled
        db.session.commit()


@pytest.mark.parametrize("kind", [AlertKind.LEVEL4, AlertKind.LEVEL5])
def test_level_4_and_up_starts_a_round(app, town, kind):
    alert_id = issue(app, town.staff.id, kind, (town.association.id,))

    started = rounds(app, town.association.id)
    assert len(started) == 1
    assert started[0]["alert_id"] == alert_id
    assert started[0]["closed_at"] is None
    assert started[0]["started_by_id"] == town.staff.id
    assert rounds(app, town.other.id) == []  # not targeted
    assert [e["kind"] for e in live_events(app, f"leaders:{town.association.id}")] == [
        "safety_round"]
    assert audits(app, "safety.round_start")[0].detail["reason"] == "alert"


def test_level_3_does_not_start_a_round(app, town):
    issue(app, town.staff.id, AlertKind.LEVEL3, (town.association.id,))

    assert rounds(app, town.association.id) == []


def test_not_when_auto_safety_check_is_off(app, town):
    _set_auto(app, town.association.id, False)

    issue(app, town.staff.id, AlertKind.LEVEL5, (town.association.id, town.other.id))

    assert rounds(app, town.association.id) == []
    assert len(rounds(app, town.other.id)) == 1  # its own setting is still on


def test_city_wide_alert_reaches_every_association(app, town):
    issue(app, town.staff.id, AlertKind.LEVEL4, (), target=AlertTarget.CITY)

    assert len(rounds(app, town.association.id)) == 1
    assert len(rounds(app, town.other.id)) == 1


def test_an_update_of_the_same_alert_does_not_open_a_second_round(app, town):
    first = issue(app, town.staff.id, AlertKind.LEVEL4, (town.association.id,))
    second = update(app, town.staff.id, first, AlertKind.LEVEL5, (town.association.id,))

    assert len(rounds(app, town.association.id)) == 1

    # Even once a leader closed it: the chain already had its round.
    leader = client_for(app, town.user("leader"))
    assert form_post(leader, f"/a/{town.association.id}/safety/close").status_code == 302
    update(app, town.staff.id, second, AlertKind.LEVEL5, (town.association.id,))
    assert len(rounds(app, town.association.id)) == 1


def test_a_new_alert_does_not_open_a_second_round_while_one_is_open(app, town):
    issue(app, town.staff.id, AlertKind.LEVEL4, (town.association.id,))
    issue(app, town.staff.id, AlertKind.LEVEL5, (town.association.id,))

    assert len(rounds(app, town.association.id)) == 1


def test_a_new_alert_after_the_round_was_closed_starts_another(app, town):
    issue(app, town.staff.id, AlertKind.LEVEL4, (town.association.id,))
    leader = client_for(app, town.user("leader"))
    form_post(leader, f"/a/{town.association.id}/safety/close")

    issue(app, town.staff.id, AlertKind.LEVEL4, (town.association.id,))

    found = rounds(app, town.association.id)
    assert len(found) == 2
    assert found[0]["closed_at"] is not None
    assert found[1]["closed_at"] is None


def test_a_cancel_starts_nothing(app, town):
    _set_auto(app, town.association.id, False)
    first = issue(app, town.staff.id, AlertKind.LEVEL4, (town.association.id,))
    _set_auto(app, town.association.id, True)

    cancel(app, town.staff.id, first)

    assert rounds(app, town.association.id) == []

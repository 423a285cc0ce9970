"""OpenAPI paths, schemas and tags of the safety API routes (merged by openapi.py)."""

from __future__ import annotations

from typing import Any

from .openapi import P, op
from .openapi_components import DATETIME, ID, NULLABLE_DATETIME, NULLABLE_ID, obj, ref, string

_MEMBER = "a member of the association"
_BLOCK_LEADER = ("a block leader (班長) or leader; block leaders see only their own block, "
                 "and only leaders get notes")
_LEADER_OR_STAFF = "a leader (会長・役員) of the association, or city staff (any association)"
_LEADER = "a leader (会長・役員) of the association"
_STATUS = {"type": "string", "enum": ["safe", "needs_help", "at_shelter"],
           "description": "safe 無事, needs_help 助けが必要, at_shelter 避難所にいる"}
_INT = {"type": "integer", "minimum": 0}
_COUNTS = dict.fromkeys(("households", "answered", "safe", "needs_help", "at_shelter",
                         "unanswered"), _INT)
_ANSWER = {
    "round_id": ID, "household_id": ID, "status": _STATUS, "shelter_id": NULLABLE_ID,
    "proxy": {"type": "boolean", "description": "answered by a block leader or leader for "
                                                "the household (代理回答)"},
    "answered_at": DATETIME,
    "has_note": {"type": "boolean", "description": "a note was given (its text is shown to "
                                                   "the association's leaders only)"}}
_ID_PARAM = ("association_id",)

SCHEMAS: dict[str, Any] = {
    "SafetyRound": obj({"id": ID, "association_id": ID, "alert_id": NULLABLE_ID,
                        "started_at": DATETIME, "closed_at": NULLABLE_DATETIME,
                        "open": {"type": "boolean"}}),
    "SafetyAnswer": obj(_ANSWER),
    "MySafety": obj({
        "round": {"oneOf": [{"type": "null"}, ref("SafetyRound")],
                  "description": "the open round; null when none is open"},
        "answer": {"oneOf": [{"type": "null"}, ref("SafetyAnswer")],
                   "description": "my household's answer in it"}}),
    "SafetyAnswerInput": obj({
        "status": _STATUS,
        "note": string(500, description="needs_help only: what is needed (sensitive: the "
                       "association's leaders only; erased after the retention period)"),
        "shelter_id": {**NULLABLE_ID, "description": "at_shelter only: which shelter "
                       "(null: unknown or elsewhere)"},
        "household_id": {**NULLABLE_ID, "description": "answer for another household (proxy): "
                         "block leaders for their block, leaders for any"}}, ("status",)),
    "SafetyStatusReport": obj({
        "round": {"oneOf": [{"type": "null"}, ref("SafetyRound")],
                  "description": "the open round, else the latest one; null if never"},
        "notes_included": {"type": "boolean", "description": "true for leaders only"},
        "totals": obj(_COUNTS),
        "blocks": {"type": "array", "items": obj({
            "id": NULLABLE_ID, "name": {"type": ["string", "null"]},
            "household_count": _INT, "answered": _INT,
            "households": {"type": "array", "items": obj({
                "id": ID, "name": {"type": "string"}, "has_smartphone": {"type": "boolean"},
                "answer": {"oneOf": [{"type": "null"}, obj({
                    **_ANSWER,
                    "answered_by": {"oneOf": [{"type": "null"}, obj({
                        "id": ID, "display_name": {"type": "string"}})]},
                    "note": {"type": ["string", "null"],
                             "description": "leaders only (null for block leaders)"},
                    "note_purged_at": NULLABLE_DATETIME})]}})}})}}),
    "SafetyCloseRequest": obj({"round_id": {**ID, "description": (
        "the round to close; closing it again is harmless. Default: the open round")}}, ()),
    "SafetySettings": obj({"association_id": ID, "auto_safety_check": {"type": "boolean"}}),
    "SafetySettingsInput": obj({"auto_safety_check": {
        "type": "boolean", "description": "start a round by itself when an alert of Level 4 "
                                          "or higher targets the association"}}),
    "StaffSafetyCounts": obj({"items": {"type": "array", "items": obj({
        "association": ref("Association"),
        "round": {"oneOf": [{"type": "null"}, ref("SafetyRound")]}, **_COUNTS})}}),
}

_A = f"{P}/associations/{{association_id}}/safety"
PATHS: dict[str, Any] = {
    _A: {"get": op(
        "my_safety", "safety", "The open round and my household's answer", _MEMBER,
        schema="MySafety", params=_ID_PARAM, errors=(404,))},
    f"{_A}/answer": {"post": op(
        "answer_safety", "safety", "Answer for my household, or for another one (proxy)",
        f"{_MEMBER}; with `household_id` of another household: {_BLOCK_LEADER}",
        schema="SafetyAnswer", body="SafetyAnswerInput", params=_ID_PARAM,
        errors=(400, 403, 404, 409, 415),
        description="Answering again replaces the answer (one per household and round), so "
        "a retry is harmless. 409 when no round is open.")},
    f"{_A}/status": {"get": op(
        "safety_status", "safety", "Answers per block and household", _BLOCK_LEADER,
        schema="SafetyStatusReport", params=_ID_PARAM, errors=(403, 404),
        description="Audit-logged. Unanswered households first in each block. Notes past "
        "their retention are erased before answering.")},
    f"{_A}/rounds": {"post": op(
        "start_safety_round", "safety", "Start a round", _LEADER_OR_STAFF, status=201,
        schema="SafetyRound", params=_ID_PARAM, errors=(403, 404),
        description="When a round is already open it is returned with 200 instead.")},
    f"{_A}/close": {"post": op(
        "close_safety_round", "safety", "Close the open round", _LEADER_OR_STAFF,
        schema="SafetyRound", body="SafetyCloseRequest", optional_body=True,
        params=_ID_PARAM, errors=(400, 403, 404, 409, 415),
        description="409 when no round is open (and no `round_id` is given).")},
    f"{_A}/settings": {"put": op(
        "safety_settings", "safety", "Turn the automatic start on or off", _LEADER,
        schema="SafetySettings", body="SafetySettingsInput", params=_ID_PARAM,
        errors=(400, 403, 404, 415))},
    f"{P}/staff/safety": {"get": op(
        "staff_safety_counts", "safety", "Counts per association (aggregates only)",
        "city staff", schema="StaffSafetyCounts", errors=(403,),
        description="Audit-logged. Never household names or notes.")},
}
PATHS[f"{_A}/rounds"]["post"]["responses"]["200"] = {
    "description": "A round was already open; it is returned unchanged",
    "content": {"application/json": {"schema": ref("SafetyRound")}}}

TAGS: list[dict[str, str]] = [
    {"name": "safety", "description": "Safety confirmation (安否確認): rounds and answers"}]

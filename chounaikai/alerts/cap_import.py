"""Import of CAP 1.2 documents from other authorities (city staff only).

A document is untrusted input, so it goes through three gates before anything
is stored: defusedxml refuses any DTD or entity declaration (billion laughs,
external entities) before lxml sees the bytes; lxml then parses without
resolving entities, without network access and without its huge-tree mode;
and the OASIS schema (a copy beside this module, so the app never reads
outside its package) must accept the result.  A rejected document stores
nothing.

A valid document becomes a free-text :class:`Alert` (``source="cap"``) with the
document kept verbatim.  Its texts are keyed by our interface language when
the ``<info>`` language maps to one, else by the raw tag.  The target is always
the whole city: CAP areas (polygons, foreign geocodes) are not matched to our
districts.  Imports are not pushed here; whoever imports decides about that.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..errors import DomainError, ValidationFailed
from ..extensions import db
from ..i18n import language_for_tag
from ..models import Alert, AlertKind, AlertMessageType, AlertTarget, Hazard, User, utcnow
from ..permissions import require_staff
from .cap import CAP_LANGUAGE_TAGS, CAP_NS

MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_REPORTED_ERRORS = 3
SCHEMA_PATH = Path(__file__).with_name("CAP-v1.2.xsd")
_MESSAGE_TYPES = {"Alert": AlertMessageType.ALERT, "Update": AlertMessageType.UPDATE,
                  "Cancel": AlertMessageType.CANCEL}
_TAG_CODES = {tag.lower(): code for code, tag in CAP_LANGUAGE_TAGS.items()}
# Checked in this order: the specific kinds of flooding before flooding itself.
_HAZARD_WORDS: tuple[tuple[Hazard, tuple[str, ...]], ...] = (
    (Hazard.INLAND_FLOODING, ("内水", "inland flood", "urban flood", "pluvial")),
    (Hazard.STORM_SURGE, ("高潮", "storm surge", "coastal flood", "sturmflut")),
    (Hazard.TSUNAMI, ("津波", "tsunami")),
    (Hazard.LANDSLIDE, ("土砂", "がけ崩れ", "崖崩れ", "土石流", "地すべり", "地滑り", "landslide",
                        "mudslide", "debris flow", "erdrutsch", "glissement de terrain")),
    (Hazard.FLOOD, ("洪水", "氾濫", "flood", "hochwasser", "überschwemmung", "inondation",
                    "inundación")),
    (Hazard.EARTHQUAKE, ("地震", "earthquake", "erdbeben", "séisme", "terremoto", "sismo")),
    (Hazard.VOLCANO, ("火山", "噴火", "volcan", "vulkan")),
    (Hazard.FIRE, ("火事", "火災", "wildfire", "bushfire", "forest fire", "incendi")),
)
_NAMESPACE = re.compile(r"\{[^}]*\}")
_LOCK = threading.Lock()  # an XMLSchema keeps one error log: validate one document at a time


class DocumentTooLarge(DomainError):
    status = 413
    code = "too_large"
    default_message = _l("ファイルが大きすぎます。1MBまでのファイルにしてください。")


@dataclass(frozen=True)
class Imported:
    alert: Alert
    created: bool  # False: the same sender's identifier was already stored


def import_document(data: bytes, actor: User) -> Alert:
    """Store a CAP 1.2 document as an alert (or return the one already stored).

    Raises PermissionDenied (not staff), DocumentTooLarge, ValidationFailed.
    """
    return import_cap(data=data, actor=actor).alert


def import_cap(*, data: bytes, actor: User) -> Imported:
    """:func:`import_document`, also telling whether a new alert was created."""
    require_staff(actor)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge()
    root = parse(data)
    identifier, sender = _text(root, "identifier"), _text(root, "sender")
    for name, value in (("identifier", identifier), ("sender", sender)):
        if not value or len(value) > 200:
            raise ValidationFailed(_("<%(name)s> は1文字以上200文字以内にしてください。",
                                     name=name))
    existing = _stored(identifier, sender)
    if existing is not None:
        _audit(actor, existing, created=False)
        return Imported(existing, False)
    referenced = _referenced(root)
    alert = _build(root, data, actor, referenced)
    try:
        with db.session.begin_nested():
            db.session.add(alert)
            db.session.flush()
    except IntegrityError:
        # Another request stored the same document a moment ago.
        existing = _stored(identifier, sender)
        if existing is None:
            raise
        _audit(actor, existing, created=False)
        return Imported(existing, False)
    if alert.message_type != AlertMessageType.ALERT:
        for replaced in referenced:
            replaced.active = False
    _audit(actor, alert, created=True)
    # Open pages show (or drop) the banner as for the city's own alerts.  No push: an
    # imported document is shown, not re-broadcast (staff issue their own alert for that).
    from ..live import announcements

    announcements.alert_changed(alert)
    return Imported(alert, True)


# -- Parsing and validation -----------------------------------------------------------------

def _lxml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           load_dtd=False, dtd_validation=False)


@cache
def schema() -> etree.XMLSchema:
    """The OASIS CAP 1.2 schema, loaded once."""
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), _lxml_parser()))


def parse(data: bytes) -> etree._Element:
    """The document's root element once it is safe and valid CAP 1.2.

    Raises ValidationFailed with a Japanese message naming the line and the problem.
    """
    if not data.strip():
        raise ValidationFailed(_("ファイルが空です。CAP 1.2 の XML ファイルを選んでください。"))
    try:
        # Only to refuse what lxml would otherwise have to survive; the result is unused.
        defused_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ValidationFailed(_(
            "安全のため、DTD（<!DOCTYPE>）や実体（<!ENTITY>）の宣言を含む XML は取り込めません。"
        )) from exc
    except (ParseError, ValueError) as exc:
        raise _unreadable(getattr(exc, "position", (0, 0))[0]) from exc
    try:
        root = etree.fromstring(data, _lxml_parser())
    except etree.XMLSyntaxError as exc:
        raise _unreadable(exc.lineno or 0) from exc
    with _LOCK:
        try:
            valid = schema().validate(root)
        except etree.Error as exc:  # libxml2 gives up on some nodes instead of reporting
            raise ValidationFailed(_("CAP 1.2 の形式か確かめられませんでした。")) from exc
        errors = list(schema().error_log)
    if not valid:
        details = "／".join(describe_error(e) for e in errors[:MAX_REPORTED_ERRORS])
        raise ValidationFailed(_("CAP 1.2 の形式に合わないため、取り込めませんでした。%(details)s",
                                 details=details))
    return root


def _unreadable(line: int) -> ValidationFailed:
    return ValidationFailed(_("XML として読めません（%(line)d行目）。"
                              "ファイルが壊れていないか確かめてください。", line=line))


def describe_error(entry: Any) -> str:
    """One schema error in plain Japanese: the line, the element and what is wrong."""
    message = _NAMESPACE.sub("", entry.message)
    line = entry.line or 0
    element_match = re.search(r"Element '([^']+)'", message)
    element = element_match.group(1) if element_match else ""
    expected = re.search(r"Expected is (?:one of )?\( ?([^)]+?) ?\)", message)
    value = (re.search(r"The value '([^']*)'", message)
             or re.search(r"'([^']*)' is not a valid value", message))
    if "No matching global declaration" in message:
        return _("最初の要素が CAP 1.2 の <alert>（名前空間 %(ns)s）ではありません。", ns=CAP_NS)
    if "Missing child element" in message and expected:
        return _("%(line)d行目: <%(element)s> の中に <%(expected)s> がありません。", line=line,
                 element=element, expected=expected.group(1))
    if "This element is not expected" in message:
        if expected:
            return _("%(line)d行目: <%(element)s> はここには書けません（ここに必要なのは "
                     "<%(expected)s> です）。", line=line, element=element,
                     expected=expected.group(1))
        return _("%(line)d行目: <%(element)s> はここには書けません。", line=line, element=element)
    if value:
        return _("%(line)d行目: <%(element)s> の値「%(value)s」は使えません。", line=line,
                 element=element, value=value.group(1)[:80])
    return _("%(line)d行目: %(detail)s", line=line, detail=message[:200])


def sent_of(data: bytes) -> str | None:
    """The ``<sent>`` text of a stored (already validated) document."""
    try:
        root = etree.fromstring(data, _lxml_parser())
    except etree.XMLSyntaxError:
        return None
    return _text(root, "sent") or None


# -- Building the alert ----------------------------------------------------------------------

def _q(name: str) -> str:
    return f"{{{CAP_NS}}}{name}"


def _text(element: etree._Element, name: str) -> str:
    return (element.findtext(_q(name)) or "").strip()


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _stored(identifier: str, sender: str) -> Alert | None:
    """The alert with this identifier; one from another sender cannot be stored beside it."""
    alert = db.session.scalar(select(Alert).where(Alert.identifier == identifier))
    if alert is not None and alert.sender != sender:
        raise ValidationFailed(_("同じ識別子（identifier）の別の発信者の情報がすでにあるため、"
                                 "取り込めません。"))
    return alert


def _build(root: etree._Element, data: bytes, actor: User, referenced: list[Alert]) -> Alert:
    msg_type = _text(root, "msgType")
    if msg_type not in _MESSAGE_TYPES:
        raise ValidationFailed(_("種類（msgType）が %(type)s の文書は警報ではないため、"
                                 "取り込めません。", type=msg_type))
    if _text(root, "scope") != "Public":
        # Everything imported is shown publicly (portal, Atom feed, cap.xml).
        raise ValidationFailed(_("公開用（scope が Public）でない文書は、"
                                 "公開できないため取り込めません。"))
    infos = root.findall(_q("info"))
    expiries = [_instant(e) for e in (_text(i, "expires") for i in infos) if e]
    expires_at = max(expiries) if expiries else None
    message_type = _MESSAGE_TYPES[msg_type]
    # Tests, exercises and drafts are kept for the record but never shown as in force.
    active = (message_type != AlertMessageType.CANCEL and _text(root, "status") == "Actual"
              and (expires_at is None or expires_at > utcnow()))
    return Alert(
        identifier=_text(root, "identifier"), sender=_text(root, "sender"),
        message_type=message_type, kind=AlertKind.FREE, hazard=guess_hazard(infos),
        texts=_texts(infos), target=AlertTarget.CITY, districts=[], association_ids=[],
        references_id=max(referenced, key=lambda a: a.sent_at).id if referenced else None,
        active=active, source="cap", cap_xml=_decoded(root, data),
        sent_at=_instant(_text(root, "sent")), expires_at=expires_at, issued_by_id=actor.id)


def _decoded(root: etree._Element, data: bytes) -> str:
    """The document as text, exactly as sent (the encoding its declaration names)."""
    try:
        return data.decode(root.getroottree().docinfo.encoding or "utf-8")
    except (LookupError, UnicodeDecodeError) as exc:
        raise ValidationFailed(_("文字コードが読めません。"
                                 "UTF-8 で保存した XML にしてください。")) from exc


def language_code(tag: str) -> str | None:
    """Our interface language for an ``<info>`` language (our own export tags first)."""
    return _TAG_CODES.get(tag.lower()) or language_for_tag(tag)


def _texts(infos: list[etree._Element]) -> dict[str, dict[str, str]]:
    texts: dict[str, dict[str, str]] = {}
    for info in infos:
        tag = _text(info, "language") or "en-US"  # the schema's default
        code = language_code(tag)
        key = code if code and code not in texts else tag
        if key in texts:
            continue  # a second block in the same language: the first one stands
        event = _text(info, "event")
        texts[key] = {"headline": _text(info, "headline") or event,
                      "description": _text(info, "description"),
                      "instruction": _text(info, "instruction"), "event": event}
    return texts


def guess_hazard(infos: list[etree._Element]) -> Hazard | None:
    """One of our eight hazards from the events' words or the category, else None."""
    events = " ".join(_text(info, "event") for info in infos).lower()
    for hazard, words in _HAZARD_WORDS:
        if any(word in events for word in words):
            return hazard
    categories = {c.text for info in infos for c in info.findall(_q("category"))}
    return Hazard.FIRE if "Fire" in categories else None


def _referenced(root: etree._Element) -> list[Alert]:
    """Stored alerts named in ``<references>`` (``sender,identifier,sent`` …)."""
    pairs = set()
    for item in _text(root, "references").split():
        parts = item.split(",")
        if len(parts) >= 3:
            pairs.add((parts[0], parts[1]))
    if not pairs:
        return []
    rows = db.session.scalars(select(Alert).where(
        Alert.identifier.in_([identifier for _sender, identifier in pairs])))
    return [row for row in rows if (row.sender, row.identifier) in pairs]


def _audit(actor: User, alert: Alert, *, created: bool) -> None:
    audit.record(actor=actor, action="alert.import", target_type="alert", target_id=alert.id,
                 detail={"identifier": alert.identifier, "sender": alert.sender,
                         "message_type": alert.message_type.value, "created": created,
                         "active": alert.active, "references": alert.references_id})

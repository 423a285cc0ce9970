"""CAP 1.2 documents of alerts, and the Atom feed of the alerts in force.

Other systems (broadcasters, the prefecture, apps) read our alerts as CAP 1.2
(OASIS, namespace ``urn:oasis:names:tc:emergency:cap:1.2``): one ``<info>`` per
language the alert has text in (all ten for a templated alert), each with the
city's 全国地方公共団体コード as a ``JIS X 0402`` geocode.  An imported alert is
served as the document we received, byte for byte: it is the issuing
authority's message, not ours to rewrite.

Times are Asia/Tokyo with an explicit ``+09:00`` and no fractional seconds, as
the schema's ``sent`` pattern demands.

Media type: ``application/cap+xml`` was only proposed in an expired IETF draft
(draft-barnes-atoca-cap-mime) and is not registered, so documents are served as
``application/xml``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask_babel import gettext as _
from lxml import etree
from lxml.builder import ElementMaker

from ..config import TIMEZONE
from ..i18n import force_language
from ..models import Alert, AlertKind, AlertMessageType, Hazard
from . import templates

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
XML_NS = "http://www.w3.org/XML/1998/namespace"
CAP_MEDIA_TYPE = "application/xml; charset=utf-8"
ATOM_MEDIA_TYPE = "application/atom+xml; charset=utf-8"
CACHE_CONTROL = "public, max-age=30"  # readers poll; an alert must not stay stale for long
GEOCODE_NAME = "JIS X 0402"  # the standard behind the 6-digit local government code

# The <info> language of each interface language: a valid xs:language tag.  Easy
# Japanese (やさしい日本語) has no subtag of its own, so it gets the private-use
# subtag "x-easy" after ja-JP: readers that do not know it still see Japanese.
CAP_LANGUAGE_TAGS = {
    "ja": "ja-JP", "ja-easy": "ja-JP-x-easy", "en": "en-US", "zh-Hans": "zh-CN",
    "zh-Hant": "zh-TW", "ko": "ko-KR", "vi": "vi-VN", "fil": "fil-PH", "ne": "ne-NP",
    "pt-BR": "pt-BR",
}

_CATEGORIES = {
    Hazard.FLOOD: "Met", Hazard.STORM_SURGE: "Met", Hazard.INLAND_FLOODING: "Met",
    Hazard.LANDSLIDE: "Geo", Hazard.EARTHQUAKE: "Geo", Hazard.TSUNAMI: "Geo",
    Hazard.VOLCANO: "Geo", Hazard.FIRE: "Fire",
}
_SEVERITIES = {5: "Extreme", 4: "Severe", 3: "Moderate"}
# 緊急安全確保 is issued when a disaster is happening or imminent; lifting and an
# opened shelter are facts.  Everything else is a forecast.
_OBSERVED = (AlertKind.LEVEL5, AlertKind.LIFTED, AlertKind.SHELTER_OPENED)
_RESPONSES = {
    AlertKind.LEVEL3: "Evacuate", AlertKind.LEVEL4: "Evacuate",
    AlertKind.LEVEL5: "Shelter",  # too late to move: protect yourself where you are
    AlertKind.LIFTED: "AllClear", AlertKind.SHELTER_OPENED: "Prepare",
}
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_TOKYO = ZoneInfo(TIMEZONE)


def cap_time(moment: datetime) -> str:
    """``2025-09-01T09:00:00+09:00``: Tokyo time, whole seconds, explicit offset."""
    return moment.astimezone(_TOKYO).replace(microsecond=0).isoformat()


def language_tag(code: str) -> str:
    return CAP_LANGUAGE_TAGS.get(code, "ja-JP")


def category(hazard: Hazard | None) -> str:
    return _CATEGORIES.get(hazard, "Safety") if hazard else "Safety"


def urgency(alert: Alert) -> str:
    return "Immediate" if (alert.level or 0) >= 4 else "Expected"


def severity(alert: Alert) -> str:
    return _SEVERITIES.get(alert.level or 0, "Minor")


def certainty(alert: Alert) -> str:
    return "Observed" if alert.kind in _OBSERVED else "Likely"


def base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def cap_url(alert: Alert) -> str:
    """The public address of the alert's CAP document."""
    return base_url() + url_for("cap.cap_document", alert_id=alert.id)


def portal_url() -> str:
    return base_url() + "/portal"


def document(alert: Alert) -> bytes:
    """The alert's CAP 1.2 document (UTF-8; an imported one as received)."""
    if alert.source == "cap" and alert.cap_xml:
        return verbatim(alert)
    return etree.tostring(_alert_element(alert), xml_declaration=True, encoding="UTF-8",
                          pretty_print=True)


def verbatim(alert: Alert) -> bytes:
    """An imported document's bytes, in the encoding its XML declaration names."""
    text = alert.cap_xml or ""
    declared = _XML_ENCODING.match(text[:200].encode("utf-8"))
    encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        return text.encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return text.encode("utf-8")


def media_type(alert: Alert) -> str:
    """Our documents are UTF-8; an imported one keeps its own declaration."""
    if alert.source == "cap" and alert.cap_xml:
        return "application/xml"
    return CAP_MEDIA_TYPE


def _alert_element(alert: Alert) -> etree._Element:
    cap = ElementMaker(namespace=CAP_NS, nsmap={None: CAP_NS})
    root = cap.alert(
        cap.identifier(alert.identifier), cap.sender(alert.sender),
        cap.sent(cap_time(alert.sent_at)), cap.status("Actual"),
        cap.msgType(alert.message_type.value.capitalize()), cap.scope("Public"))
    references = reference_list(alert)
    if references:
        root.append(cap.references(references))
    city = current_app.config["CITY_NAME"]
    # A cancel of an imported alert may carry no text in an interface language: it
    # still needs one <info> to say what was withdrawn.
    for code in templates.languages_with_text(alert) or ["ja"]:
        root.append(_info(cap, alert, code, city))
    return root


def reference_list(alert: Alert) -> str | None:
    """``sender,identifier,sent`` of every earlier message of the chain, oldest first.

    Listing the whole chain (not only the message replaced) lets a reader that
    missed an update still tie this message to the alert it knows.
    """
    if alert.message_type == AlertMessageType.ALERT:
        return None
    chain: list[Alert] = []
    seen = {alert.id}
    current = alert.references
    while current is not None and current.id not in seen:
        chain.append(current)
        seen.add(current.id)
        current = current.references
    return " ".join(f"{a.sender},{a.identifier},{_sent_text(a)}" for a in reversed(chain)) or None


def _sent_text(alert: Alert) -> str:
    """The ``sent`` of a message as its own document wrote it (references must match)."""
    if alert.source == "cap" and alert.cap_xml:
        from .cap_import import sent_of

        written = sent_of(verbatim(alert))
        if written:
            return written
    return cap_time(alert.sent_at)


def _info(cap: ElementMaker, alert: Alert, code: str, city: str) -> etree._Element:
    text = templates.alert_text(alert, code, city)
    with force_language(code):
        area = templates.area_name(alert, city)
    info = cap.info(cap.language(language_tag(code)), cap.category(category(alert.hazard)),
                    cap.event(text.event))
    response = _RESPONSES.get(alert.kind)
    if response and alert.message_type != AlertMessageType.CANCEL:
        info.append(cap.responseType(response))
    info.extend([cap.urgency(urgency(alert)), cap.severity(severity(alert)),
                 cap.certainty(certainty(alert))])
    if alert.expires_at is not None:
        info.append(cap.expires(cap_time(alert.expires_at)))
    info.append(cap.senderName(city))
    for name in ("headline", "description", "instruction"):
        value = getattr(text, name)
        if value:  # an empty element says nothing; CAP makes all three optional
            info.append(getattr(cap, name)(value))
    info.append(cap.web(portal_url()))
    info.append(cap.area(cap.areaDesc(area), cap.geocode(
        cap.valueName(GEOCODE_NAME), cap.value(current_app.config["CITY_CODE"]))))
    return info


# -- Atom ------------------------------------------------------------------------------------

def atom_id(alert: Alert) -> str:
    """The entry id: the CAP identifier when it is an IRI (as ours, ``urn:uuid:…``, are).

    Atom ids must be IRIs; many authorities use bare identifiers such as
    ``2.49.0.0.40.0.AT.…``, so those get a tag URI built from sender and identifier.
    """
    if _IRI.match(alert.identifier):
        return alert.identifier
    host = urlsplit(base_url()).hostname or "localhost"
    day = alert.sent_at.astimezone(UTC).date().isoformat()
    return f"tag:{host},{day}:cap/{quote(alert.sender, safe='@')}/{quote(alert.identifier)}"


def atom_feed(alerts: list[Alert], updated: datetime) -> bytes:
    """An Atom 1.0 feed: one entry per alert, linking to its CAP document."""
    atom = ElementMaker(namespace=ATOM_NS, nsmap={None: ATOM_NS})
    city = current_app.config["CITY_NAME"]
    self_url = base_url() + url_for("cap.atom_feed")
    with force_language("ja"):  # the entries' titles are the Japanese headlines
        title = _("%(city)sの緊急情報", city=templates.city_name(city))
    feed = atom.feed(
        atom.id(self_url), atom.title(title), atom.updated(cap_time(updated)),
        atom.author(atom.name(city), atom.uri(portal_url())),
        atom.link(rel="self", type="application/atom+xml", href=self_url),
        atom.link(rel="alternate", type="text/html", href=portal_url()))
    feed.set(f"{{{XML_NS}}}lang", "ja")
    for alert in alerts:
        text = templates.alert_text(alert, "ja", city)
        entry = atom.entry(
            atom.id(atom_id(alert)), atom.title(text.headline or text.event),
            atom.updated(cap_time(alert.sent_at)), atom.published(cap_time(alert.sent_at)),
            atom.link(rel="alternate", type="application/xml", href=cap_url(alert)))
        summary = text.description or text.instruction
        if summary:
            entry.append(atom.summary(summary, type="text"))
        feed.append(entry)
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)

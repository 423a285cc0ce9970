"""The alert composer's templates, pre-translated through the catalogs.

Japan's evacuation scale (警戒レベル) as the Cabinet Office words it: Level 3
高齢者等避難, Level 4 避難指示, Level 5 緊急安全確保; plus lifting (解除) and
"shelter opened".  Every text is a msgid, so each resident reads a templated
alert in their own language the moment it is sent, and the CAP document carries
one ``<info>`` per language.  Call the text functions under
:func:`chounaikai.i18n.force_language` to get another language.

Colours follow the national scheme (Level 5 black, 4 purple, 3 red) and are
always shown with the level number and its words beside them, never alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..i18n import LANGUAGES, force_language
from ..models import Alert, AlertKind, AlertMessageType, Hazard

TEMPLATE_KINDS = (AlertKind.LEVEL3, AlertKind.LEVEL4, AlertKind.LEVEL5, AlertKind.LIFTED,
                  AlertKind.SHELTER_OPENED)


@dataclass(frozen=True)
class LevelStyle:
    """Colours of a level band; static/css/alerts.css has the same as ``css_class``."""

    css_class: str
    background: str
    foreground: str  # contrast ≥ 4.5:1 against the background


LEVEL_STYLES = {
    5: LevelStyle("alert-level-5", "#0c000c", "#ffffff"),  # black
    4: LevelStyle("alert-level-4", "#aa00aa", "#ffffff"),  # purple
    3: LevelStyle("alert-level-3", "#ff2800", "#000000"),  # red (white on it: 3.6:1)
}
NEUTRAL_STYLE = LevelStyle("alert-level-none", "#0b5394", "#ffffff")

KIND_LABELS = {
    AlertKind.LEVEL3: _l("警戒レベル3 高齢者等避難"),
    AlertKind.LEVEL4: _l("警戒レベル4 避難指示"),
    AlertKind.LEVEL5: _l("警戒レベル5 緊急安全確保"),
    AlertKind.LIFTED: _l("解除"),
    AlertKind.SHELTER_OPENED: _l("避難所の開設"),
    AlertKind.FREE: _l("自由記述"),
}

HAZARD_NAMES = {
    Hazard.FLOOD: _l("洪水"),
    Hazard.LANDSLIDE: _l("土砂災害"),
    Hazard.STORM_SURGE: _l("高潮"),
    Hazard.EARTHQUAKE: _l("地震"),
    Hazard.TSUNAMI: _l("津波"),
    Hazard.FIRE: _l("大規模な火事"),
    Hazard.INLAND_FLOODING: _l("内水氾濫"),
    Hazard.VOLCANO: _l("火山"),
}


@dataclass(frozen=True)
class AlertText:
    """What a resident reads, in one language."""

    language: str  # interface-language code
    event: str  # the hazard, e.g. 洪水
    headline: str
    description: str
    instruction: str
    translated: bool  # False: free text shown in its original language


def _headline(kind: AlertKind) -> str:
    return {
        AlertKind.LEVEL3: _("【警戒レベル3】高齢者等避難"),
        AlertKind.LEVEL4: _("【警戒レベル4】避難指示"),
        AlertKind.LEVEL5: _("【警戒レベル5】緊急安全確保"),
        AlertKind.LIFTED: _("避難指示などを解除しました"),
        AlertKind.SHELTER_OPENED: _("避難所を開設しました"),
    }[kind]


def _instruction(kind: AlertKind) -> str:
    return {
        AlertKind.LEVEL3: _("お年寄りや体の不自由な人など、避難に時間がかかる人は、今すぐ避難して"
                            "ください。ほかの人も避難の準備をしてください。"),
        AlertKind.LEVEL4: _("危険な場所にいる人は、全員すぐに避難してください。"),
        AlertKind.LEVEL5: _("災害が起きているか、すぐに起きそうです。命が危険です。今いる場所で、"
                            "すぐに身の安全を守ってください。"),
        AlertKind.LIFTED: _("避難指示などは解除されました。これからも市の情報に注意してください。"),
        AlertKind.SHELTER_OPENED: _("避難所を開設しました。避難するときは、開いている避難所を"
                                    "ポータルで確かめてください。"),
    }[kind]


def _description(kind: AlertKind, hazard: str, area: str) -> str:
    if kind == AlertKind.LIFTED:
        return _("%(area)sに出していた%(hazard)sの避難情報を解除しました。", area=area,
                 hazard=hazard)
    if kind == AlertKind.SHELTER_OPENED:
        return _("%(hazard)sに備えて、%(area)sの避難所を開設しました。", area=area, hazard=hazard)
    return _("%(hazard)sの危険があるため、%(area)sに%(label)sを出しました。", hazard=hazard,
             area=area, label=str(KIND_LABELS[kind]))


# The city's name is configuration (CITY_NAME, in Japanese); its readers' languages have
# it in the catalogs.  This marks the default for extraction; another city adds its own.
CITY_NAMES = (_l("町田市"),)


def city_name(city: str) -> str:
    """The configured city's name in the current language (as configured if not translated)."""
    return _(city)


def area_name(alert: Alert, city: str) -> str:
    """The target area in words: the city, or its districts (place names stay Japanese)."""
    city = city_name(city)
    if alert.districts:
        return _("%(city)sの%(districts)s", city=city, districts="、".join(alert.districts))
    if alert.target.value == "associations":
        return _("%(city)sの一部の地域", city=city)
    return _("%(city)s全域", city=city)


def alert_text(alert: Alert, language: str, city: str) -> AlertText:
    """The alert as ``language`` readers see it (templates: translated; free text: as written).

    Must run inside an application context (it renders catalog texts).
    """
    with force_language(language) as chosen:
        hazard = str(HAZARD_NAMES[alert.hazard]) if alert.hazard else _("災害")
        if alert.kind in TEMPLATE_KINDS:
            text = AlertText(chosen.code, hazard, _headline(alert.kind),
                             _description(alert.kind, hazard, area_name(alert, city)),
                             _instruction(alert.kind), True)
        else:
            own = alert.texts.get(chosen.code)
            source = own or alert.texts.get("ja") or next(iter(alert.texts.values()), {})
            text = AlertText(chosen.code if own else "ja", hazard,
                             source.get("headline", ""), source.get("description", ""),
                             source.get("instruction", ""), own is not None)
        if alert.message_type == AlertMessageType.CANCEL:
            text = AlertText(text.language, text.event, _("取り消し: %(headline)s",
                                                          headline=text.headline),
                             _("この情報は取り消されました。"), "", text.translated)
    return text


def languages_with_text(alert: Alert) -> list[str]:
    """Interface languages this alert has its own text in (all ten for templates)."""
    if alert.kind in TEMPLATE_KINDS:
        return list(LANGUAGES)
    return [code for code in LANGUAGES if code in alert.texts]


def style_for(alert: Alert) -> LevelStyle:
    return LEVEL_STYLES.get(alert.level or 0, NEUTRAL_STYLE)

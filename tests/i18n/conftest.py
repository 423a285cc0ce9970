"""A neighborhood written in ASCII, so any Japanese left on a page is interface text."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel import support

from chounaikai.i18n import LANGUAGES
from chounaikai.models import MemberRole

TRANSLATIONS = Path(__file__).resolve().parents[2] / "chounaikai" / "translations"


def translate(code: str, msgid: str) -> str:
    """``msgid`` as the compiled catalog of ``code`` has it (what `make install` built)."""
    catalog = LANGUAGES[code].catalog
    if catalog is None:
        return msgid
    path = TRANSLATIONS / catalog / "LC_MESSAGES" / "messages.mo"
    assert path.is_file(), f"{path} is missing: catalogs are compiled by `make install`"
    with path.open("rb") as handle:
        return support.Translations(handle).gettext(msgid)


@pytest.fixture
def ascii_town(factory):
    association = factory.association(name="Sunny Hill", blocks=("Block 1",))
    leader = factory.member(association, role=MemberRole.LEADER)
    circular = factory.circular(association, title="Cleanup day", body="Bring gloves, please.")
    return association, leader, circular

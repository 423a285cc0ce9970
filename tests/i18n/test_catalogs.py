"""CI fails when a catalog is stale, incomplete, fuzzy, mis-placeholdered or broken."""

from __future__ import annotations

import shutil
from pathlib import Path

from babel.messages.catalog import Message
from babel.messages.pofile import read_po, write_po

from chounaikai import catalog_check
from chounaikai.i18n import LANGUAGES


def _ids(path: Path) -> set:
    with path.open("rb") as handle:
        return {message.id for message in read_po(handle) if message.id}


def test_extraction_is_not_stale(tmp_path):
    fresh = tmp_path / "messages.pot"
    catalog_check.extract(fresh)
    committed = catalog_check.TRANSLATIONS / "messages.pot"
    missing = _ids(fresh) - _ids(committed)
    gone = _ids(committed) - _ids(fresh)
    assert not missing, f"run `make messages`: new {sorted(map(str, missing))[:5]}"
    assert not gone, f"run `make messages`: removed {sorted(map(str, gone))[:5]}"


def test_every_language_has_a_complete_catalog():
    catalogs = set(catalog_check.catalog_paths())
    assert catalogs == {language.catalog for language in LANGUAGES.values() if language.catalog}
    assert catalog_check.problems() == []


def _broken_copy(tmp_path: Path, edit) -> list[str]:
    root = tmp_path / "translations"
    shutil.copytree(catalog_check.TRANSLATIONS, root,
                    ignore=shutil.ignore_patterns("*.mo"))
    path = root / "en" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    edit(catalog)
    with path.open("wb") as handle:
        write_po(handle, catalog)
    return catalog_check.problems(root)


def _singular(catalog):
    return next(m for m in catalog if m.id and not m.pluralizable and "%(" in m.id)


def test_the_check_finds_a_missing_entry(tmp_path):
    def drop(catalog):
        message = _singular(catalog)
        message.string = ""
    assert any("not translated" in line for line in _broken_copy(tmp_path, drop))


def test_the_check_finds_a_fuzzy_entry(tmp_path):
    def fuzz(catalog):
        _singular(catalog).flags.add("fuzzy")
    assert any("fuzzy" in line for line in _broken_copy(tmp_path, fuzz))


def test_the_check_finds_a_changed_placeholder(tmp_path):
    def rename(catalog):
        message = _singular(catalog)
        message.string = message.string.replace("%(", "%(x")
    assert any("placeholders" in line for line in _broken_copy(tmp_path, rename))


def test_the_check_finds_wrong_plural_forms():
    # Babel pads a short plural entry when it reads a file, so build one directly.
    message = Message(("%(num)d件", "%(num)d件"), ("%(num)d item",))
    assert any("plural forms" in line
               for line in catalog_check._message_problems("en", message, nplurals=2))


def test_the_check_finds_kanji_in_easy_japanese(tmp_path):
    root = tmp_path / "translations"
    shutil.copytree(catalog_check.TRANSLATIONS, root, ignore=shutil.ignore_patterns("*.mo"))
    path = root / "ja_EASY" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="ja_EASY")
    message = next(m for m in catalog if m.id and not m.pluralizable)
    message.string = "漢字"
    with path.open("wb") as handle:
        write_po(handle, catalog)
    assert any("kanji" in line for line in catalog_check.problems(root))

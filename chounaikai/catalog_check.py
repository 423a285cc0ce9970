"""Are the translation catalogs complete?  ``python -m chounaikai.catalog_check``.

CI fails on any problem this finds (tests/i18n/test_catalogs.py):

* a catalog lacks a message of ``messages.pot``, or has it empty or fuzzy;
* a translation's placeholders (``%(name)s``, ``{n}``) differ from the msgid's;
* a plural message does not have exactly the locale's number of forms;
* a catalog does not compile;
* Easy Japanese (``ja_EASY``) uses kanji: it is written in kana, with spaces
  between phrases (分かち書き), so no reading is ever in doubt.

Whether ``messages.pot`` itself is stale is checked by re-extracting (the test).
``python -m chounaikai.catalog_check extract FILE`` is the one extraction command
(``make messages`` and the staleness test both use it).
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).parent / "translations"
ROOT = Path(__file__).resolve().parent.parent
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]+\}")
_KANJI = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf々]")


def placeholders(text: str) -> list[str]:
    return sorted(_PLACEHOLDER.findall(text))


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def catalog_paths(root: Path = TRANSLATIONS) -> dict[str, Path]:
    return {path.parent.parent.name: path
            for path in sorted(root.glob("*/LC_MESSAGES/messages.po"))}


def _forms(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) \
        else [message.string or ""]


def _message_problems(name: str, message: Message, nplurals: int) -> list[str]:
    msgid = message.id[0] if isinstance(message.id, tuple | list) else message.id
    where = f"{name}: {msgid!r}"
    forms = _forms(message)
    problems = []
    if message.fuzzy:
        problems.append(f"{where} is fuzzy")
    if message.pluralizable and len(forms) != nplurals:
        problems.append(f"{where} has {len(forms)} plural forms, the locale has {nplurals}")
    if not all(form.strip() for form in forms):
        problems.append(f"{where} is not translated")
        return problems
    expected = placeholders(msgid)
    for form in forms:
        if placeholders(form) != expected:
            problems.append(f"{where}: placeholders {placeholders(form)} != {expected}")
        if name == "ja_EASY" and _KANJI.search(form):
            problems.append(f"{where}: Easy Japanese uses kanji in {form!r}")
    return problems


def problems(root: Path = TRANSLATIONS) -> list[str]:
    """Every problem in every catalog under ``root`` (empty: all complete)."""
    template = read_catalog(root / "messages.pot")
    wanted = {message.id for message in template if message.id}
    found = []
    for name, path in catalog_paths(root).items():
        catalog = read_catalog(path, locale=name)
        have = {message.id for message in catalog if message.id}
        found += [f"{name}: missing {_first(msgid)!r}" for msgid in sorted(wanted - have, key=str)]
        found += [f"{name}: obsolete {_first(msgid)!r} (run make messages)"
                  for msgid in sorted(have - wanted, key=str)]
        for message in catalog:
            if message.id and message.id in wanted:
                found += _message_problems(name, message, catalog.num_plurals)
        try:
            write_mo(io.BytesIO(), catalog)
        except Exception as error:  # noqa: BLE001 - any failure to compile is the finding
            found.append(f"{name}: does not compile: {error}")
    return found


def _first(msgid: str | tuple[str, ...]) -> str:
    return msgid[0] if isinstance(msgid, tuple) else msgid


def extract(output: Path) -> None:
    """Extract every marked string of the app and its templates into ``output``.

    Babel skips directories whose names start with "_" unless told otherwise, which
    would silently drop templates/_partials; only dot-directories are skipped here.
    """
    from babel.messages.frontend import CommandLineInterface

    CommandLineInterface().run([
        "pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l",
        "-k", "lazy_gettext", "--no-location", "--sort-output", "--ignore-dirs", ".*",
        "-o", str(output), str(ROOT)])


def main() -> int:
    if sys.argv[1:2] == ["extract"]:
        extract(Path(sys.argv[2]))
        return 0
    only = set(sys.argv[1:])
    found = [line for line in problems() if not only or line.split(":", 1)[0] in only]
    for line in found:
        print(line)
    print(f"{len(found)} problem(s)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Import shelter files: GSI GeoJSON or Digital Agency CSV, detected from the content.

Every file of one import is read and checked before anything is written: one
bad line rejects the whole import (:class:`ImportRejected` names each bad
line or feature), so a half-imported city never reaches residents.  Records
of all files are merged per ``source_key``; a site already stored is updated
in place and keeps its id, its live status, its contacts and its 福祉避難所
flag (set from the data only when the site is first created, then owned by
staff).  Sites missing from a later file are left alone: a shelter in use
must never vanish because a file was incomplete.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..errors import Conflict, ValidationFailed
from ..extensions import db
from ..models import Congestion, Shelter, User, utcnow
from ..permissions import require_staff
from . import digital_agency, gsi
from .records import Problem, ShelterRecord

MAX_FILES = 20
MAX_REPORTED = 20
_CHUNK = 500  # keys per IN (…) query, well under SQLite's parameter limit


@dataclass(frozen=True)
class Upload:
    """A file to import: its name (shown in messages) and its bytes."""

    name: str
    content: bytes


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    files: list[str] = field(default_factory=list)
    shelter_ids: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


class ImportRejected(ValidationFailed):
    """A file is bad: nothing was imported.  ``problems`` lists where and why."""

    def __init__(self, problems: Sequence[Problem]):
        shown = list(problems[:MAX_REPORTED])
        fields: dict[str, str] = {}
        for problem in shown:
            fields.setdefault(f"{problem.file} {problem.where}", problem.reason)
        super().__init__(
            _("取り込めませんでした。何も保存していません。%(problem)s",
              problem=shown[0].describe()),
            fields=fields)
        self.problems = list(problems)


def display_name(name: str) -> str:
    """The file's own name without folders or control characters, for messages."""
    base = os.path.basename(name.replace("\\", "/"))
    cleaned = "".join(ch for ch in base if ch.isprintable())
    return cleaned[:100] or _("（名前のないファイル）")


def decode(raw: bytes) -> str | None:
    """UTF-8 (with or without BOM), else Shift_JIS (CP932) as many city files are."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def is_geojson(name: str, content: str) -> bool:
    return content.lstrip().startswith(("{", "[")) or name.lower().endswith(
        (".geojson", ".json"))


def read_uploads(uploads: Iterable[Upload], *, district_from: str | None = None
                 ) -> list[ShelterRecord]:
    """Parse and merge every file; raises ImportRejected if any of them is bad."""
    merged: dict[str, ShelterRecord] = {}
    problems: list[Problem] = []
    for upload in uploads:
        name = display_name(upload.name)
        content = decode(upload.content)
        if content is None:
            problems.append(Problem(name, _("ファイル全体"), _(
                "文字コードを読めません（UTF-8 か Shift_JIS にしてください）。")))
            continue
        reader = gsi if is_geojson(name, content) else digital_agency
        found, bad = reader.parse(name, content, district_from=district_from)
        problems += bad
        for record in found:
            key = record.source_key
            merged[key] = merged[key].merged(record) if key in merged else record
    if problems:
        raise ImportRejected(problems)
    return list(merged.values())


def import_uploads(uploads: Sequence[Upload], *, district_from: str | None = None
                   ) -> ImportResult:
    """Import files (no permission check: the CLI and the demo seed call this).

    Raises ValidationFailed (no files, too many) or ImportRejected (a bad file),
    Conflict when another import created the same site at the same moment.
    """
    if not uploads:
        raise ValidationFailed(fields={"files": _("ファイルを選んでください。")})
    if len(uploads) > MAX_FILES:
        raise ValidationFailed(fields={"files": _("一度に%(n)d個までにしてください。",
                                                  n=MAX_FILES)})
    result = _write(read_uploads(uploads, district_from=district_from))
    result.files = [display_name(upload.name) for upload in uploads]
    return result


def import_files(paths: Iterable[str | Path], *, district_from: str | None = None
                 ) -> ImportResult:
    """Import files from disk (``flask shelters import``, the demo seed); flushes only."""
    uploads = [Upload(Path(path).name, Path(path).read_bytes()) for path in paths]
    return import_uploads(uploads, district_from=district_from)


def import_by_staff(*, actor: User, uploads: Sequence[Upload],
                    district_from: str | None = None) -> ImportResult:
    """A staff upload (web or API), audit-logged.  Raises PermissionDenied for others."""
    require_staff(actor)
    result = import_uploads(uploads, district_from=clean_district_from(district_from))
    audit.record(actor=actor, action="shelters.import", target_type="shelter",
                 detail={"files": result.files, "created": result.created,
                         "updated": result.updated, "unchanged": result.unchanged})
    return result


def clean_district_from(value: str | None) -> str | None:
    """``None``/blank/``address``: the town part of the address; else a column name."""
    value = (value or "").strip()
    if value in ("", "address"):
        return None
    if len(value) > 60 or not value.isprintable():
        raise ValidationFailed(fields={"district_from": _("列の名前を確認してください。")})
    return value


def _write(found: list[ShelterRecord]) -> ImportResult:
    keys = [record.source_key for record in found]
    existing: dict[str, Shelter] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        existing.update((s.source_key, s) for s in db.session.scalars(
            select(Shelter).where(Shelter.source_key.in_(chunk))))
    now = utcnow()
    result = ImportResult()
    stored: list[Shelter] = []
    for record in found:
        shelter = existing.get(record.source_key)
        if shelter is None:
            # Defaults first: a file that does not say (GSI 指定避難所 and hazards) leaves
            # them unset until the other file fills them in.
            columns = {"is_evacuation_shelter": False, "is_emergency_site": False,
                       "hazards": [], **record.columns()}
            shelter = Shelter(source_key=record.source_key, welfare=record.welfare_hint,
                              is_open=False, congestion=Congestion.EMPTY, evacuees=0,
                              imported_at=now, **columns)
            db.session.add(shelter)
            result.created += 1
        else:
            changed = {k: v for k, v in record.columns().items() if getattr(shelter, k) != v}
            for column, value in changed.items():
                setattr(shelter, column, value)
            shelter.imported_at = now
            if changed:
                result.updated += 1
            else:
                result.unchanged += 1
        stored.append(shelter)
    try:
        db.session.flush()
    except IntegrityError as error:
        raise Conflict(_("同時に別の取り込みが行われました。もう一度お試しください。")) from error
    result.shelter_ids = [shelter.id for shelter in stored]
    return result

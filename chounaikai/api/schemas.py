"""Typed parsing of API request bodies: a JSON object, or form fields for uploads.

Every helper checks one field and records a message under the field's name
instead of raising at once, so a client learns about all bad fields in one
response; :meth:`Fields.done` then raises :class:`ValidationFailed`.  Nothing
here lets bad input reach the database: strings are checked for characters
PostgreSQL refuses (NUL, lone surrogates), integers for the 32-bit id range,
datetimes for an explicit offset and a representable UTC value.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..errors import DomainError, ValidationFailed
from ..models import MAX_ID

MAX_LIST = 500
MAX_REPORTED = 20
_MISSING = object()
E = TypeVar("E", bound=enum.Enum)


class UnsupportedMediaType(DomainError):
    """The body is not in a format this endpoint reads (415)."""

    status = 415
    code = "unsupported_media_type"
    default_message = _l("JSON（Content-Type: application/json）で送ってください。")


def _is_json() -> bool:
    mimetype = request.mimetype
    return mimetype == "application/json" or mimetype.endswith("+json")


def _is_form() -> bool:
    return request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded")


def _has_body() -> bool:
    return bool(request.content_length) or bool(request.headers.get("Transfer-Encoding"))


def json_object(*, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object.

    Raises UnsupportedMediaType when the body is not JSON and ValidationFailed
    when it is not valid JSON or not an object.  With ``optional`` an empty
    body reads as ``{}``.
    """
    if optional and not _has_body():
        return {}
    if not _is_json():
        raise UnsupportedMediaType()
    try:
        data = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError) as exc:
        raise ValidationFailed(_("JSONの形が正しくありません。")) from exc
    if not isinstance(data, dict):
        raise ValidationFailed(_("JSONのオブジェクト（{...}）で送ってください。"))
    return data


def body_fields(allowed: Iterable[str], *, optional: bool = False,
                form: bool = False) -> Fields:
    """Fields of the JSON body (or, with ``form``, of a multipart/urlencoded form)."""
    if form and _is_form():
        source: Mapping[str, Any] = request.form
        extra = {key for key in request.files if key != "files"}
        fields = Fields(source, form=True)
        fields.reject_unknown(allowed, extra=extra)
        return fields
    if form and not _is_json() and _has_body():
        raise UnsupportedMediaType(
            _("JSON か multipart/form-data で送ってください。"))
    fields = Fields(json_object(optional=optional))
    fields.reject_unknown(allowed)
    return fields


def _clean_text(value: str) -> str | None:
    """The message for characters that cannot be stored, else None."""
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        return _("使えない文字が含まれています。")
    return None


def parse_datetime(raw: str) -> datetime:
    """ISO 8601 with an offset, as an aware UTC datetime; raises ValueError otherwise."""
    value = datetime.fromisoformat(raw.strip())
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("out of range") from exc


class Fields:
    """Typed reads of one body; errors are collected until :meth:`done`."""

    def __init__(self, source: Mapping[str, Any], *, form: bool = False):
        self.source = source
        self.form = form
        self.errors: dict[str, str] = {}

    # -- plumbing -----------------------------------------------------------
    def reject_unknown(self, allowed: Iterable[str], *, extra: Iterable[str] = ()) -> None:
        unknown = sorted(set(self.source) - set(allowed) | set(extra))
        for key in unknown[:MAX_REPORTED]:  # a body of 10,000 keys gets a short answer
            self.errors[str(key)[:64]] = _("この項目は使えません。")

    def _raw(self, name: str) -> Any:
        if self.form:
            value = self.source.get(name, "")
            return _MISSING if value == "" else value
        return self.source.get(name, _MISSING)

    def _fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def done(self) -> None:
        """Raise ValidationFailed with every collected field message."""
        if self.errors:
            raise ValidationFailed(fields=self.errors)

    # -- types --------------------------------------------------------------
    def string(self, name: str, *, max_length: int, required: bool = True,
               default: str = "") -> str:
        """A string of at most ``max_length`` characters; blank counts as missing."""
        raw = self._raw(name)
        if raw is _MISSING or raw is None:
            if required:
                self._fail(name, _("入力してください"))
            return default
        if not isinstance(raw, str):
            self._fail(name, _("文字列で入れてください。"))
            return default
        problem = _clean_text(raw)
        if problem:
            self._fail(name, problem)
            return default
        if len(raw) > max_length:
            self._fail(name, _("%(n)d文字以内にしてください。", n=max_length))
            return default
        if required and not raw.strip():
            self._fail(name, _("入力してください"))
        return raw

    def integer(self, name: str, *, minimum: int = 1, maximum: int = MAX_ID,
                required: bool = False, default: int | None = None) -> int | None:
        """An integer in ``minimum..maximum``; JSON ``null`` or absence gives ``default``."""
        raw = self._raw(name)
        if raw is _MISSING or raw is None:
            if required:
                self._fail(name, _("入力してください"))
            return default
        value = self._to_int(raw)
        if value is None:
            self._fail(name, _("整数で入れてください。"))
            return default
        if not minimum <= value <= maximum:
            self._fail(name, _("%(min)dから%(max)dまでの数字にしてください。",
                               min=minimum, max=maximum))
            return default
        return value

    def _to_int(self, raw: Any) -> int | None:
        if self.form and isinstance(raw, str):
            raw = raw.strip()
            return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else None
        if isinstance(raw, bool) or not isinstance(raw, int):
            return None
        return raw

    def boolean(self, name: str, *, default: bool) -> bool:
        """JSON ``true``/``false`` (forms: true/false, 1/0, on/off)."""
        raw = self._raw(name)
        if raw is _MISSING:
            return default
        if self.form and isinstance(raw, str):
            lowered = raw.strip().lower()
            if lowered in ("true", "1", "on", "yes"):
                return True
            if lowered in ("false", "0", "off", "no"):
                return False
        elif isinstance(raw, bool):
            return raw
        self._fail(name, _("true か false で入れてください。"))
        return default

    def id_list(self, name: str) -> tuple[int, ...]:
        """A list of ids (forms: the field repeated, or comma-separated)."""
        if self.form:
            getlist = getattr(self.source, "getlist", None)
            items = [part for value in (getlist(name) if getlist else [])
                     for part in str(value).split(",") if part.strip()]
        else:
            raw = self.source.get(name, [])
            items = [] if raw is None else raw
        if not isinstance(items, list) or len(items) > MAX_LIST:
            self._fail(name, _("数字のリストで入れてください。"))
            return ()
        values = [self._to_int(item) for item in items]
        if any(v is None or not 1 <= v <= MAX_ID for v in values):
            self._fail(name, _("数字のリストで入れてください。"))
            return ()
        return tuple(v for v in values if v is not None)

    def datetime(self, name: str) -> datetime | None:
        """ISO 8601 with an offset (``2025-04-01T09:00:00+09:00`` or ``...Z``), as UTC."""
        raw = self._raw(name)
        if raw is _MISSING or raw is None:
            return None
        if isinstance(raw, str) and len(raw) <= 64 and not _clean_text(raw):
            try:
                return parse_datetime(raw)
            except ValueError:
                pass
        self._fail(name, _("タイムゾーン付きのISO 8601形式で入れてください"
                           "（例: 2025-04-01T09:00:00+09:00）。"))
        return None

    def choice(self, name: str, enum_cls: type[E], *, default: E) -> E:
        """One of ``enum_cls``'s values."""
        raw = self._raw(name)
        if raw is _MISSING:
            return default
        if isinstance(raw, str):
            for member in enum_cls:
                if member.value == raw:
                    return member
        choices = ", ".join(str(m.value) for m in enum_cls)
        self._fail(name, _("次のどれかにしてください: %(choices)s", choices=choices))
        return default

    def require(self, name: str) -> None:
        """Record an error when ``name`` is absent (``null`` may still be allowed)."""
        if not self.present(name):
            self._fail(name, _("入力してください"))

    def present(self, name: str) -> bool:
        """Whether the body has ``name`` at all (``null`` counts as present in JSON)."""
        return self._raw(name) is not _MISSING


def uploaded_files() -> list[tuple[str, bytes]]:
    """Uploaded ``files`` of a multipart body as (name, data); JSON bodies have none."""
    if not _is_form():
        return []
    return [(f.filename or "", f.read())
            for f in request.files.getlist("files") if f and f.filename]

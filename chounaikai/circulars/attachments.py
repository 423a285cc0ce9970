"""Attachment checks and storage.

Types are decided by the file's content, never its name or the browser's
claim.  Images are re-encoded with Pillow, which drops EXIF (including GPS
location) and anything appended after the image data.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import Response, current_app, send_file
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ValidationFailed
from ..models import Attachment

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
# Refuse images whose pixel count would exhaust memory when decoded.
MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class CheckedFile:
    original_name: str
    content_type: str
    data: bytes


def sniff(data: bytes) -> str | None:
    """The content type by magic bytes, or None when not allowed."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    return None


def _reencode(data: bytes, content_type: str) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ValidationFailed(_("画像が大きすぎます。"))
            image.load()
            # Keep the photo upright once the orientation tag is gone.
            upright = ImageOps.exif_transpose(image)
            out = io.BytesIO()
            if content_type == JPEG:
                upright.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
            else:
                upright.save(out, "PNG", optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValidationFailed(_("画像ファイルが壊れているか、対応していない形式です。")) from exc


def check_upload(filename: str, data: bytes) -> CheckedFile:
    """Validate one upload; raises ValidationFailed with a message people understand."""
    name = Path(filename or "file").name[:255] or "file"
    if not data:
        raise ValidationFailed(_("ファイル %(name)s は空です。", name=name))
    if len(data) > current_app.config["ATTACHMENT_MAX_BYTES"]:
        limit = current_app.config["ATTACHMENT_MAX_BYTES"] // (1024 * 1024)
        raise ValidationFailed(
            _("ファイル %(name)s は%(mb)d MBより大きいです。", name=name, mb=limit))
    content_type = sniff(data)
    if content_type is None:
        raise ValidationFailed(_("添付できるのはPDF、JPEG、PNGのファイルだけです。"))
    if content_type in (JPEG, PNG):
        data = _reencode(data, content_type)
    return CheckedFile(name, content_type, data)


def store(checked: CheckedFile) -> str:
    """Write the file under a random name in the upload folder; return that name."""
    stored_name = secrets.token_hex(16)
    path = Path(current_app.config["UPLOAD_FOLDER"]) / stored_name
    path.write_bytes(checked.data)
    return stored_name


def path_of(stored_name: str) -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / stored_name


def send_attachment(item: Attachment) -> Response:
    """The file response: images inline, PDFs as downloads, never sniffed or cached."""
    inline = item.content_type != PDF
    response = send_file(path_of(item.stored_name), mimetype=item.content_type,
                         as_attachment=not inline, download_name=item.original_name, max_age=0)
    if inline:
        response.headers["Content-Disposition"] = response.headers.get(
            "Content-Disposition", "inline")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response

"""Attachments: types by content, images re-encoded without EXIF, members-only downloads."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from sqlalchemy import select

from chounaikai.circulars import attachments as files
from chounaikai.circulars import services
from chounaikai.errors import ValidationFailed
from chounaikai.extensions import db
from chounaikai.models import Attachment, Circular, MemberRole, User
from tests.helpers import form_post
from tests.support import client_for, count, html

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML_AS_PDF = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
GPS = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (35.0, 32.0, 40.0),
       ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (139.0, 26.0, 50.0)}


def jpeg(*, gps: bool = False, orientation: int | None = None, size=(40, 20)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.IFD.GPSInfo] = GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png(*, text: str | None = None) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    image = Image.new("RGBA", (16, 16), (10, 200, 10, 128))
    info = PngInfo()
    if text:
        info.add_text("Comment", text)
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = GPS
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info, exif=exif)
    return out.getvalue()


def _upload_dir(app) -> Path:
    return Path(app.config["UPLOAD_FOLDER"])


def _listing(app) -> set[str]:
    return set(os.listdir(_upload_dir(app)))


@pytest.fixture
def town(factory):
    association = factory.association()
    return {"association": association,
            "leader": factory.member(association, role=MemberRole.LEADER),
            "resident": factory.member(association)}


def _post_circular(client, association_id: int, uploads: list[tuple[bytes, str]], **fields):
    data = {"title": "添付つき", "body": "本文", "audience": "all", **fields,
            "files": [(io.BytesIO(content), name) for content, name in uploads]}
    return form_post(client, f"/a/{association_id}/circulars", data,
                     content_type="multipart/form-data")


# --- content checks ---------------------------------------------------------------------

@pytest.mark.parametrize(("name", "content", "content_type"), [
    ("お知らせ.pdf", PDF, files.PDF),
    ("photo.jpg", jpeg(), files.JPEG),
    ("map.png", png(), files.PNG),
    ("no-extension", PDF, files.PDF),
    ("misnamed.png", jpeg(), files.JPEG),  # the name does not decide the type
])
def test_allowed_types_are_recognised_by_content(app, name, content, content_type):
    with app.test_request_context():
        checked = files.check_upload(name, content)
    assert checked.content_type == content_type
    assert checked.original_name == name


@pytest.mark.parametrize(("name", "content", "message"), [
    ("notice.pdf", HTML_AS_PDF, "添付できるのはPDF、JPEG、PNGのファイルだけです。"),
    ("setup.exe", EXE, "添付できるのはPDF、JPEG、PNGのファイルだけです。"),
    ("invoice.pdf", EXE, "添付できるのはPDF、JPEG、PNGのファイルだけです。"),
    ("anim.gif", GIF, "添付できるのはPDF、JPEG、PNGのファイルだけです。"),
    ("logo.png", SVG, "添付できるのはPDF、JPEG、PNGのファイルだけです。"),
    ("empty.pdf", b"", "ファイル empty.pdf は空です。"),
    ("broken.jpg", b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10,
     "画像ファイルが壊れているか、対応していない形式です。"),
    ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
     "画像ファイルが壊れているか、対応していない形式です。"),
])
def test_disallowed_or_broken_content_is_refused(app, name, content, message):
    with app.test_request_context():
        with pytest.raises(ValidationFailed) as caught:
            files.check_upload(name, content)
        assert caught.value.describe() == message


def test_oversize_file_is_refused(app):
    saved = app.config["ATTACHMENT_MAX_BYTES"]
    app.config["ATTACHMENT_MAX_BYTES"] = len(PDF) - 1
    try:
        with app.test_request_context():
            with pytest.raises(ValidationFailed):
                files.check_upload("big.pdf", PDF)
            app.config["ATTACHMENT_MAX_BYTES"] = len(PDF)
            assert files.check_upload("exact.pdf", PDF).data == PDF
    finally:
        app.config["ATTACHMENT_MAX_BYTES"] = saved


def test_directory_parts_of_the_file_name_are_dropped(app):
    with app.test_request_context():
        assert files.check_upload("../../etc/passwd.pdf", PDF).original_name == "passwd.pdf"


@pytest.mark.parametrize("orientation", [None, 6])
def test_jpeg_exif_and_gps_are_removed(app, orientation):
    original = jpeg(gps=True, orientation=orientation)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    with app.test_request_context():
        checked = files.check_upload("photo.jpg", original)

    stored = Image.open(io.BytesIO(checked.data))
    assert stored.format == "JPEG"
    assert dict(stored.getexif()) == {}
    assert "exif" not in stored.info
    assert b"TestCam" not in checked.data
    # The photo stays upright once the orientation tag is gone.
    assert stored.size == ((20, 40) if orientation == 6 else (40, 20))


def test_png_is_reencoded_without_metadata_or_trailing_data(app):
    original = png(text="自宅は原町田1-2-3") + b"<script>alert(1)</script>"
    with app.test_request_context():
        checked = files.check_upload("map.png", original)

    assert checked.data != original
    assert b"<script>" not in checked.data
    stored = Image.open(io.BytesIO(checked.data))
    assert stored.format == "PNG"
    assert "Comment" not in stored.info
    assert "exif" not in stored.info
    assert dict(stored.getexif()) == {}
    assert stored.size == (16, 16)
    assert stored.mode == "RGBA"


def test_image_with_too_many_pixels_is_refused_before_decoding(app):
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, "PNG")  # 48 million pixels in a few kilobytes
    assert len(out.getvalue()) < 100_000
    with app.test_request_context():
        with pytest.raises(ValidationFailed) as caught:
            files.check_upload("huge.png", out.getvalue())
        assert caught.value.describe() == "画像が大きすぎます。"


def test_jpeg_with_appended_payload_is_cleaned(app):
    original = jpeg() + b"PK\x03\x04 hidden zip <script>alert(1)</script>"
    with app.test_request_context():
        checked = files.check_upload("photo.jpg", original)
    assert b"<script>" not in checked.data
    assert b"PK\x03\x04" not in checked.data


# --- storing with a circular ---------------------------------------------------------------

def test_upload_stores_files_under_random_names_outside_static(app, town):
    before = _listing(app)
    client = client_for(app, town["leader"].user)

    response = _post_circular(client, town["association"].id,
                              [(PDF, "総会資料.pdf"), (jpeg(gps=True), "写真.jpg")])

    assert response.status_code == 302
    with app.app_context():
        stored = list(db.session.scalars(select(Attachment).order_by(Attachment.id)))
        assert [(a.original_name, a.content_type) for a in stored] == [
            ("総会資料.pdf", files.PDF), ("写真.jpg", files.JPEG)]
        names = [a.stored_name for a in stored]
        sizes = [a.size for a in stored]
    assert all(re.fullmatch(r"[0-9a-f]{32}", name) for name in names)
    assert _listing(app) - before == set(names)
    assert (_upload_dir(app) / names[0]).read_bytes() == PDF
    assert sizes[0] == len(PDF)
    assert sizes[1] == (_upload_dir(app) / names[1]).stat().st_size
    with Image.open(_upload_dir(app) / names[1]) as stored_photo:
        assert dict(stored_photo.getexif()) == {}
    static = Path(app.static_folder)
    assert not _upload_dir(app).resolve().is_relative_to(static.resolve())
    for name in names:
        assert not list(static.rglob(name))
        assert client.get(f"/static/{name}").status_code == 404


@pytest.mark.parametrize("bad", [HTML_AS_PDF, EXE, b""])
def test_failed_upload_writes_no_rows_and_no_files(app, town, bad):
    before = _listing(app)
    client = client_for(app, town["leader"].user)

    response = _post_circular(client, town["association"].id,
                              [(PDF, "ok.pdf"), (bad, "second.pdf")])

    assert response.status_code == 400
    assert count(app, Attachment) == 0
    assert count(app, Circular) == 0
    assert _listing(app) == before


def test_oversize_upload_through_the_form_is_refused(app, town):
    saved = app.config["ATTACHMENT_MAX_BYTES"]
    app.config["ATTACHMENT_MAX_BYTES"] = 64
    before = _listing(app)
    try:
        client = client_for(app, town["leader"].user)
        response = _post_circular(client, town["association"].id, [(PDF, "big.pdf")])
    finally:
        app.config["ATTACHMENT_MAX_BYTES"] = saved

    assert response.status_code == 400
    assert "big.pdf" in html(response)
    assert count(app, Attachment) == 0
    assert _listing(app) == before


def test_too_many_attachments_are_refused(app, town):
    limit = app.config["ATTACHMENTS_PER_CIRCULAR"]
    before = _listing(app)
    client = client_for(app, town["leader"].user)

    response = _post_circular(client, town["association"].id,
                              [(PDF, f"{n}.pdf") for n in range(limit + 1)])

    assert response.status_code == 400
    assert f"添付できるファイルは{limit}個までです。" in html(response)
    assert count(app, Attachment) == 0
    assert _listing(app) == before


def test_failed_correction_upload_keeps_circular_and_files(app, town, factory):
    circular = factory.circular(town["association"], title="元の題")
    before = _listing(app)
    client = client_for(app, town["leader"].user)

    response = form_post(client, f"/circulars/{circular.id}/edit", {
        "title": "新しい題", "body": "本文", "audience": "all",
        "files": [(io.BytesIO(PDF), "ok.pdf"), (io.BytesIO(EXE), "bad.pdf")]},
        content_type="multipart/form-data")

    assert response.status_code == 400
    assert count(app, Attachment) == 0
    assert _listing(app) == before
    with app.app_context():
        unchanged = db.session.get(Circular, circular.id)
        assert (unchanged.title, unchanged.revision) == ("元の題", 1)


def test_rolled_back_transaction_removes_stored_files(app, town):
    before = _listing(app)
    with app.test_request_context():
        actor = db.session.get(User, town["leader"].user.id)
        circular = services.create_circular(
            actor=actor, association_id=town["association"].id,
            data=services.CircularInput(title="t", body_md="b"),
            uploads=[services.Upload("a.pdf", PDF)])
        stored_name = circular.attachments[0].stored_name
        assert (_upload_dir(app) / stored_name).exists()
        db.session.rollback()
    assert _listing(app) == before


# --- downloads ------------------------------------------------------------------------------

@pytest.fixture
def with_files(app, town):
    """A circular with a PDF and a PNG, written through the form."""
    client = client_for(app, town["leader"].user)
    assert _post_circular(client, town["association"].id,
                          [(PDF, "総会資料.pdf"), (png(), "map.png")]).status_code == 302
    with app.app_context():
        rows = {a.content_type: a.id for a in db.session.scalars(select(Attachment))}
    return {"pdf": rows[files.PDF], "png": rows[files.PNG]}


def test_member_downloads_pdf_as_attachment_with_safe_headers(app, town, with_files):
    client = client_for(app, town["resident"].user)

    response = client.get(f"/attachments/{with_files['pdf']}")
    body = response.get_data()
    response.close()  # send_file streams from an open file

    assert response.status_code == 200
    assert body == PDF
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "filename*=UTF-8''%E7%B7%8F%E4%BC%9A%E8%B3%87%E6%96%99.pdf" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]
    assert "public" not in response.headers["Cache-Control"]


def test_member_sees_image_inline_with_safe_headers(app, town, with_files):
    client = client_for(app, town["resident"].user)

    response = client.get(f"/attachments/{with_files['png']}")
    response.close()

    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]


def test_circular_page_links_its_attachments(app, town, with_files):
    client = client_for(app, town["resident"].user)
    with app.app_context():
        circular_id = db.session.get(Attachment, with_files["pdf"]).circular_id

    page = html(client.get(f"/circulars/{circular_id}"))

    assert f'href="/attachments/{with_files["pdf"]}"' in page
    assert "総会資料.pdf" in page


def test_non_member_gets_404_for_attachment(app, town, with_files, factory):
    outsider = factory.member(factory.association(), role=MemberRole.LEADER)
    client = client_for(app, outsider.user)

    assert client.get(f"/attachments/{with_files['pdf']}").status_code == 404
    assert client.get("/attachments/999999").status_code == 404


def test_anonymous_download_redirects_to_login(app, with_files):
    response = app.test_client().get(f"/attachments/{with_files['pdf']}")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert response.data != PDF


def test_attachment_of_circular_for_other_block_is_not_served(app, factory):
    association = factory.association(blocks=("1班", "2班"))
    leader = factory.member(association, role=MemberRole.LEADER)
    outside = factory.member(association, block=association.blocks[0])
    client = client_for(app, leader.user)
    _post_circular(client, association.id, [(PDF, "2班.pdf")], audience="blocks",
                   block_ids=[str(association.blocks[1].id)])
    with app.app_context():
        attachment_id = db.session.scalar(select(Attachment.id))

    assert client_for(app, outside.user).get(f"/attachments/{attachment_id}").status_code == 404

"""Domain errors raised by services, and how the web and the API show them."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """Base of errors a service raises on purpose; carries an HTTP status."""

    status = 400
    code = "bad_request"
    default_message: Any = _l("リクエストを処理できませんでした。")

    def __init__(self, message: str | None = None, *, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def describe(self) -> str:
        return str(self.message or self.default_message)


class ValidationFailed(DomainError):
    status = 400
    code = "invalid"
    default_message = _l("入力した内容を確認してください。")


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    default_message = _l("この操作をする権限がありません。")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _l("このページは存在しないか、見る権限がありません。")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _l("現在の状態と合いません。ページを読み込み直して、もう一度お試しください。")


def wants_json() -> bool:
    """API paths and clients that ask only for JSON get JSON errors."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes["text/html"]


def _render(status: int, code: str, message: str, fields: dict[str, str] | None = None):
    if wants_json():
        body: dict[str, Any] = {"error": {"code": code, "message": message}}
        if fields:
            body["error"]["fields"] = fields
        return jsonify(body), status
    return render_template("errors/error.html", status=status, message=message,
                           fields=fields or {}), status


def _server_trouble() -> str:
    return _("問題が発生しました。しばらくしてからもう一度お試しください。")


def init_app(app: Flask) -> None:
    """Register handlers so no expected error becomes a bare 500."""

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        return _render(error.status, error.code, error.describe(), error.fields)

    @app.errorhandler(CSRFError)
    def _csrf(_error: CSRFError):
        return _render(400, "csrf", _(
            "時間が経ったため送信できませんでした。ページを読み込み直して、もう一度お試しください。"))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        messages = {
            400: _("リクエストを処理できませんでした。"),
            401: _("ログインしてください。"),
            403: _("この操作をする権限がありません。"),
            404: _("このページは存在しないか、見る権限がありません。"),
            405: _("ここではこの操作はできません。"),
            413: _("ファイルが大きすぎます。"),
            429: _("試行回数が多すぎます。1分ほど待ってからもう一度お試しください。"),
        }
        message = messages.get(status, _server_trouble())
        response = make_response(
            _render(status, (error.name or "error").lower().replace(" ", "_"), message))
        allow = error.get_response().headers.get("Allow") if status == 405 else None
        if allow:
            response.headers["Allow"] = allow
        return response

    @app.errorhandler(500)
    def _server_error(_error: Exception):
        return _render(500, "server_error", _server_trouble())

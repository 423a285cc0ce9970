"""JSON API v1 for non-browser clients (token auth)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

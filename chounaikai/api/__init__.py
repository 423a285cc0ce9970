"""JSON API v1 for non-browser clients (token auth).

Requests authenticate with ``Authorization: Bearer <token>`` only; the session
cookie is ignored here, so the blueprint is exempt from CSRF.  The routes live
in the ``routes_*`` modules and are described in :mod:`.openapi`.
"""

from flask import Blueprint

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

from . import auth  # noqa: E402

# Ids beyond the integer columns are refused by the app's ``int`` converter (a 404).
bp.before_request(auth.authenticate_request)
bp.after_request(auth.finish_response)

from . import (  # noqa: E402, F401
    openapi,
    routes_associations,
    routes_auth,
    routes_cap,
    routes_circulars,
    routes_live,
    routes_push,
    routes_safety,
    routes_shelters,
)

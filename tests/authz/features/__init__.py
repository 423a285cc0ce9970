"""Authorization cases of the disaster features, one module per feature.

Each module defines ``WEB_CASES`` and ``API_CASES`` (lists of
:class:`tests.authz.web_routes.Case`); web_routes.py and api_routes.py add them
to the matrix.  Objects a case needs beyond :mod:`tests.authz.world` are built
once per world with ``World.once(key, builder)``.
"""

from __future__ import annotations

from tests.authz.features import alerts, cap, portal, safety, shelters

FEATURES = (alerts, cap, shelters, safety, portal)
FEATURE_WEB_CASES = [case for feature in FEATURES for case in feature.WEB_CASES]
FEATURE_API_CASES = [case for feature in FEATURES for case in feature.API_CASES]

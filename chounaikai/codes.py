"""Random codes people type from paper: no look-alike characters (0/O, 1/I/L)."""

from __future__ import annotations

import secrets
import unicodedata

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_code(length: int = 10) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalize_code(value: str) -> str:
    """Accept lower case, spaces, hyphens and full-width input as people type them."""
    value = unicodedata.normalize("NFKC", value).upper()
    return "".join(ch for ch in value if ch.isascii() and ch.isalnum())

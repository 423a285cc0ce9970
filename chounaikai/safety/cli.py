"""`flask safety …` commands.

``flask safety purge-notes`` erases safety-check notes (health, need) older than
SAFETY_NOTE_RETENTION_DAYS.  Run it daily from cron; the leaders' page and the
status API also purge before they show notes, so nothing past the retention is
shown even without cron, but only the command guarantees the database forgets
notes nobody looks at again.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from ..extensions import db
from .retention import purge_notes, retention_days

safety_cli = AppGroup("safety", help="Safety confirmation (安否確認) maintenance.")


@safety_cli.command("purge-notes")
def purge_notes_command() -> None:
    """Erase notes older than the retention (SAFETY_NOTE_RETENTION_DAYS, default 30)."""
    purged = purge_notes()
    db.session.commit()
    click.echo(f"purged {purged} safety notes older than {retention_days()} days")


def register_safety(app: Flask) -> None:
    app.cli.add_command(safety_cli)

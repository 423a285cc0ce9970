"""``flask live prune``: delete live events older than the retention (7 days by default).

Run it daily (cron, or the workers' periodic tick can call
:func:`chounaikai.live.service.prune` and commit).
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup

from ..extensions import db
from .service import RETENTION, prune

live_cli = AppGroup("live", help="Live updates (Socket.IO) maintenance.")


@live_cli.command("prune")
@click.option("--days", type=click.IntRange(min=1), default=RETENTION.days, show_default=True,
              help="Keep events younger than this many days.")
def prune_command(days: int) -> None:
    """Delete old live events (clients that were away longer reload their counters)."""
    deleted = prune(older_than=timedelta(days=days))
    db.session.commit()
    click.echo(f"deleted {deleted} live events older than {days} days")


def init_app(app: Flask) -> None:
    app.cli.add_command(live_cli)

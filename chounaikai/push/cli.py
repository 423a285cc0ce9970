"""``flask push …``: keys, workers, the digest, pruning and an operator's status view.

:func:`register_push` is called from ``chounaikai.cli.register_cli``; besides
the commands it starts the embedded sender thread on the first request of a
serving process (``PUSH_WORKER=thread``), so ``flask db upgrade`` and other
commands never start one.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from ..extensions import db
from ..models import DeliveryStatus, PushDelivery, PushOriginPause, utcnow
from .settings import clock, queue_names, worker_mode

push_cli = AppGroup("push", help="Web Push delivery: VAPID keys, workers, digest, status.")


def register_push(app: Flask) -> None:
    """Add ``flask push`` and the embedded worker's start-on-first-request hook."""
    from . import workers  # registers the after-commit doorbell

    app.cli.add_command(push_cli)
    started = False

    @app.before_request
    def _start_push_thread() -> None:
        nonlocal started
        if not started:
            started = True
            workers.start_thread(app)


@push_cli.command("generate-vapid")
@click.option("--pem", is_flag=True, help="print the private key as PEM instead of base64url")
def generate_vapid_command(pem: bool) -> None:
    """Print a new VAPID key pair as environment settings (keep the private key secret)."""
    from .encryption import b64url_encode
    from .vapid import generate_private_key, private_key_b64url, private_key_pem, public_key_bytes

    key = generate_private_key()
    private = private_key_pem(key).replace("\n", "\\n") if pem else private_key_b64url(key)
    click.echo(f"CHOUNAIKAI_VAPID_PRIVATE_KEY='{private}'")
    click.echo("CHOUNAIKAI_VAPID_SUBJECT='mailto:you@example.jp'  # or https://your-site")
    click.echo(f"# applicationServerKey (public): {b64url_encode(public_key_bytes(key))}")


@push_cli.command("public-key")
def public_key_command() -> None:
    """Print the applicationServerKey browsers subscribe with."""
    from .vapid import public_key_b64url

    click.echo(public_key_b64url(current_app))


@push_cli.command("worker")
@click.option("--once", is_flag=True, help="fan out and send what is due now, then exit")
@click.option("--burst", is_flag=True, help="RQ: process the queued jobs, then exit")
def worker_command(once: bool, burst: bool) -> None:
    """Run a sender: RQ on REDIS_URL (queues emergency, default), else an in-process loop.

    Exits with status 1 when a push service refused our VAPID credentials.
    """
    import threading

    from . import workers
    from .responses import PushAuthError

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        if once:
            stats = workers.run_cycle(app)
            click.echo(" ".join(f"{k}={v}" for k, v in sorted(stats.items())) or "nothing due")
        elif worker_mode(app) == "rq" or (burst and app.config.get("REDIS_URL")):
            workers.run_rq_worker(app, burst=burst)
        else:
            click.echo("push worker: in-process loop (no REDIS_URL); Ctrl-C to stop")
            workers.loop_forever(app, threading.Event(), threading.Event())
    except PushAuthError as error:
        click.echo(f"ERROR: {error}", err=True)
        sys.exit(1)


@push_cli.command("digest")
def digest_command() -> None:
    """Write today's digest notifications if it is time and not done yet."""
    from .digest import run_digest

    click.echo(f"digest: {run_digest(current_app, clock(current_app)())} members")


@push_cli.command("prune")
@click.option("--days", type=int, default=None, help="override PUSH_STALE_DAYS")
def prune_command(days: int | None) -> None:
    """Delete expired subscriptions and those without success for PUSH_STALE_DAYS."""
    from .prune import prune_stale

    click.echo(f"pruned: {prune_stale(current_app, clock(current_app)(), days)}")


def status_lines(app: Flask, now: datetime | None = None) -> list[str]:
    """The operator's view: deliveries by status, failures by answer, pauses, queues."""
    now = now or utcnow()
    since = now - timedelta(days=1)
    D = PushDelivery
    with db.engine.connect() as conn:
        by_status = dict(conn.execute(select(D.status, func.count()).group_by(D.status)).all())
        failed = conn.execute(
            select(D.last_status, func.count()).where(
                D.status == DeliveryStatus.FAILED,
                D.expires_at >= since)
            .group_by(D.last_status).order_by(D.last_status)).all()
        due = conn.scalar(select(func.count()).where(
            D.status == DeliveryStatus.PENDING, D.not_before <= now))
        pauses = conn.execute(select(PushOriginPause.origin, PushOriginPause.paused_until)
                              .where(PushOriginPause.paused_until > now)).all()
    lines = [f"worker mode: {worker_mode(app)}",
             "deliveries: " + ", ".join(f"{s.value}={by_status.get(s, 0)}"
                                        for s in DeliveryStatus),
             f"due now: {due}"]
    for code, count in failed:
        if code in (401, 403):
            lines.append(f"ERROR: {count} deliveries refused with {code} (VAPID credentials): "
                         "check CHOUNAIKAI_VAPID_PRIVATE_KEY / CHOUNAIKAI_VAPID_SUBJECT")
        else:
            lines.append(f"failed with {code}: {count} (400/413: a bug on our side)")
    lines += [f"paused: {origin} until {until.isoformat()}" for origin, until in pauses]
    if app.config.get("REDIS_URL"):
        try:
            from rq import Queue

            from .workers import _redis

            for name in queue_names(app):
                queue = Queue(name, connection=_redis(app))
                lines.append(f"queue {name}: {queue.count} waiting, "
                             f"{queue.failed_job_registry.count} failed jobs")
        except Exception as error:  # status must print even when Redis is down
            lines.append(f"ERROR: Redis unavailable: {error}")
    return lines


@push_cli.command("status")
def status_command() -> None:
    """Show delivery counts, recent failures (401/403 first), paused origins and queues.

    Exits with status 1 when recent deliveries were refused with 401/403.
    """
    lines = status_lines(current_app)
    click.echo("\n".join(lines))
    if any(line.startswith("ERROR") for line in lines):
        sys.exit(1)

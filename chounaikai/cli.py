"""Flask CLI commands: ``flask seed-demo``, ``flask create-user``."""

from __future__ import annotations

import click
from flask import Flask

from .extensions import db


def register_cli(app: Flask) -> None:
    from .push.cli import register_push  # `flask push …` and the embedded sender
    from .safety.cli import register_safety  # `flask safety purge-notes`
    from .shelters.cli import register_shelters  # `flask shelters import …`

    register_push(app)
    register_shelters(app)
    register_safety(app)

    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Create the demo data (safe to run again) and print the demo logins."""
        from .demo import DEMO_PASSWORD, seed_demo

        logins = seed_demo()
        db.session.commit()
        click.echo(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for login, description in logins:
            click.echo(f"  {login:24} {description}")

    @app.cli.command("create-user")
    @click.argument("login_id")
    @click.option("--name", required=True)
    @click.option("--role", type=click.Choice(["none", "staff", "admin"]), default="none")
    @click.password_option()
    def create_user_command(login_id: str, name: str, role: str, password: str) -> None:
        """Create a user, e.g. the first city staff account."""
        from .auth.passwords import MIN_PASSWORD_LENGTH, hash_password
        from .models import GlobalRole, User

        if len(password) < MIN_PASSWORD_LENGTH:
            raise click.BadParameter(f"use at least {MIN_PASSWORD_LENGTH} characters")
        db.session.add(User(login_id=login_id, display_name=name,
                            global_role=GlobalRole(role), password_hash=hash_password(password)))
        db.session.commit()
        click.echo(f"created {login_id}")

"""`flask shelters …` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from ..errors import DomainError
from ..extensions import db


def register_shelters(app: Flask) -> None:
    group = AppGroup("shelters", help="Evacuation shelters (避難所).")

    @group.command("import")
    @click.argument("paths", nargs=-1, required=True,
                    type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--district-from", default=None, metavar="COLUMN",
                  help="Take the district from this column/property (e.g. 地区 or "
                       "対象となる町会・自治会) instead of the town part of the address.")
    def import_command(paths: tuple[Path, ...], district_from: str | None) -> None:
        """Import GSI GeoJSON and/or Digital Agency CSV files (detected from the content).

        All files are checked first; one bad line imports nothing.  Sites already
        imported are updated in place (their live status is kept).
        """
        from .importers import ImportRejected, clean_district_from, import_files

        try:
            result = import_files(paths, district_from=clean_district_from(district_from))
        except ImportRejected as error:
            db.session.rollback()
            click.echo("Nothing imported:", err=True)
            for problem in error.problems:
                click.echo(f"  {problem.describe()}", err=True)
            raise SystemExit(1) from None
        except DomainError as error:
            db.session.rollback()
            details = "; ".join(f"{k}: {v}" for k, v in error.fields.items())
            raise click.ClickException(f"{error.describe()} {details}".strip()) from None
        db.session.commit()
        click.echo(f"created {result.created}, updated {result.updated}, "
                   f"unchanged {result.unchanged} ({result.total} sites from "
                   f"{len(result.files)} file(s))")

    app.cli.add_command(group)

"""The ``citizen-card`` command."""

from __future__ import annotations

import sys
from typing import BinaryIO, TextIO

import click
from flask import Flask
from sqlalchemy import func, inspect, select

from citizen_card import create_app
from citizen_card.config import ConfigError, load_settings
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.instance import ensure_instance
from citizen_card.models import Staff
from citizen_card.models.staff import ROLES
from citizen_card.paths import MIGRATIONS, instance_path_from_env
from citizen_card.services import accounts
from citizen_card.services.errors import DomainError


def _app() -> Flask:
    try:
        app = create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    # Close the connection pool when the command ends (it matters when the command runs
    # inside another process, as in tests; a real CLI process exits anyway).
    click.get_current_context().call_on_close(lambda: _dispose(app))
    return app


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def upgrade_database(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(MIGRATIONS))


@click.group()
def main() -> None:
    """Local citizenship cards: issue, print and verify."""


@main.command()
def init() -> None:
    """Create the instance (secrets, database, first signing key and admin)."""
    path = instance_path_from_env()
    files = ensure_instance(path)
    app = _app()
    with app.app_context():
        had_tables = inspect(db.engine).has_table("alembic_version")
    upgrade_database(app)
    changed = files.created or not had_tables
    with app.app_context():
        ctx = app_context()
        from citizen_card.services import keyring

        if keyring.ensure_signing_key(db.session, ctx.settings, now=ctx.now()):
            changed = True
        if db.session.scalar(select(func.count(Staff.id))) == 0:
            password = accounts.generate_password()
            accounts.create_staff(
                db.session,
                username="admin",
                role="admin",
                password=password,
                policy=ctx.password_policy,
                now=ctx.now(),
                actor=None,
            )
            changed = True
            click.echo("Created the first admin account.")
            click.echo("  user name: admin")
            click.echo(f"  one-time password: {password}")
            click.echo("  (you will choose your own password at the first login)")
        db.session.commit()
    if changed:
        click.echo(f"Instance ready in {path}")
    else:
        click.echo(f"Instance in {path} is already set up; nothing changed.")


@main.command("create-staff")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_staff(name: str, role: str, password_stdin: bool) -> None:
    """Create a staff account; prints a one-time password unless one comes on stdin."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else accounts.generate_password()
    app = _app()
    with app.app_context():
        ctx = app_context()
        try:
            accounts.create_staff(
                db.session,
                username=name,
                role=role,
                password=password,
                policy=ctx.password_policy,
                now=ctx.now(),
                actor=None,
                must_change_password=not password_stdin,
            )
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        db.session.commit()
    if password_stdin:
        click.echo(f"Created {role} account {name}.")
    else:
        click.echo(f"Created {role} account {name}. One-time password: {password}")


@main.command("create-token")
@click.argument("name")
def create_token(name: str) -> None:
    """Print a new API bearer token for a staff account."""
    app = _app()
    with app.app_context():
        ctx = app_context()
        try:
            staff = accounts.get_staff_by_username(db.session, name)
            token = accounts.create_api_token(db.session, staff, now=ctx.now(), actor=None)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        db.session.commit()
    click.echo(token)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Processes: 1 with the default (memory) rate-limit storage, 2 with a shared one.",
)
@click.option("--threads", type=int, default=None, help="Threads per process (default 8).")
@click.option(
    "--plain-http",
    is_flag=True,
    help="On a non-loopback address, keep cookies without Secure and send no HSTS "
    "(a test network without TLS only).",
)
def serve(host: str, port: int, workers: int | None, threads: int | None, plain_http: bool) -> None:
    """Run the service with gunicorn, a production WSGI server (see citizen_card/serving.py)."""
    from gunicorn.app.base import BaseApplication

    from citizen_card import serving

    try:
        settings = load_settings(instance_path_from_env())
        chosen = serving.plan(
            settings, host=host, workers=workers, threads=threads, plain_http=plain_http
        )
        app = create_app(chosen.settings)
    except (ConfigError, serving.ServeRefused) as exc:
        raise click.ClickException(str(exc)) from exc

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in chosen.gunicorn_options(host, port).items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    for warning in chosen.warnings:
        click.echo(f"Warning: {warning}", err=True)
    scheme = "https (behind your TLS proxy)" if chosen.settings.secure_cookies else "http"
    click.echo(
        f"Serving on {host}:{port} ({scheme}; {chosen.workers} process(es), "
        f"{chosen.threads} threads each)"
    )
    Server().run()


@main.command()
def demo() -> None:
    """Fill the database with demo staff and residents (for trying the service)."""
    from citizen_card.demo import fill_demo

    app = _app()
    with app.app_context():
        for line in fill_demo(db.session, app_context()):
            click.echo(line)
        db.session.commit()


@main.group()
def keys() -> None:
    """Signing keys: list, rotate, revoke, export the public keys."""


@keys.command("list")
def keys_list() -> None:
    """List the signing keys and their state."""
    app = _app()
    with app.app_context():
        from citizen_card.services import keyring

        for key in keyring.list_keys(db.session):
            click.echo(f"{key.kid}  {key.state:8}  created {key.created_at:%Y-%m-%d %H:%M}")


@keys.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key; the current one retires and its cards still verify."""
    app = _app()
    with app.app_context():
        from citizen_card.services import keyring

        ctx = app_context()
        key = keyring.rotate(db.session, ctx.settings, now=ctx.now(), actor=None)
        db.session.commit()
        click.echo(f"New signing key {key.kid}.")


@keys.command("revoke", context_settings={"ignore_unknown_options": True})
@click.argument("kid")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def keys_revoke(kid: str, yes: bool) -> None:
    """Revoke a compromised key: every card it signed stops verifying (key_revoked) and
    is revoked; the counter gets the list of residents who need a new card.

    A kid is base64url and may start with '-' (one in 64 does): it is taken as the KID,
    not as an option.
    """
    if not yes:
        click.confirm(
            f"Every card signed with {kid} will fail verification and be revoked. Revoke it?",
            abort=True,
        )
    app = _app()
    with app.app_context():
        from citizen_card.services import compromise

        ctx = app_context()
        try:
            done = compromise.revoke_key(db.session, ctx.settings, kid, now=ctx.now(), actor=None)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        db.session.commit()
    click.echo(f"Key {kid} is revoked.")
    if done.new_signing_kid:
        click.echo(f"New signing key {done.new_signing_kid}.")
    click.echo(f"{done.cards_revoked} card(s) it signed are now revoked (key_compromised).")
    click.echo(
        f"{done.residents_to_recall} resident(s) need a new card; counter staff find the "
        "list under Cards to reissue."
    )


@keys.command("export")
def keys_export() -> None:
    """Print the JWKS (public keys) for verifiers that work offline."""
    import json

    app = _app()
    with app.app_context():
        from citizen_card.services import keyring

        published = keyring.published_keys(db.session, app_context().settings)
        click.echo(json.dumps(published.jwks, indent=2, sort_keys=True))


@main.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
def audit_verify() -> None:
    """Check the whole hash chain; names the first event that does not fit."""
    app = _app()
    with app.app_context():
        from citizen_card.services import audit as audit_service

        report = audit_service.verify_chain(db.session)
    if report.ok:
        click.echo(f"Audit log intact: {report.events} events, head {report.head.hex()}.")
        return
    raise click.ClickException(
        f"Audit log broken at event {report.first_bad_seq}: {report.problem} "
        f"({report.events} events before it are intact)."
    )


@audit.command("export-head")
def audit_export_head() -> None:
    """Print the chain head signed with the issuer's key, to keep a copy elsewhere."""
    import json

    app = _app()
    with app.app_context():
        from citizen_card.services import audit as audit_service

        ctx = app_context()
        statement = audit_service.signed_head(db.session, ctx.settings, now=ctx.now())
    click.echo(json.dumps(statement, indent=2, sort_keys=True))


@main.group()
def places() -> None:
    """The directory of places that accept the card, as CSV (see docs/places.md)."""


@places.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check the file and say what would change.")
def places_import(file: BinaryIO, dry_run: bool) -> None:
    """Create and update places from FILE.csv: all rows or none."""
    from citizen_card.services import places_csv
    from citizen_card.services.places import Languages

    data = file.read(places_csv.MAX_IMPORT_BYTES + 1)
    app = _app()
    with app.app_context():
        ctx = app_context()
        try:
            report = places_csv.import_csv(
                db.session,
                data,
                languages=Languages.from_settings(ctx.settings),
                actor=None,
                now=ctx.now(),
            )
        except places_csv.CsvImportFailed as exc:
            db.session.rollback()
            for problem in exc.problems:
                click.echo(problem.message, err=True)
            if exc.count > len(exc.problems):
                click.echo(f"... and {exc.count - len(exc.problems)} more.", err=True)
            raise click.ClickException(exc.message) from exc
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    verb = "Would import" if dry_run else "Imported"
    click.echo(
        f"{verb}: {report.created} new, {report.updated} changed, "
        f"{report.unchanged} unchanged place(s)."
    )


@places.command("export")
@click.option(
    "--output", "-o", type=click.File("w", encoding="utf-8"), default="-", show_default=True
)
def places_export(output: TextIO) -> None:
    """Write every place (published or not) as CSV, to re-import after editing."""
    from citizen_card.services import places_csv
    from citizen_card.services.places import Languages

    app = _app()
    with app.app_context():
        languages = Languages.from_settings(app_context().settings)
        output.write(places_csv.export_csv(db.session, languages=languages))


@main.command()
@click.option("--dry-run", is_flag=True, help="Only say how many would be deleted.")
def purge(dry_run: bool) -> None:
    """Delete residents whose cards all expired more than RETENTION_MONTHS ago, and batch
    sheets nobody fetched.

    Run it daily (cron or a systemd timer); see README.
    """
    app = _app()
    closed = 0
    with app.app_context():
        from citizen_card.services import place_requests, print_jobs, retention

        ctx = app_context()
        result = retention.purge(
            db.session, ctx.settings, keys=ctx.registry_keys, now=ctx.now(), dry_run=dry_run
        )
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
            retention.sweep_keys(db.session, ctx.registry_keys)
            closed = place_requests.close_stale(db.session, now=ctx.now())
            db.session.commit()
            # Batch sheets nobody fetched go with their jobs after an hour (the store
            # writes on its own connection: the session above holds no lock any more).
            ctx.print_jobs.store.sweep(before=ctx.now() - print_jobs.JOB_MAX_AGE)
            db.session.remove()
            if not retention.make_deletions_final(db.engine, ctx.registry_keys):
                raise click.ClickException(
                    "Records are deleted, but the database files could not be cleaned of "
                    "them now (a long read held them); run the purge again."
                )
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(f"{verb} {result.residents} resident record(s) past the retention period.")
    if not dry_run and closed:
        click.echo(f"Closed {closed} request(s) to list a service, undecided for 90 days.")


if __name__ == "__main__":
    main()

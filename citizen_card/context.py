"""Per-app objects the views hand to services: settings, keys, policies, the clock, and
the batch print jobs."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app

from citizen_card import database
from citizen_card.config import Settings
from citizen_card.extensions import db
from citizen_card.services import city
from citizen_card.services.accounts import PasswordPolicy, SessionTimeouts
from citizen_card.services.print_jobs import BatchContext, JobStore, PrintJobs
from citizen_card.services.registry import RegistryKeys, RegistryPolicy

EXTENSION_KEY = "citizen_card"


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    print_jobs: PrintJobs

    @property
    def registry_keys(self) -> RegistryKeys:
        return RegistryKeys.from_settings(self.settings)

    @property
    def registry_policy(self) -> RegistryPolicy:
        return RegistryPolicy(
            collect_date_of_birth=self.settings.collect_date_of_birth,
            collect_gender=self.settings.collect_gender,
            max_photo_bytes=self.settings.max_photo_bytes,
        )

    @property
    def password_policy(self) -> PasswordPolicy:
        return PasswordPolicy(self.settings.argon2_time_cost, self.settings.argon2_memory_kib)

    @property
    def session_timeouts(self) -> SessionTimeouts:
        return SessionTimeouts(
            idle=timedelta(minutes=self.settings.session_idle_minutes),
            absolute=timedelta(hours=self.settings.session_absolute_hours),
        )

    def now(self) -> datetime:
        return datetime.now(UTC)


def install(app: Flask, settings: Settings) -> AppContext:
    store = JobStore(lambda: db.engine, now=lambda: datetime.now(UTC))
    scope = functools.partial(_batch_context, app)
    ctx = AppContext(settings, PrintJobs(store, master_key=settings.master_key, scope=scope))
    app.extensions[EXTENSION_KEY] = ctx
    return ctx


def app_context() -> AppContext:
    ctx = current_app.extensions[EXTENSION_KEY]
    assert isinstance(ctx, AppContext)  # noqa: S101 — installed by the factory
    return ctx


@contextmanager
def _batch_context(app: Flask) -> Iterator[BatchContext]:
    """What a print job's thread works in: the app's context and its own session."""
    with app.app_context():
        ctx = app_context()
        with database.reading():  # a read only: no write lock while the sheets are drawn
            labels = city.printed_labels(db.session, ctx.settings)
            db.session.commit()
        try:
            yield BatchContext(db.session, ctx.settings, labels, ctx.now())
        finally:
            db.session.remove()

"""The issuing service: a Flask application factory and nothing else."""

from __future__ import annotations

from flask import Flask

from citizen_card import wiring
from citizen_card.config import ConfigError, Settings, load_settings
from citizen_card.paths import PACKAGE, instance_path_from_env


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app. Settings are read from the instance folder unless given.

    :raises ConfigError: a secret is missing or broken (nothing falls back to a default).
    """
    if settings is None:
        settings = load_settings(instance_path_from_env())
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        template_folder=str(PACKAGE / "templates"),
        static_folder="static",
    )
    wiring.init_app(app, settings)
    return app


__all__ = ["ConfigError", "Settings", "create_app", "load_settings"]

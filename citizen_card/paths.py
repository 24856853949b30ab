"""Where things are on disk."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent
MIGRATIONS = PACKAGE / "migrations"
TRANSLATIONS = PACKAGE / "translations"


def instance_path_from_env() -> Path:
    """``CITIZEN_CARD_INSTANCE``, or ``./instance`` in the current directory."""
    return Path(os.environ.get("CITIZEN_CARD_INSTANCE") or "instance").resolve()

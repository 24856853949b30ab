"""The instance's settings as an admin page shows them, read from their definitions.

Settings come from defaults, ``instance/config.py`` and ``CITIZEN_CARD_*`` environment
variables and are read once at start-up (``config.load_settings``); this lists every one
of them from the :class:`~citizen_card.config.Settings` fields, so a setting added there
appears here without editing a template. Secrets are never shown, and the passwords in
connection URLs are masked.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, fields
from typing import Any

from citizen_card.config import ENV_PREFIX, Settings

# Fields that are secrets, or that say nothing an admin can change.
HIDDEN = frozenset({"secret_key", "master_key", "blind_index_key", "extra", "testing"})
# Set by another name than CITIZEN_CARD_<FIELD>.
VARIABLES = {"instance_path": ENV_PREFIX + "INSTANCE"}
_URL_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


@dataclass(frozen=True)
class SettingRow:
    name: str  # the field name
    variable: str  # the environment variable that sets it
    value: str  # the value in use, as text
    default: str | None  # the built-in default, when it has one
    changed: bool  # the instance sets something other than the default


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(str(item) for item in value)
    return _URL_PASSWORD.sub(r"\1***@", str(value))


def describe(settings: Settings) -> list[SettingRow]:
    """Every setting but the secrets, in the order the definitions give."""
    rows = []
    for definition in fields(Settings):
        if definition.name in HIDDEN:
            continue
        value = getattr(settings, definition.name)
        if definition.default is not MISSING:
            default: Any = definition.default
        elif definition.default_factory is not MISSING:
            default = definition.default_factory()
        else:
            default = None
        rows.append(
            SettingRow(
                name=definition.name,
                variable=VARIABLES.get(definition.name, ENV_PREFIX + definition.name.upper()),
                value=_text(value),
                default=None if default is None else _text(default),
                changed=default is not None and value != default,
            )
        )
    return rows

#!/usr/bin/env bash
# Re-extract user-facing strings and merge them into every catalogue.
# Then translate the new entries in citizen_card/translations/*/LC_MESSAGES/messages.po.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pybabel extract -F babel.cfg -k N_ -k _l --no-location --sort-output \
  -o citizen_card/translations/messages.pot .
.venv/bin/pybabel update -i citizen_card/translations/messages.pot -d citizen_card/translations \
  --no-fuzzy-matching --ignore-obsolete

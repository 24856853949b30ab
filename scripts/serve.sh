#!/usr/bin/env bash
# First run: set everything up, create ./instance (secrets, SQLite, signing key, an admin
# whose one-time password is printed), then serve on http://127.0.0.1:5000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/citizen-card init
exec .venv/bin/citizen-card serve --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"

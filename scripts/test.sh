#!/usr/bin/env bash
# Set up and run every check: lint, format, types, and the whole test suite.
# PostgreSQL tests run when TEST_DATABASE_URL is set, browser tests when Chromium is there.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# The browser tests drive Debian's Chromium (never a downloaded browser build).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Chromium and poppler-utils for the browser and PDF tests..."
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
# Exit 5 means "no tests collected", which happens only with a selecting argument.
if [ "$status" = 5 ] && [ "$#" -gt 0 ]; then status=0; fi
exit "$status"

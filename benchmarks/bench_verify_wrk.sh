#!/usr/bin/env bash
# POST /api/v1/verify against GET /healthz on the production server (citizen-card serve),
# 30 s each with wrk, in the same run. Run by hand:
#     benchmarks/bench_verify_wrk.sh [seconds]
# With REDIS_URL set (e.g. redis://127.0.0.1:6379/9) it serves with 2 workers sharing their
# rate limits in that Redis; without, as the embedded default does (one process, threads).
# Needs wrk (apt-get install wrk) and a set-up checkout (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-30}
PORT=${PORT:-5077}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
export CITIZEN_CARD_INSTANCE="$work/instance"
# The limit per address would stop a load test from one address; lift it for the run.
export CITIZEN_CARD_VERIFY_RATE_LIMIT="100000000 per minute"
export CITIZEN_CARD_VERIFY_BASE_URL="https://verify.city.example"
.venv/bin/citizen-card init >/dev/null 2>&1
.venv/bin/citizen-card create-staff bench --role clerk >/dev/null
token=$(.venv/bin/citizen-card create-token bench)
if [ -n "${REDIS_URL:-}" ]; then
  export CITIZEN_CARD_RATELIMIT_STORAGE_URI="$REDIS_URL"
  workers=(--workers 2)
else
  workers=()
fi
.venv/bin/citizen-card serve --port "$PORT" "${workers[@]}" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
auth="Authorization: Bearer $token"
id=$(curl -sf -H "$auth" -H 'Content-Type: application/json' \
  -d '{"given_names": "Maria José", "family_names": "da Conceição Silva"}' \
  "http://127.0.0.1:$PORT/api/v1/residents" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["id"])')
.venv/bin/python - "$work/photo.jpg" <<'PY'
import sys
from PIL import Image
Image.new("RGB", (420, 540), (200, 160, 140)).save(sys.argv[1], "JPEG")
PY
curl -sf -X PUT -H "$auth" -H 'Content-Type: image/jpeg' --data-binary @"$work/photo.jpg" \
  "http://127.0.0.1:$PORT/api/v1/residents/$id/photo"
qr=$(curl -sf -X POST -H "$auth" "http://127.0.0.1:$PORT/api/v1/residents/$id/cards" \
  | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["qr"])')
cat >"$work/verify.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"qr": "$qr"}'
wrk.headers["Content-Type"] = "application/json"
LUA
echo "check: $(curl -sf -H 'Content-Type: application/json' -d "{\"qr\": \"$qr\"}" "http://127.0.0.1:$PORT/api/v1/verify")"
echo "== GET /healthz"
wrk -t1 -c8 -d"${SECONDS_EACH}s" --latency "http://127.0.0.1:$PORT/healthz" | tee "$work/healthz.txt"
echo "== POST /api/v1/verify"
wrk -t1 -c8 -d"${SECONDS_EACH}s" --latency -s "$work/verify.lua" "http://127.0.0.1:$PORT/api/v1/verify" | tee "$work/verify.txt"
h=$(awk '/Requests\/sec/ {print $2}' "$work/healthz.txt")
v=$(awk '/Requests\/sec/ {print $2}' "$work/verify.txt")
echo "verify / healthz = $(.venv/bin/python -c "print(f'{$v / $h:.0%}')")"
grep -E "Non-2xx|Socket errors" "$work/healthz.txt" "$work/verify.txt" || echo "no errors"

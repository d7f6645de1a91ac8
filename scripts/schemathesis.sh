#!/usr/bin/env bash
# OpenAPI-driven fuzzing: starts a throw-away wavault (SQLite in a temp dir, fresh random
# secrets, a free port), runs schemathesis against its /openapi.json as a tenant owner and as a
# platform operator, then stops it. Exits non-zero when schemathesis reports a failure.
#
#   scripts/schemathesis.sh
#   SCHEMATHESIS_CHECKS=all SCHEMATHESIS_MAX_EXAMPLES=200 scripts/schemathesis.sh
#
# Schemathesis comes from PyPI into a virtualenv under target/ the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

CHECKS="${SCHEMATHESIS_CHECKS:-not_a_server_error}"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-50}"
VENV=target/schemathesis-venv
ST="$VENV/bin/schemathesis"

if [ ! -x "$ST" ]; then
  echo "== installing schemathesis into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis>=4,<5"
fi

WORK="$(mktemp -d)"
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || true
  fi
  rm -rf "$WORK"
}
trap stop_server EXIT

b64() { python3 -c 'import base64,secrets;print(base64.b64encode(secrets.token_bytes(32)).decode())'; }
PORT="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"

# Nothing of the caller's WAVAULT_* environment leaks in; every secret is new for this run.
for v in $(env | grep -o '^WAVAULT[A-Z0-9_]*' || true); do unset "$v"; done
export WAVAULT_ENV=test
export WAVAULT__SERVER__PORT="$PORT"
export WAVAULT__DATABASE__URL="sqlite://$WORK/wavault.db?mode=rwc"
export WAVAULT__CRYPTO__MASTER_KEYS="k1:$(b64)"
export WAVAULT__CRYPTO__ACTIVE_KEY=k1
export WAVAULT__CRYPTO__CERTIFICATE_KEY="$(b64)"
export WAVAULT__AUTH__JWT_SECRET="$(b64)"
export WAVAULT__META__APP_SECRETS="$(b64)"
export WAVAULT__META__VERIFY_TOKEN="$(b64)"
# Replies must never reach Meta from a fuzz run: nothing listens on port 9.
export WAVAULT__META__GRAPH_BASE_URL="http://127.0.0.1:9"
# Fuzzed logins must not lock the run out for long.
export WAVAULT__AUTH__FAILED_LOGIN_WINDOW_SECS=1
PASSWORD="$(b64)"

echo "== building"
cargo build --quiet --bin wavault
WAVAULT=target/debug/wavault
"$WAVAULT" migrate >/dev/null
WAVAULT_PASSWORD="$PASSWORD" "$WAVAULT" tenant create --name "Fuzz Ltd" --slug fuzz \
  --owner-email owner@fuzz.example >/dev/null
WAVAULT_PASSWORD="$PASSWORD" "$WAVAULT" staff create --email operator@bsp.example \
  --role operator >/dev/null

echo "== starting wavault on $BASE"
cargo run --quiet --bin wavault -- serve --no-migrate >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
  if python3 - "$BASE/readyz" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1)
PY
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.2
done

token() {
  python3 - "$BASE/v1/auth/login" "$PASSWORD" "$@" <<'PY'
import json, sys, urllib.request
url, password, email = sys.argv[1], sys.argv[2], sys.argv[3]
body = {"email": email, "password": password}
if len(sys.argv) > 4:
    body["tenant"] = sys.argv[4]
req = urllib.request.Request(url, json.dumps(body).encode(),
                             {"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["access_token"])
PY
}

# One run per identity. The owner's run leaves out the tenant settings, whose fuzzed
# `require_totp: true` would lock that owner out for the rest of the run; they get a run of their
# own at the end. Logging out would revoke the token a run uses.
run() {
  local who="$1" token="$2"
  shift 2
  echo "== schemathesis as $who (checks: $CHECKS, max examples: $MAX_EXAMPLES)"
  "$ST" run "$BASE/openapi.json" \
    --checks "$CHECKS" \
    --max-examples "$MAX_EXAMPLES" \
    --header "Authorization: Bearer $token" \
    --exclude-path /v1/auth/logout \
    --request-timeout 30 \
    --report junit --report-junit-path "target/schemathesis-$who.xml" \
    "$@" ${SCHEMATHESIS_ARGS:-} || status=$?
}

status=0
run owner "$(token owner@fuzz.example fuzz)" --exclude-path /v1/tenant/settings
run operator "$(token operator@bsp.example)"
run owner-settings "$(token owner@fuzz.example fuzz)" --include-path /v1/tenant/settings

if grep -q ERROR "$WORK/server.log"; then
  echo "== server errors logged during the run:"
  grep 'ERROR' "$WORK/server.log" | tail -20
fi
exit "$status"

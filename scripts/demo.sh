#!/usr/bin/env bash
# `make demo`: the sandbox (imitation of every upstream) and the gateway in the dev profile, together.
# Ctrl-C stops both.
set -euo pipefail
PY=${1:-.venv/bin/python}
SANDBOX_PORT=${2:-8100}
GATEWAY_PORT=${3:-8000}
SANDBOX_URL="http://127.0.0.1:${SANDBOX_PORT}/"

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo stopped"
}
# Ctrl-C (or a TERM) is how the demo is meant to end: stop both processes and exit cleanly.
trap 'stop; exit 0' INT TERM
trap stop EXIT

"$PY" -m sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" &
pids+=($!)

for _ in $(seq 1 100); do
  if "$PY" -c "import urllib.request,sys; urllib.request.urlopen('${SANDBOX_URL}_sandbox/stats', timeout=1)" 2>/dev/null; then
    break
  fi
  sleep 0.1
done

# A demo API key (tier standard) in a demo key store under var/, created once and reused; keyless calls are served
# on the dev profile's small anonymous tier.
DEMO_DIR=var/demo
mkdir -p "$DEMO_DIR"
if [[ ! -s "$DEMO_DIR/demo-key" || ! -s "$DEMO_DIR/keys.json" ]]; then
  (umask 077 && GATEWAY_PROFILE=dev GATEWAY_KEYS_FILE="$DEMO_DIR/keys.json" \
    "$PY" -m gateway keys create --tier standard --owner demo >"$DEMO_DIR/demo-key")
fi
DEMO_KEY=$(cat "$DEMO_DIR/demo-key")

# Every upstream of the catalog at the sandbox: GATEWAY_<NAME>_URL (an upstream whose URL is not set is never asked).
URL_VARIABLES=$("$PY" -c 'from gateway.settings import url_variable; from gateway.upstreams.catalog import SPECS
print(" ".join(url_variable(spec.name) for spec in SPECS))')
for variable in $URL_VARIABLES; do
  export "$variable=$SANDBOX_URL"
done

GATEWAY_PROFILE=dev GATEWAY_KEYS_FILE="$DEMO_DIR/keys.json" \
GATEWAY_ITA_API_KEY="${GATEWAY_ITA_API_KEY:-ita-sandbox-key}" \
GATEWAY_SAM_API_KEY="${GATEWAY_SAM_API_KEY:-sam-sandbox-key}" \
GATEWAY_PORT="$GATEWAY_PORT" \
  "$PY" -m gateway &
pids+=($!)

for _ in $(seq 1 100); do
  if "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${GATEWAY_PORT}/healthz', timeout=1)" 2>/dev/null; then
    break
  fi
  sleep 0.1
done

cat <<MSG

  Sandbox upstreams : ${SANDBOX_URL}  (ITA, Canada, SAM imitations; control API at ${SANDBOX_URL}_sandbox/stats)
  GraphiQL          : http://127.0.0.1:${GATEWAY_PORT}/graphql
  GraphQL endpoint  : POST http://127.0.0.1:${GATEWAY_PORT}/graphql
  Demo API key      : ${DEMO_KEY}  (tier standard; kept in ${DEMO_DIR}/)
                      send it as   Authorization: Bearer ${DEMO_KEY}
                      or as        X-API-Key: ${DEMO_KEY}
                      without a key, calls use the small anonymous tier (30 requests a minute)

  Press Ctrl-C to stop.

MSG
wait -n "${pids[@]}"

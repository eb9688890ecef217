#!/usr/bin/env bash
# `make demo`: the sandbox (imitation of every upstream) and the gateway in the dev profile, together.
# Each logs to var/demo/<name>.log. A taken port, or a process that exits, is named with the last lines of its log.
# Stopping the sandbox leaves the gateway running, so answers with partial data can be watched. Ctrl-C stops both.
set -euo pipefail
PY=${1:-.venv/bin/python}
SANDBOX_PORT=${2:-8100}
GATEWAY_PORT=${3:-8000}
SANDBOX_URL="http://127.0.0.1:${SANDBOX_PORT}/"
DEMO_DIR=${DEMO_DIR:-var/demo}
START_TIMEOUT_S=${DEMO_START_TIMEOUT_S:-30}

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

fail() {
  echo "error: $*" >&2
  exit 1
}
log_tail() {
  echo "---- last lines of $1 ----" >&2
  tail -n 20 "$1" >&2 || true
  echo "----" >&2
}
# Both ports are checked before anything starts: a port another process holds would make ours exit, or let the
# other process answer in its place.
port_is_free() {
  "$PY" -c 'import socket, sys
with socket.socket() as probe:
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(1)' "$1"
}
[[ "$SANDBOX_PORT" != "$GATEWAY_PORT" ]] || fail "SANDBOX_PORT and GATEWAY_PORT are both $GATEWAY_PORT"
for setting in SANDBOX_PORT GATEWAY_PORT; do
  port=${!setting}
  if ! port_is_free "$port"; then
    holder=""
    if command -v ss >/dev/null; then holder=$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n 1) || true; fi
    fail "port $port ($setting) is taken by another process${holder:+: $holder}; stop it, or choose another port:" \
      "make demo $setting=<port>"
  fi
done
# reap PID: `status` becomes the exit status of the child process PID, which has exited.
reap() {
  status=0
  wait "$1" 2>/dev/null || status=$?
}
# wait_until_answers NAME PID LOG URL: until URL answers, or fail naming NAME (with its log) if it exits or is slow.
wait_until_answers() {
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$4" 2>/dev/null; do
    if ! kill -0 "$2" 2>/dev/null; then
      reap "$2"
      log_tail "$3"
      fail "the $1 (pid $2) exited with status $status before answering at $4"
    fi
    if ((SECONDS >= deadline)); then
      log_tail "$3"
      fail "the $1 (pid $2) did not answer at $4 within ${START_TIMEOUT_S} s"
    fi
    sleep 0.2
  done
}

mkdir -p "$DEMO_DIR"
SANDBOX_LOG="$DEMO_DIR/sandbox.log"
GATEWAY_LOG="$DEMO_DIR/gateway.log"

"$PY" -m sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" >"$SANDBOX_LOG" 2>&1 &
sandbox_pid=$!
pids+=("$sandbox_pid")
wait_until_answers sandbox "$sandbox_pid" "$SANDBOX_LOG" "${SANDBOX_URL}_sandbox/stats"

# A demo API key (tier standard) in a demo key store under var/, created once and reused; keyless calls are served
# on the dev profile's small anonymous tier.
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

# The UK mirrors read the imitations' history in 30-day update windows (the live services want shorter ones), so that
# their first refresh is done in seconds at the publishers' own pace (Find a Tender: about 12 requests in 2 minutes).
export GATEWAY_CONTRACTSFINDER_WINDOW_S="${GATEWAY_CONTRACTSFINDER_WINDOW_S:-2592000}"
export GATEWAY_FINDATENDER_WINDOW_S="${GATEWAY_FINDATENDER_WINDOW_S:-2592000}"

# Dev only (refused in the prod profile): GraphiQL pre-fills the demo key in its Headers tab, and browser apps on local
# development servers (any port of localhost or 127.0.0.1) may call the gateway (CORS).
GATEWAY_GRAPHIQL_DEMO_KEY="$DEMO_KEY" \
GATEWAY_CORS_ALLOWED_ORIGIN_REGEX="${GATEWAY_CORS_ALLOWED_ORIGIN_REGEX:-^https?://(localhost|127\.0\.0\.1)(:[0-9]+)?\$}" \
GATEWAY_PROFILE=dev GATEWAY_KEYS_FILE="$DEMO_DIR/keys.json" \
GATEWAY_MIRROR_DATA_DIR="${GATEWAY_MIRROR_DATA_DIR:-$DEMO_DIR/mirrors}" \
GATEWAY_MIRROR_CONTACT="${GATEWAY_MIRROR_CONTACT:-mailto:demo@localhost}" \
GATEWAY_ITA_API_KEY="${GATEWAY_ITA_API_KEY:-ita-sandbox-key}" \
GATEWAY_SAM_API_KEY="${GATEWAY_SAM_API_KEY:-sam-sandbox-key}" \
GATEWAY_PORT="$GATEWAY_PORT" \
  "$PY" -m gateway >"$GATEWAY_LOG" 2>&1 &
gateway_pid=$!
pids+=("$gateway_pid")
wait_until_answers gateway "$gateway_pid" "$GATEWAY_LOG" "http://127.0.0.1:${GATEWAY_PORT}/healthz"
kill -0 "$sandbox_pid" 2>/dev/null || { log_tail "$SANDBOX_LOG"; fail "the sandbox (pid $sandbox_pid) exited"; }

# The mirrors (CanadaBuys, SAM.gov opportunities, Contracts Finder, Find a Tender) serve once their first snapshot is
# built from the sandbox's feeds (seconds; until then their fields answer MIRROR_NOT_READY): wait for them, so the
# first query of the demo has data.
MIRROR_STATE=$("$PY" - "http://127.0.0.1:${GATEWAY_PORT}/graphql" "$DEMO_KEY" "$START_TIMEOUT_S" <<'PYTHON'
import json, sys, time, urllib.request
url, key, timeout_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
body = json.dumps({"query": "{ sources { name feeds { lastSuccess lastError } } }"}).encode()
headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
deadline, state = time.monotonic() + timeout_s, "still refreshing"
while time.monotonic() < deadline:
    try:
        answer = json.load(urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=2))
        feeds = [feed for source in answer["data"]["sources"] for feed in source["feeds"] or []]
    except (OSError, ValueError, KeyError, TypeError):
        feeds = []
    if feeds and all(feed["lastSuccess"] for feed in feeds):
        state = "ready"
        break
    time.sleep(0.5)
print(state)
PYTHON
)

cat <<MSG

  Sandbox upstreams : ${SANDBOX_URL}  (imitations of ITA, the Canadian API, SAM.gov Contract Awards and Contract
                      Opportunities, CanadaBuys' feeds, Contracts Finder and Find a Tender; control API at
                      ${SANDBOX_URL}_sandbox/stats)
  Mirrors           : ${MIRROR_STATE} (CanadaBuys, SAM.gov opportunities and the UK sources are answered from the
                      mirrored feeds; the retired Canada API only when a query names it, e.g.
                      tenders(filter: {sources: [CANADA]}))
  Leads             : CANADA, FBO and UK from ITA's live successors (canadabuys, samopps, contractsfinder and
                      findatender), AUSTRALIA, STATE, MCA and USTDA from the ITA imitation (GATEWAY_LEADS_<CODE>_FROM)
  Explorer          : http://127.0.0.1:${GATEWAY_PORT}/  (search every source without writing GraphQL)
  GraphiQL          : http://127.0.0.1:${GATEWAY_PORT}/graphql  (the demo key is pre-filled in Headers)
  GraphQL endpoint  : POST http://127.0.0.1:${GATEWAY_PORT}/graphql
  Demo API key      : ${DEMO_KEY}  (tier standard; kept in ${DEMO_DIR}/)
                      send it as   Authorization: Bearer ${DEMO_KEY}
                      or as        X-API-Key: ${DEMO_KEY}
                      without a key, calls use the small anonymous tier (30 requests a minute)
  Browser apps      : CORS allows http://localhost:<any port> and http://127.0.0.1:<any port> (docs/frontend.md)
  Logs              : ${GATEWAY_LOG}, ${SANDBOX_LOG}
  Processes         : gateway (pid ${gateway_pid}), sandbox (pid ${sandbox_pid})
                      kill ${sandbox_pid} takes the upstreams down: the gateway keeps answering, with partial data
                      and an error per upstream

  Press Ctrl-C to stop.

MSG

# Until Ctrl-C: the sandbox may stop (the gateway then shows what its users would see); the gateway may not.
sandbox_running=true
while true; do
  if $sandbox_running && ! kill -0 "$sandbox_pid" 2>/dev/null; then
    sandbox_running=false
    reap "$sandbox_pid"
    echo "the sandbox (pid $sandbox_pid) exited with status $status; the gateway keeps running:" \
      "the upstreams it imitates now fail, and answers carry partial data with an error per upstream" >&2
  fi
  if ! kill -0 "$gateway_pid" 2>/dev/null; then
    reap "$gateway_pid"
    log_tail "$GATEWAY_LOG"
    fail "the gateway (pid $gateway_pid) exited with status $status"
  fi
  sleep 1
done

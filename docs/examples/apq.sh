#!/usr/bin/env bash
# Automatic persisted queries with curl: send the hash alone, get PERSISTED_QUERY_NOT_FOUND, register the query with
# its hash, then send the hash alone again.
#   PGW_API_KEY=pgw_... bash docs/examples/apq.sh [http://127.0.0.1:8000/graphql]
# Without PGW_API_KEY the calls are keyless (served only where the gateway has an anonymous tier, e.g. `make demo`).
set -euo pipefail
URL=${1:-http://127.0.0.1:8000/graphql}
QUERY='query OpenTenders { tenders(first: 3) { totalCount nodes { reference closingDate } } }'
if command -v sha256sum >/dev/null; then sha256() { sha256sum; }; else sha256() { shasum -a 256; }; fi  # macOS: shasum
HASH=$(printf '%s' "$QUERY" | sha256 | cut -d' ' -f1)
EXTENSIONS="{\"persistedQuery\": {\"version\": 1, \"sha256Hash\": \"$HASH\"}}"

headers=(-H 'Content-Type: application/json' -H 'Accept: application/graphql-response+json')
if [[ -n "${PGW_API_KEY:-}" ]]; then
  headers+=(-H "Authorization: Bearer $PGW_API_KEY")
fi
send() {
  curl --silent --show-error --max-time 30 "${headers[@]}" --data "$1" "$URL"
  echo
}

echo "1. the hash alone ($HASH):"
send "{\"extensions\": $EXTENSIONS}"
echo "2. the query with its hash (registers it):"
send "{\"query\": \"$QUERY\", \"extensions\": $EXTENSIONS}"
echo "3. the hash alone again:"
send "{\"extensions\": $EXTENSIONS}"

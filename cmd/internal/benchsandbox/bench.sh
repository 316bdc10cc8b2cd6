#!/usr/bin/env bash
# bench.sh runs supportsync (devstack --once, a full tickets sync) and the one-script peer
# (../shared/peers/naive-sdk, or $PEER_DIR, with its node_modules installed) against the same
# sandbox: the devstack's HubSpot data (seed 1, limits off) and an in-memory Sheets store, each
# on a fresh server, and prints both times and the ratio.
#
#	cmd/internal/benchsandbox/bench.sh [tickets]   # default 100000
set -euo pipefail
n=${1:-100000}
peer=${PEER_DIR:-../shared/peers/naive-sdk}
root=$(cd "$(dirname "$0")/../../.." && pwd)
tmp=$(mktemp -d)
sb=
trap '[ -n "$sb" ] && kill -INT "$sb" 2>/dev/null; rm -rf "$tmp"' EXIT # a failed run leaves no sandbox behind
cd "$root"
GOTOOLCHAIN=${GOTOOLCHAIN:-local} go build -o "$tmp/benchsandbox" ./cmd/internal/benchsandbox
GOTOOLCHAIN=${GOTOOLCHAIN:-local} go build -o "$tmp/supportsync" ./cmd/supportsync
env_for() { echo HUBSPOT_API_BASE_URL=http://127.0.0.1:18081 HUBSPOT_TOKEN=x SHEETS_API_ENDPOINT=http://127.0.0.1:18082/ SPREADSHEET_ID="$1"; }
sandbox() {
	"$tmp/benchsandbox" -tickets "$n" >"$tmp/sandbox.log" 2>&1 &
	sb=$!
	for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18082/ && return; sleep 0.2; done
}

sandbox
out=$(cd "$peer" && env $(env_for peer) node sync.mjs)
kill -INT $sb; wait $sb 2>/dev/null || true
peer_s=$(sed -n 's/.* in \([0-9.]*\) s.*/\1/p' <<<"$out")
echo "$out"

sandbox
env $(env_for product) HUBSPOT_RATE_PER_10S=0 HUBSPOT_SEARCH_RATE_PER_SECOND=0 \
	"$tmp/supportsync" devstack --once --source tickets --mode full --widgets-addr 127.0.0.1:0 --data "$tmp/data" >"$tmp/product.log" 2>&1
kill -INT $sb; wait $sb 2>/dev/null || true
line=$(grep 'records/s' "$tmp/product.log" | tail -1)
echo "supportsync: $(grep -E '^\s+fetched' "$tmp/product.log" | tail -1 | xargs);$line"
prod_s=$(sed -n 's/.*seconds \([0-9.]*\).*/\1/p' <<<"$line")
awk -v p="$prod_s" -v q="$peer_s" 'BEGIN { printf "supportsync %.1f s, peer %.1f s, ratio %.2f (aim: at most 0.8)\n", p, q, p / q }'

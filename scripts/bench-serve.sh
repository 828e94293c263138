#!/usr/bin/env bash
# Dashboard benchmark (docs/benchmarks.md, "server"): a store of N records (default 1,000,000),
# served, every page timed (first page and a deep page), 20 requests each.
#
#   scripts/bench-serve.sh [N] [DB]
#
# 1. `serve_bench` (release) generates the store (reused when DB already has N entries),
#    serves it in-process with the same `shipgate_server::Server` that `shipgate serve` runs,
#    and prints p50/p95/max per page.
# 2. With SHIPGATE_BIN=target/release/shipgate (or any built binary), the real
#    `shipgate serve` is started on the same database and the pages are timed with curl.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
n="${1:-1000000}"
db="${2:-${TMPDIR:-/tmp}/shipgate-serve-bench-$n.db}"
cargo run --release -q -p shipgate-server --example serve_bench -- "$n" "$db" 20

if [[ -n "${SHIPGATE_BIN:-}" ]]; then
  port="${BENCH_PORT:-18089}"
  log="$(mktemp)"
  "$SHIPGATE_BIN" serve --database "$db" --listen "127.0.0.1:$port" 2>"$log" &
  pid=$!
  trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$port/metrics" # waits for the first snapshot
  echo
  echo "shipgate serve ($SHIPGATE_BIN), curl time_total over 20 requests (median ms):"
  for p in / /runs "/runs?before=150000" "/runs?status=failed" /findings /mttr /drift \
           "/drift?before=250000" /admission /audit "/audit?before=500000" /metrics; do
    for _ in $(seq 1 20); do
      curl -fsS -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port$p"
    done | sort -n | awk -v p="$p" '{a[NR]=$1} END {printf "  %-28s %7.1f\n", p, a[int((NR+1)/2)]*1000}'
  done
fi

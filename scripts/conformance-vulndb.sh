#!/usr/bin/env bash
# Conformance runs for shipgate-vulndb against the shared data:
#  - every line of every version-vector file (per-ecosystem pass counts),
#  - the shared OSV advisories (PyPI YAML, Go JSON, crates.io JSON) import with no error,
#    and hand-checked matches at range boundaries.
# Reads SHIPGATE_SHARED_DATA (default: <repo root>/../shared/data); skips with a message
# when the folder is absent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${SHIPGATE_SHARED_DATA:-$root/../shared/data}"
if [ ! -d "$data/version-vectors" ] || [ ! -d "$data/osv" ]; then
  echo "conformance-vulndb: SKIP: shared data not found at $data (set SHIPGATE_SHARED_DATA)" >&2
  exit 0
fi
export SHIPGATE_SHARED_DATA="$data"
cd "$root"
cargo test -p shipgate-vulndb --test conformance -- --nocapture
cargo test -p shipgate-vulndb --test vulndb matching:: -- --nocapture

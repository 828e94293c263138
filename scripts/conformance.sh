#!/usr/bin/env bash
# Conformance runs against the real external data in ../shared/data (see its README).
# Skips, saying so, only when that folder is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${SHIPGATE_SHARED_DATA:-$(pwd)/../shared/data}
if [[ ! -d $DATA ]]; then
  echo "conformance: SKIPPED — $DATA is absent (set SHIPGATE_SHARED_DATA to run it)" >&2
  exit 0
fi
DATA=$(cd "$DATA" && pwd)
export SHIPGATE_SHARED_DATA=$DATA
cargo build --release --locked -p shipgate
BIN=$(pwd)/target/release/shipgate
echo "conformance: data in $DATA, binary $BIN" >&2
"$BIN" --version

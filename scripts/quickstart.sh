#!/usr/bin/env bash
# Install shipgate from this checkout and run its main job — the CI gate, `shipgate scan all` —
# on the demo application. Exits with shipgate's exit code (1: the gate failed, as it should).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo install --locked --path crates/shipgate --root "${CARGO_INSTALL_ROOT:-$HOME/.cargo}"
SHIPGATE=$(command -v shipgate || echo "${CARGO_INSTALL_ROOT:-$HOME/.cargo}/bin/shipgate")
# The demo's own advisory keeps the quick start offline; `shipgate db update` loads the real
# OSV export. A separate cache dir leaves your real database alone.
export SHIPGATE_CACHE_DIR=${SHIPGATE_CACHE_DIR:-$(mktemp -d)}
"$SHIPGATE" db import examples/demo/advisories >&2
set +e
"$SHIPGATE" scan all examples/demo
code=$?
echo "shipgate exited with $code (0 passed, 1 findings at or above --fail-on, 2 error)" >&2
exit $code

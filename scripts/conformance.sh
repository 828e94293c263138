#!/usr/bin/env bash
# Conformance runs against the real external data in ../shared/data (see its README), through
# the shipgate binary and the crates' conformance tests. Skips, saying so, only when that
# folder is absent. Any failure exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DATA=${SHIPGATE_SHARED_DATA:-$ROOT/../shared/data}
if [[ ! -d $DATA ]]; then
  echo "conformance: SKIPPED — $DATA is absent (set SHIPGATE_SHARED_DATA to run it)" >&2
  exit 0
fi
DATA=$(cd "$DATA" && pwd)
export SHIPGATE_SHARED_DATA=$DATA
cargo build --locked -p shipgate
BIN=$ROOT/target/debug/shipgate
[[ -n ${CARGO_TARGET_DIR:-} ]] && BIN=$CARGO_TARGET_DIR/debug/shipgate
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export SHIPGATE_CACHE_DIR=$WORK/cache
fail=0
section() { printf '\n--- %s\n' "$*" >&2; }
check() { # name, condition result (0 ok)
  if [[ $2 -eq 0 ]]; then echo "conformance: PASS $1" >&2; else echo "conformance: FAIL $1" >&2; fail=1; fi
}

section "version ordering: every line of every file in version-vectors"
set +e
cargo test --locked -q -p shipgate-vulndb --test conformance -- --nocapture
check "version vectors + OSV import (crate conformance tests)" $?
set -e

section "OSV import: ../shared/data/osv imports completely"
set +e
"$BIN" db import "$DATA/osv" --format json > "$WORK/import.json"
code=$?
set -e
python3 - "$WORK/import.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["report"]
m = r["metadata"]
print(f"imported {m['advisories']} advisories (+{m['withdrawn']} withdrawn) from {r['files']} files; errors: {len(r['errors'])}", file=sys.stderr)
for e in r["errors"][:20]:
    print("  ", e, file=sys.stderr)
EOF
check "OSV import with no error (exit $code)" $code

section "lockfile fixtures: every supported file parses without panic; broken ones get a clear error"
set +e
cargo test --locked -q -p shipgate-deps --test conformance -- --nocapture
check "lockfile fixtures (crate conformance test)" $?
set -e

section "gitleaks: all rules of the default gitleaks.toml load"
mkdir -p "$WORK/empty"
set +e
"$BIN" scan secrets "$WORK/empty" --gitleaks-config "$DATA/gitleaks-config/config/gitleaks.toml" --format json > "$WORK/gl.json" 2> "$WORK/gl.err"
code=$?
set -e
cat "$WORK/gl.err" >&2
check "gitleaks config loads (exit $code)" $code

if "$BIN" policy --help >/dev/null 2>&1; then
  section "Gatekeeper library: every suite through shipgate policy verify"
  set +e
  "$BIN" policy verify "$DATA/gatekeeper-library/library" --format json > "$WORK/verify.json"
  code=$?
  set -e
  python3 - "$WORK/verify.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print({k: r[k] for k in ("suites", "tests", "cases", "passed", "failed", "unsupported")}, file=sys.stderr)
for f in r["failures"][:20]:
    print("  ", f, file=sys.stderr)
EOF
  check "gatekeeper-library verify (exit $code)" $code
fi

if [[ $fail -ne 0 ]]; then
  echo "conformance: FAILED" >&2
  exit 1
fi
echo "conformance: all runs passed" >&2

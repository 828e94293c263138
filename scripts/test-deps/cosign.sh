#!/usr/bin/env bash
# cosign for the signing interoperability tests (crates/shipgate/tests/cli/sign.rs), built from
# its Go module (the Go module proxy is reachable; release download sites are not) into the
# test-bins cache:
#   ${SHIPGATE_TEST_BIN_DIR:-$HOME/.cache/shipgate/test-bins}/cosign
# Idempotent: a stamp file records the pinned version; a second run takes well under a second.
# The binary is never committed. Tests find it through SHIPGATE_COSIGN (scripts/test-deps.sh).
#
#   scripts/test-deps/cosign.sh          build (or reuse)
#   scripts/test-deps/cosign.sh path     print the binary's path
set -euo pipefail

COSIGN_VERSION=v2.6.5   # github.com/sigstore/cosign/v2

OUT=${SHIPGATE_TEST_BIN_DIR:-$HOME/.cache/shipgate/test-bins}
STAMP="cosign=$COSIGN_VERSION"
log() { printf 'cosign: %s\n' "$*" >&2; }

if [[ ${1:-build} == path ]]; then printf '%s\n' "$OUT/cosign"; exit 0; fi

if [[ -x $OUT/cosign && -f $OUT/STAMP.cosign && $(cat "$OUT/STAMP.cosign") == "$STAMP" ]]; then
  log "cached: $OUT/cosign ($STAMP)"; exit 0
fi
command -v go >/dev/null || { log "the Go toolchain is needed to build cosign"; exit 1; }
export CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-local}
GOFLAGS="${GOFLAGS:-} -buildvcs=false"; export GOFLAGS
mkdir -p "$OUT"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
nice=(); command -v nice >/dev/null && nice=(nice -n 10)
log "building cosign $COSIGN_VERSION"
GOBIN=$tmp "${nice[@]}" go install -trimpath -ldflags="-s -w" "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION"
mv "$tmp/cosign" "$OUT/cosign"
"$OUT/cosign" version >&2 || true
printf '%s\n' "$STAMP" > "$OUT/STAMP.cosign"
log "built: $OUT/cosign"

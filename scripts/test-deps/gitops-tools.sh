#!/usr/bin/env bash
# kustomize and helm for the GitOps renderer's tests, built from their Go modules (the Go
# module proxy is reachable; release download sites are not) into the test-bins cache:
#   ${SHIPGATE_TEST_BIN_DIR:-$HOME/.cache/shipgate/test-bins}/{kustomize,helm}
# Idempotent: a stamp file records the pinned versions; a second run takes well under a second.
# Binaries are never committed.
#
#   scripts/test-deps/gitops-tools.sh          build (or reuse)
#   scripts/test-deps/gitops-tools.sh path     print the directory
set -euo pipefail

KUSTOMIZE_VERSION=v5.7.1   # sigs.k8s.io/kustomize/kustomize/v5
HELM_VERSION=v4.3.2        # helm.sh/helm/v4

OUT=${SHIPGATE_TEST_BIN_DIR:-$HOME/.cache/shipgate/test-bins}
STAMP="kustomize=$KUSTOMIZE_VERSION helm=$HELM_VERSION"
log() { printf 'gitops-tools: %s\n' "$*" >&2; }

if [[ ${1:-build} == path ]]; then printf '%s\n' "$OUT"; exit 0; fi

if [[ -x $OUT/kustomize && -x $OUT/helm && -f $OUT/STAMP.gitops && $(cat "$OUT/STAMP.gitops") == "$STAMP" ]]; then
  log "cached: $OUT ($STAMP)"; exit 0
fi
command -v go >/dev/null || { log "the Go toolchain is needed to build kustomize and helm"; exit 1; }
export CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-local}
GOFLAGS="${GOFLAGS:-} -buildvcs=false"; export GOFLAGS
mkdir -p "$OUT"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
nice=(); command -v nice >/dev/null && nice=(nice -n 10)
log "building kustomize $KUSTOMIZE_VERSION"
GOBIN=$tmp "${nice[@]}" go install -trimpath -ldflags="-s -w" "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
log "building helm $HELM_VERSION"
GOBIN=$tmp "${nice[@]}" go install -trimpath \
  -ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
mv "$tmp/kustomize" "$OUT/kustomize"
mv "$tmp/helm" "$OUT/helm"
"$OUT/kustomize" version >&2
"$OUT/helm" version --short >&2 || true
printf '%s\n' "$STAMP" > "$OUT/STAMP.gitops"
log "built: $OUT"

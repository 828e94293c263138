#!/usr/bin/env bash
# Test control plane for shipgate's Kubernetes integration tests.
#
#   scripts/test-control-plane.sh build   build (or reuse) kube-apiserver + etcd and install
#                                         the system packages the tests need (docker-registry)
#   scripts/test-control-plane.sh deps    only the system packages
#   scripts/test-control-plane.sh path    print the directory holding the binaries
#   scripts/test-control-plane.sh pin     regenerate the wrapper go.mod/go.sum pins (maintainers)
#
# kube-apiserver and etcd are built from the Go module proxy (no GitHub/GCS/dl.k8s.io needed)
# through the wrapper modules in test-support/k8s-bins/{kube-apiserver,etcd}, whose go.mod and
# go.sum are the project's pins. Output is cached in
#   ${SHIPGATE_TEST_BIN_DIR:-$HOME/.cache/shipgate/test-bins}/{kube-apiserver,etcd}
# together with a stamp file; a second run with the cache present takes well under a second.
# Binaries are never committed.
set -euo pipefail

K8S_VERSION=1.34.4    # k8s.io/kubernetes v$K8S_VERSION (staging modules at v0.34.4)
ETCD_VERSION=3.6.16   # go.etcd.io/etcd/server/v3 v$ETCD_VERSION

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WRAP="$ROOT/test-support/k8s-bins"
OUT=${SHIPGATE_TEST_BIN_DIR:-$HOME/.cache/shipgate/test-bins}
STAMP="k8s=$K8S_VERSION etcd=$ETCD_VERSION"

log() { printf 'test-control-plane: %s\n' "$*" >&2; }

deps() {
  if [[ ! -x /usr/bin/docker-registry ]]; then
    log "installing docker-registry (Debian package) for registry-backed tests"
    if [[ $(id -u) -ne 0 ]]; then log "not root: run 'apt-get install -y docker-registry' yourself"; return 1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y docker-registry >/dev/null \
      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y docker-registry >/dev/null; }
    # The package enables a system service on :5000; tests start their own copy on a random port.
    if command -v systemctl >/dev/null 2>&1; then systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi
  fi
}

go_env() {
  command -v go >/dev/null || { log "the Go toolchain is needed to build the test control plane (go >= 1.24)"; exit 1; }
  export CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-local}
  GOFLAGS="${GOFLAGS:-} -buildvcs=false"; export GOFLAGS
}

# Regenerate the wrapper modules from scratch: derives the staging replace list from the exact
# kubernetes go.mod so it is right for whichever version is pinned above.
pin() {
  go_env
  local staging_v="v0.${K8S_VERSION#1.}" gomod m
  ( cd "$WRAP/kube-apiserver"
    rm -f go.mod go.sum
    printf 'module local.test/shipgate-test-kube-apiserver\n\ngo 1.24.0\n' > go.mod
    gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
    [[ -f $gomod ]] || { log "could not download k8s.io/kubernetes@v$K8S_VERSION go.mod"; exit 1; }
    for m in $(sed -n 's|^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*|\1|p' "$gomod"); do
      go mod edit -replace="$m=$m@$staging_v"
    done
    go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION"
    go mod tidy )
  ( cd "$WRAP/etcd"
    rm -f go.mod go.sum
    printf 'module local.test/shipgate-test-etcd\n\ngo 1.24.0\n' > go.mod
    go get -tool "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
    go mod tidy )
}

build() {
  deps || log "warning: docker-registry missing; registry-backed tests will fail"
  if [[ -x $OUT/kube-apiserver && -x $OUT/etcd && -f $OUT/STAMP && $(cat "$OUT/STAMP") == "$STAMP" ]]; then
    log "cached: $OUT ($STAMP)"; return 0
  fi
  go_env
  [[ -f $WRAP/kube-apiserver/go.sum && -f $WRAP/etcd/go.sum ]] || pin
  mkdir -p "$OUT"
  local minor=${K8S_VERSION#1.}; minor=${minor%%.*}
  local ldf="-s -w" p now; now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ldf+=" -X $p.gitTreeState=clean -X $p.buildDate=$now"
  done
  local nice=(); command -v nice >/dev/null && nice=(nice -n 10)
  log "building etcd v$ETCD_VERSION"
  ( cd "$WRAP/etcd" && "${nice[@]}" go build -trimpath \
      -ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=v$ETCD_VERSION" \
      -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3 ) && mv "$OUT/etcd.tmp" "$OUT/etcd"
  log "building kube-apiserver v$K8S_VERSION (slow on a cold cache: 10-25 min on 2 cores)"
  ( cd "$WRAP/kube-apiserver" && "${nice[@]}" go build -trimpath -tags=selinux,notest,grpcnotrace \
      -ldflags="$ldf" -o "$OUT/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver ) \
    && mv "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver"
  "$OUT/etcd" --version >&2
  "$OUT/kube-apiserver" --version >&2
  printf '%s\n' "$STAMP" > "$OUT/STAMP"
  log "built: $OUT"
}

case "${1:-build}" in
  build) build ;;
  deps) deps ;;
  pin) pin ;;
  path) printf '%s\n' "$OUT" ;;
  *) log "usage: $0 build|deps|path|pin"; exit 2 ;;
esac

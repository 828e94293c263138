#!/usr/bin/env bash
# Test control plane for shipgate's Kubernetes integration tests.
#
#   scripts/test-control-plane.sh build   build (or reuse) kube-apiserver + etcd and the node
#                                         binaries, and install the system packages the tests
#                                         need (docker-registry, containerd, runc, CNI plugins)
#   scripts/test-control-plane.sh node    only the node binaries (kubelet, kube-controller-manager,
#                                         kube-scheduler)
#   scripts/test-control-plane.sh deps    only the system packages
#   scripts/test-control-plane.sh path    print the directory holding the binaries
#   scripts/test-control-plane.sh pin     regenerate the wrapper go.mod/go.sum pins (maintainers)
#
# kube-apiserver and etcd are built from the Go module proxy (no GitHub/GCS/dl.k8s.io needed)
# through the wrapper modules in test-support/k8s-bins/{kube-apiserver,etcd}, whose go.mod and
# go.sum are the project's pins. Output is cached in
#   ${SHIPGATE_TEST_BIN_DIR:-$HOME/.cache/shipgate/test-bins}/{kube-apiserver,etcd}
# together with a stamp file; a second run with the cache present takes well under a second.
# The node binaries (kubelet, kube-controller-manager, kube-scheduler) come from the same
# k8s.io/kubernetes version through test-support/k8s-bins/node and have their own stamp
# (STAMP-node), so adding them never rebuilds the control plane binaries.
# Binaries are never committed.
set -euo pipefail

K8S_VERSION=1.34.4    # k8s.io/kubernetes v$K8S_VERSION (staging modules at v0.34.4)
ETCD_VERSION=3.6.16   # go.etcd.io/etcd/server/v3 v$ETCD_VERSION

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WRAP="$ROOT/test-support/k8s-bins"
OUT=${SHIPGATE_TEST_BIN_DIR:-$HOME/.cache/shipgate/test-bins}
STAMP="k8s=$K8S_VERSION etcd=$ETCD_VERSION"
NODE_STAMP="k8s=$K8S_VERSION node"
NODE_BINS=(kubelet kube-controller-manager kube-scheduler)

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
  # The test node: containerd (CRI) + runc, the CNI bridge/host-local/loopback plugins, and
  # busybox-static as the sandbox ("pause") binary and the step image's userland. Tests start
  # their own containerd with its own socket and directories; the system service stays off.
  local need=()
  [[ -x /usr/bin/containerd ]] || need+=(containerd)
  [[ -x /usr/sbin/runc ]] || need+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || need+=(containernetworking-plugins)
  [[ -x /bin/busybox ]] || need+=(busybox-static)
  command -v iptables >/dev/null || need+=(iptables)
  if ((${#need[@]})); then
    log "installing ${need[*]} (Debian packages) for the test node"
    if [[ $(id -u) -ne 0 ]]; then log "not root: run 'apt-get install -y ${need[*]}' yourself"; return 1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >/dev/null \
      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >/dev/null; }
    if command -v systemctl >/dev/null 2>&1; then systemctl disable --now containerd >/dev/null 2>&1 || true; fi
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
  local staging_v="v0.${K8S_VERSION#1.}" gomod m b tools=()
  gomod=$(cd "$WRAP" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  [[ -f $gomod ]] || { log "could not download k8s.io/kubernetes@v$K8S_VERSION go.mod"; exit 1; }
  ( cd "$WRAP/kube-apiserver"
    rm -f go.mod go.sum
    printf 'module local.test/shipgate-test-kube-apiserver\n\ngo 1.24.0\n' > go.mod
    for m in $(sed -n 's|^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*|\1|p' "$gomod"); do
      go mod edit -replace="$m=$m@$staging_v"
    done
    go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION"
    go mod tidy )
  ( cd "$WRAP/node"
    rm -f go.mod go.sum
    printf 'module local.test/shipgate-test-k8s-node\n\ngo 1.24.0\n' > go.mod
    for m in $(sed -n 's|^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*|\1|p' "$gomod"); do
      go mod edit -replace="$m=$m@$staging_v"
    done
    for b in "${NODE_BINS[@]}"; do tools+=("k8s.io/kubernetes/cmd/$b@v$K8S_VERSION"); done
    go get -tool "${tools[@]}"
    go mod tidy )
  ( cd "$WRAP/etcd"
    rm -f go.mod go.sum
    printf 'module local.test/shipgate-test-etcd\n\ngo 1.24.0\n' > go.mod
    go get -tool "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
    go mod tidy )
}

k8s_ldflags() {
  local minor=${K8S_VERSION#1.}; minor=${minor%%.*}
  local ldf="-s -w" p now; now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ldf+=" -X $p.gitTreeState=clean -X $p.buildDate=$now"
  done
  printf '%s' "$ldf"
}

nice_cmd() { if command -v nice >/dev/null; then printf 'nice\n-n\n10\n'; fi; }

control_plane() {
  if [[ -x $OUT/kube-apiserver && -x $OUT/etcd && -f $OUT/STAMP && $(cat "$OUT/STAMP") == "$STAMP" ]]; then
    log "cached: $OUT ($STAMP)"; return 0
  fi
  go_env
  [[ -f $WRAP/kube-apiserver/go.sum && -f $WRAP/etcd/go.sum ]] || pin
  mkdir -p "$OUT"
  local ldf nice=(); ldf=$(k8s_ldflags); mapfile -t nice < <(nice_cmd)
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

# kubelet, kube-controller-manager (the Job controller, service-account token signing) and
# kube-scheduler, static (CGO_ENABLED=0; the kubelet then reads cgroups and mounts through Go
# only, which is all the test node needs).
node() {
  local b ok=1
  for b in "${NODE_BINS[@]}"; do [[ -x $OUT/$b ]] || ok=0; done
  if ((ok)) && [[ -f $OUT/STAMP-node && $(cat "$OUT/STAMP-node") == "$NODE_STAMP" ]]; then
    log "cached: $OUT ($NODE_STAMP)"; return 0
  fi
  go_env
  [[ -f $WRAP/node/go.sum ]] || pin
  mkdir -p "$OUT"
  local ldf nice=(); ldf=$(k8s_ldflags); mapfile -t nice < <(nice_cmd)
  for b in "${NODE_BINS[@]}"; do
    log "building $b v$K8S_VERSION"
    ( cd "$WRAP/node" && "${nice[@]}" go build -trimpath -tags=selinux,notest,grpcnotrace \
        -ldflags="$ldf" -o "$OUT/$b.tmp" "k8s.io/kubernetes/cmd/$b" ) && mv "$OUT/$b.tmp" "$OUT/$b"
    "$OUT/$b" --version >&2
  done
  printf '%s\n' "$NODE_STAMP" > "$OUT/STAMP-node"
  log "built: $OUT ($NODE_STAMP)"
}

build() {
  deps || log "warning: system packages missing; registry- and node-backed tests will fail"
  control_plane
  node
}

case "${1:-build}" in
  build) build ;;
  node) node ;;
  deps) deps ;;
  pin) pin ;;
  path) printf '%s\n' "$OUT" ;;
  *) log "usage: $0 build|node|deps|path|pin"; exit 2 ;;
esac

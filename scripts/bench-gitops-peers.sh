#!/usr/bin/env bash
# shipgate's GitOps agent against Flux on the same control plane, the same repository (served by
# git http-backend) and the same objects (docs/benchmarks-gitops.md).
#
#   scripts/bench-gitops-peers.sh [APPS] [OBJECTS]        # default 100 applications x 10 objects
#
# Flux's source-controller and kustomize-controller v1.9.6 are built from their Go modules into
# ${SHIPGATE_PEER_BIN_DIR:-~/.cache/shipgate/peer-bins} on first use (their go.mod replaces the
# api module with ./api, which module zips leave out: the build drops that replace and takes the
# published api module of the same version; see build() for one pinned dependency). The comparison itself is a mode of the gitops
# benchmark: it starts the control plane, installs Flux's CRDs from the module, runs both
# controllers out of cluster with a kubeconfig, and times one GitRepository + APPS
# Kustomizations to Ready, then the same workload through shipgate's agent.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bins="${SHIPGATE_PEER_BIN_DIR:-$HOME/.cache/shipgate/peer-bins}"
FLUX_VERSION=v1.9.6
apps="${1:-100}"
objects="${2:-10}"
mkdir -p "$bins"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
GOFLAGS="${GOFLAGS:-} -buildvcs=false"; export GOFLAGS

build() { # module [extra go mod edit flags...]
  local name="$1"; shift
  local mod="github.com/fluxcd/$name" out="$bins/$name-$FLUX_VERSION"
  [ -x "$out" ] && [ -d "$out-crds" ] && return
  echo "building $mod@$FLUX_VERSION" >&2
  local dir tmp
  dir="$(go mod download -json "$mod@$FLUX_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  tmp="$(mktemp -d)"
  cp -r "$dir/." "$tmp/"
  chmod -R u+w "$tmp"
  (
    cd "$tmp"
    go mod edit -dropreplace "$mod/api" "$@"
    nice -n 10 go build -mod=mod -trimpath -ldflags="-s -w" -o "$out" .
  )
  rm -rf "$out-crds"
  cp -r "$dir/config/crd/bases" "$out-crds"
  chmod -R u+w "$out-crds"
  rm -rf "$tmp"
}
# github.com/fluxcd/pkg/artifact v0.18.3 (what source-controller v1.9.6 asks for) is not served
# by the module proxy here; v0.18.0 is, and builds.
build source-controller -replace github.com/fluxcd/pkg/artifact=github.com/fluxcd/pkg/artifact@v0.18.0
build kustomize-controller

cd "$here"
cargo bench -p shipgate-gitops --bench gitops_sync -- --apps "$apps" --objects "$objects" \
  --drifts 0 --peer flux --flux-dir "$bins" --flux-version "$FLUX_VERSION"

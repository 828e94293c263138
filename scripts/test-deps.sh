#!/usr/bin/env bash
# Installs what the test suite needs; sourced by scripts/test.sh (and so by .ci/run).
# Idempotent: a second run with everything present takes seconds. Needs root (apt-get) on a
# fresh machine, a Go toolchain (to build kube-apiserver and etcd once) and the package
# registries (Debian, PyPI, the Go module proxy).

install_test_deps() {
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  local need_apt=()
  command -v git >/dev/null || need_apt+=(git)
  # GitOps signature tests sign commits with SSH keys.
  command -v ssh-keygen >/dev/null || need_apt+=(openssh-client)
  # ... and fetch over SSH from the real sshd.
  [[ -x /usr/sbin/sshd ]] || need_apt+=(openssh-server)
  # Pipeline steps run sandboxed with bubblewrap; resource limits use util-linux prlimit.
  command -v bwrap >/dev/null || need_apt+=(bubblewrap)
  python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
  # The store's PostgreSQL backend is tested against a real server (shipgate-testenv runs
  # initdb + postgres from here, as the unprivileged user created below).
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql-15)
  # Dashboard tests render the pages in headless Chromium (crates/shipgate-server/tests).
  command -v chromium >/dev/null || need_apt+=(chromium)
  # The test node (shipgate-testenv node.rs): containerd + runc, the CNI plugins, and
  # busybox-static for the sandbox and step images (no image is downloaded).
  [[ -x /usr/bin/containerd ]] || need_apt+=(containerd)
  [[ -x /usr/sbin/runc ]] || need_apt+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || need_apt+=(containernetworking-plugins)
  [[ -x /bin/busybox ]] || need_apt+=(busybox-static)
  if ((${#need_apt[@]})); then
    echo "test-deps: installing ${need_apt[*]}" >&2
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
  # PostgreSQL refuses to run as root: the test server runs as this system user.
  if [[ $(id -u) -eq 0 ]] && ! id shipgate-test >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin shipgate-test
  fi
  # Image scanner: Distribution registry, skopeo, debootstrap and the cached Debian rootfs.
  bash "$here/test-deps-image.sh"
  # RPM database fixtures (rpm + db-util from Debian), cached outside the repo.
  bash "$here/test-deps/rpmdb-fixtures.sh"
  # SBOM tests: the official CycloneDX and SPDX JSON schemas, from PyPI, into a venv.
  local line
  while IFS= read -r line; do
    export "${line?}"
  done < <(bash "$here/test-deps/sbom-schemas.sh")
  # Kubernetes tests: kube-apiserver + etcd, and the node's kubelet, kube-controller-manager
  # and kube-scheduler, built from Go modules, cached outside the repo.
  bash "$here/test-control-plane.sh" build
  SHIPGATE_TEST_BIN_DIR="$(bash "$here/test-control-plane.sh" path)"
  export SHIPGATE_TEST_BIN_DIR
  # GitOps renderer tests: kustomize and helm built from their Go modules into the same cache.
  bash "$here/test-deps/gitops-tools.sh"
  export SHIPGATE_KUSTOMIZE="$SHIPGATE_TEST_BIN_DIR/kustomize"
  export SHIPGATE_HELM="$SHIPGATE_TEST_BIN_DIR/helm"
  # Signing interoperability tests: cosign built from its Go module into the same cache.
  bash "$here/test-deps/cosign.sh"
  export SHIPGATE_COSIGN="$SHIPGATE_TEST_BIN_DIR/cosign"
}

#!/usr/bin/env bash
# Run the whole shipgate test suite on a fresh machine: installs what the tests need
# (Debian packages, the Python-shipped JSON schemas, the kube-apiserver + etcd test control
# plane built from Go modules and cached outside the repo), then runs every test.
#
#   scripts/test.sh            # everything
#   scripts/test.sh -p shipgate-policy   # extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/test-deps.sh
source scripts/test-deps.sh
install_test_deps

cargo test --workspace --locked "$@"

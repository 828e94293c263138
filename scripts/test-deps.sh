#!/usr/bin/env bash
# Installs what the test suite needs; sourced by scripts/test.sh and .ci/run.
# Idempotent: a second run with everything present takes seconds.

install_test_deps() {
  local need_apt=()
  command -v git >/dev/null || need_apt+=(git)
  if ((${#need_apt[@]})); then
    echo "test-deps: installing ${need_apt[*]}" >&2
    if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
}

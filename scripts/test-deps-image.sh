#!/usr/bin/env bash
# Installs what the shipgate-image tests need and builds the cached Debian
# minbase root filesystem tarball used by the end-to-end test.
#
#   scripts/test-deps-image.sh            # install packages + build the rootfs tarball if missing
#
# The tarball goes to ${SHIPGATE_TEST_CACHE:-$HOME/.cache/shipgate}/debootstrap-bookworm-minbase.tar
# (outside the repository). Needs root (apt-get, debootstrap).
set -euo pipefail

need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ "${#need[@]}" -gt 0 ]; then
    echo "test-deps-image: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y "${need[@]}" || { apt-get update && apt-get install -y "${need[@]}"; }
fi

cache="${SHIPGATE_TEST_CACHE:-$HOME/.cache/shipgate}"
tarball="$cache/debootstrap-bookworm-minbase.tar"
if [ -s "$tarball" ]; then
    echo "test-deps-image: $tarball already present" >&2
    exit 0
fi

# The machine's own Debian mirror, from its apt sources (deb822 or one-line format).
mirror="$(grep -rhoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
    /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | grep -oE 'https?://[^[:space:]]+' | grep -v security | head -n1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
echo "test-deps-image: debootstrap --variant=minbase bookworm from $mirror" >&2

mkdir -p "$cache"
work="$(mktemp -d "$cache/debootstrap.XXXXXX")"
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/log" 2>&1 || {
    tail -n 30 "$work/log" >&2
    exit 1
}
# Drop the apt package lists (large, not part of what a scan looks at).
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* || true
tar --numeric-owner -C "$work/root" -cf "$work/rootfs.tar" .
mv "$work/rootfs.tar" "$tarball"
echo "test-deps-image: wrote $tarball ($(du -h "$tarball" | cut -f1))" >&2

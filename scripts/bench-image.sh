#!/usr/bin/env bash
# Benchmark of `shipgate-image` (see docs/benchmarks-image.md).
#
#   scripts/bench-image.sh [WORKDIR]
#
# Builds (once, cached in WORKDIR, default ${SHIPGATE_TEST_CACHE:-$HOME/.cache/shipgate}/bench-image)
# a multi-layer gzip OCI image of >= 300 MB uncompressed from the debootstrap
# minbase rootfs (scripts/test-deps-image.sh builds it) plus generated Python,
# npm and Java layers, then measures:
#   1. decompressing every layer with `gzip -dc > /dev/null` (the floor),
#   2. a cold scan (empty cache), 3. a warm rescan (all layers cached),
# with wall time and peak RSS from /usr/bin/time.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${SHIPGATE_TEST_CACHE:-$HOME/.cache/shipgate}"
work="${1:-$cache/bench-image}"
mkdir -p "$work"
[ -s "$cache/debootstrap-bookworm-minbase.tar" ] || bash "$here/scripts/test-deps-image.sh"
command -v /usr/bin/time >/dev/null || apt-get install -y time >/dev/null

cd "$here"
# BENCH_PROFILE=dev reuses the test build (dependencies are built with
# opt-level 2 in dev too, see the root Cargo.toml); the default is release.
profile="${BENCH_PROFILE:-release}"
if [ "$profile" = release ]; then
    cargo build --release -p shipgate-image --features test-support --example image-bench >&2
    bin="$here/target/release/examples/image-bench"
else
    cargo build -p shipgate-image --features test-support --example image-bench >&2
    bin="$here/target/debug/examples/image-bench"
fi

layout="$work/layout"
if [ ! -f "$layout/index.json" ]; then
    "$bin" build "$cache/debootstrap-bookworm-minbase.tar" "$layout"
fi
manifest="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"].replace(":","/"))' "$layout/index.json")"
layers="$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(" ".join(l["digest"].replace(":","/") for l in m["layers"]))' "$layout/blobs/$manifest")"

# Warm the page cache so every run reads from memory.
for l in $layers; do cat "$layout/blobs/$l" >/dev/null; done

uncompressed=0
for l in $layers; do
    n=$(gzip -dc "$layout/blobs/$l" | wc -c); uncompressed=$((uncompressed + n))
done
compressed=$(for l in $layers; do stat -c %s "$layout/blobs/$l"; done | paste -sd+ | bc)
echo "image: $(echo $layers | wc -w) layers, $((compressed / 1048576)) MiB compressed, $((uncompressed / 1048576)) MiB uncompressed"

best() { sort -n | head -n1; }
runs=3
echo "-- gzip -dc of each layer (sequential), best of $runs"
for i in $(seq $runs); do
    /usr/bin/time -f "%e" bash -c "for l in $layers; do gzip -dc \"$layout/blobs/\$l\" >/dev/null; done" 2>&1 | tail -n1
done | best | sed 's/^/gzip -dc: s /'

echo "-- cold scan (empty cache), best of $runs"
for i in $(seq $runs); do
    rm -rf "$work/scan-cache"
    /usr/bin/time -f "%e %M" "$bin" scan "$layout" "$work/scan-cache" 2>&1 >/dev/null | tail -n1
done | sort -n | head -n1 | awk '{printf "cold scan: s %s  peak RSS %.1f MiB\n", $1, $2/1024}'

echo "-- warm rescan (all layers cached), best of $runs"
for i in $(seq $runs); do
    /usr/bin/time -f "%e %M" "$bin" scan "$layout" "$work/scan-cache" 2>&1 >/dev/null | tail -n1
done | sort -n | head -n1 | awk '{printf "warm scan: s %s  peak RSS %.1f MiB\n", $1, $2/1024}'
"$bin" scan "$layout" "$work/scan-cache" | tail -n 3

#!/usr/bin/env bash
# Benchmarks of `shipgate pipeline run` (issue targets in brackets):
#   1. a no-op run, every step cached, on a copy of this repository       [< 200 ms]
#   2. sandbox overhead per step: 20 `true` steps, bubblewrap vs none      [< 20 ms/step]
#   3. image assembly of a ~300 MB output vs `tar | gzip -6` of the same   [< 1.5x]
# Prints a markdown report on stdout (progress on stderr).
#
#   scripts/bench-pipeline.sh
#   BENCH_IMAGE_SRC=/some/dir scripts/bench-pipeline.sh   # the tree to put in the image
#
# The 300 MB tree is a copy of Go's toolchain (GOROOT: binaries, sources, test data) under
# $BENCH_CACHE/pipeline-image-src. Nothing is written into the repository.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${BENCH_CACHE:-$HOME/.cache/shipgate-bench}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
log() { echo "[bench-pipeline] $*" >&2; }
need_apt() { command -v "$1" >/dev/null || { log "apt-get install $2"; apt-get install -y "$2" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "$2" >/dev/null; }; }; }
need_apt hyperfine hyperfine
need_apt bwrap bubblewrap
need_apt git git

(cd "$ROOT" && cargo build --release -q -p shipgate)
BIN="$ROOT/target/release/shipgate"
export SHIPGATE_CACHE_DIR="$WORK/cache"
# hyperfine JSON → "mean stddev" (ms, or s with `s`), one line per result.
cat > "$WORK/hf.py" <<'PY'
import json, sys
scale = 1 if len(sys.argv) > 2 and sys.argv[2] == "s" else 1000
for r in json.load(open(sys.argv[1]))["results"]:
    print("%.2f %.2f" % (r["mean"] * scale, r["stddev"] * scale))
PY
hf() { python3 "$WORK/hf.py" "$@"; }

# ---------------------------------------------------------------- 1. no-op run
WS="$WORK/ws"
mkdir -p "$WS"
git -C "$ROOT" archive HEAD | tar -x -C "$WS"
files=$(find "$WS" -type f | wc -l)
(cd "$WS" && git init -q && git add -A && git -c user.name=b -c user.email=b@b commit -qm bench)
mkdir -p "$WS/.shipgate"
cat > "$WS/.shipgate/pipeline.yaml" <<'EOF'
steps:
  - name: build
    run: mkdir -p out/bin && cp -r crates/shipgate/src out/bin/ && cp README.md out/bin/
    inputs: ["crates/shipgate/src/**", "README.md"]
    outputs: [out/bin]
  # The repository holds planted secrets and insecure code as test fixtures: the gates are
  # measured, not enforced, here.
  - name: secrets
    gate: secrets
    fail-on: none
  - name: sast
    gate: sast
    target: crates
    fail-on: none
  - name: config
    gate: config
    target: examples/demo/deploy
    fail-on: none
  - name: image
    needs: [build, secrets, sast]
    build-image:
      layers: [{from: out/bin, to: /app}]
      entrypoint: [/app/run]
      output: out/image
  - name: scan-image
    needs: [image]
    gate: image
    target: ${steps.image.layout}
    fail-on: none
EOF
"$BIN" db import "$ROOT/../shared/data/osv" >/dev/null 2>&1 || "$BIN" db import "$ROOT/crates/shipgate-vulndb/tests/data" >/dev/null 2>&1 || true
log "first run (fills the cache)"
"$BIN" pipeline run --workspace "$WS" --format json >"$WORK/first.json" 2>"$WORK/first.err" || { cat "$WORK/first.err" >&2; exit 1; }
cold_ms=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["duration_ms"])' "$WORK/first.json")
log "no-op runs"
hyperfine -N -w 3 -r 30 --export-json "$WORK/noop.json" "$BIN pipeline run --workspace $WS --format json" >&2
noop=$(hf "$WORK/noop.json" | awk '{print $1 " ms ± " $2}')
"$BIN" pipeline run --workspace "$WS" --format json >"$WORK/noop-record.json" 2>/dev/null
cached=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["steps"]; print(sum(x["status"]=="cached" for x in s), "of", len(s))' "$WORK/noop-record.json")

# ---------------------------------------------------------------- 2. sandbox overhead
SB="$WORK/sb"
mkdir -p "$SB"
{
  echo "pipeline:"
  echo "  steps:"
  for i in $(seq 1 20); do echo "    - {name: s$i, run: 'true', cache: false}"; done
} > "$SB/shipgate.yaml"
log "20 steps, bubblewrap vs none"
hyperfine -N -w 2 -r 15 --export-json "$WORK/sb.json" \
  "$BIN pipeline run --workspace $SB --jobs 1 --sandbox bubblewrap --format json" \
  "$BIN pipeline run --workspace $SB --jobs 1 --sandbox none --format json" >&2
read -r bw none < <(hf "$WORK/sb.json" | awk '{printf "%s ", $1} END {print ""}')
per_step=$(python3 -c "print(f'{($bw - $none)/20:.2f}')")
hyperfine -N -w 3 -r 30 --export-json "$WORK/bw.json" "bwrap --die-with-parent --new-session --unshare-all --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp true" "true" >&2
read -r bw1 true1 < <(hf "$WORK/bw.json" | awk '{printf "%s ", $1} END {print ""}')

# ---------------------------------------------------------------- 3. image assembly
SRC="${BENCH_IMAGE_SRC:-$CACHE/pipeline-image-src}"
if [ ! -d "$SRC" ]; then
  log "copying GOROOT to $SRC"
  mkdir -p "$(dirname "$SRC")"
  cp -a "$(go env GOROOT)" "$SRC"
fi
IMG="$WORK/img"
mkdir -p "$IMG"
cp -al "$SRC" "$IMG/payload" 2>/dev/null || cp -a "$SRC" "$IMG/payload"
size=$(du -sb "$IMG/payload" | cut -f1)
cat > "$IMG/shipgate.yaml" <<'EOF'
pipeline:
  steps:
    - name: image
      build-image:
        layers: [{from: payload, to: /opt/payload}]
        output: out/image
EOF
log "image assembly of $((size / 1000000)) MB"
hyperfine -w 1 -r 5 --export-json "$WORK/img.json" \
  -n "shipgate build-image" "$BIN pipeline run --workspace $IMG --no-cache --sandbox none --format json" \
  -n "tar | gzip -6" "tar -C $IMG/payload -cf - . | gzip -6 > $WORK/ref.tar.gz" >&2
read -r ours ref < <(hf "$WORK/img.json" s | awk '{printf "%s ", $1} END {print ""}')
ratio=$(python3 -c "print(f'{$ours/$ref:.2f}')")
layer=$(find "$IMG/out/image/blobs/sha256" -type f -size +1M -printf '%s\n' | sort -n | tail -1)

cat <<EOF
### Pipeline ($(nproc) cores, $(date -u +%Y-%m-%d))

| measurement | result | target |
|---|---|---|
| no-op run, 6 steps all cached ($cached), workspace of $files files | **$noop** (first run: $cold_ms ms) | < 200 ms |
| sandbox overhead per step (20 \`true\` steps, bubblewrap vs none) | **$per_step ms** | < 20 ms |
| bare \`bwrap ... true\` vs \`true\` | $bw1 ms vs $true1 ms | |
| image assembly, $((size / 1000000)) MB tree (GOROOT) | **$ours s** vs \`tar \| gzip -6\` $ref s = **${ratio}x** (layer $((layer / 1000000)) MB) | < 1.5x |

Command: \`scripts/bench-pipeline.sh\`
EOF

#!/usr/bin/env bash
# Benchmark of `shipgate-image` (see docs/benchmarks-image.md).
#
#   scripts/bench-image.sh [WORKDIR]
#   BENCH_IMAGE_SIZE=2g scripts/bench-image.sh [WORKDIR]
#
# Builds (once, cached in WORKDIR, default ${SHIPGATE_TEST_CACHE:-$HOME/.cache/shipgate}/bench-image)
# a multi-layer gzip OCI image of >= 300 MB uncompressed (610 MiB) from the debootstrap
# minbase rootfs (scripts/test-deps-image.sh builds it) plus Python, npm, Java and Go
# toolchain layers taken from this machine, then measures:
#   1. decompressing every layer with `gzip -dc > /dev/null` (the floor),
#   2. a cold scan (empty cache), 3. a warm rescan (all layers cached),
# with wall time and peak RSS from /usr/bin/time (best of BENCH_RUNS, default 3).
#
# BENCH_IMAGE_SIZE=2g (default WORKDIR .../bench-image-2g) puts six more layers on top of
# the same six, for more than 2 GiB uncompressed: the Go binaries of the test and peer
# tools in two layers, as two `COPY --from` stages would write them (etcd and
# kube-apiserver; gator, conftest and osv-scanner: real build info, 27-104 MB each,
# so two workers can hold a 100 MB binary each at the same time), this machine's /usr/lib/x86_64-linux-gnu and a Rust toolchain's lib/ (large
# shared libraries, up to 200 MB each), and 20,000 generated npm packages and 4,000
# generated Python distributions (many small manifests, with code and text next to them).
#
# The binaries are built with the release profile into ${CARGO_TARGET_DIR:-target};
# BENCH_PROFILE=dev reuses the test build instead.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${SHIPGATE_TEST_CACHE:-$HOME/.cache/shipgate}"
size="${BENCH_IMAGE_SIZE:-610m}"
case "$size" in
    610m) work="${1:-$cache/bench-image}" ;;
    2g) work="${1:-$cache/bench-image-2g}" ;;
    *) echo "BENCH_IMAGE_SIZE must be 610m or 2g" >&2; exit 2 ;;
esac
mkdir -p "$work"
[ -s "$cache/debootstrap-bookworm-minbase.tar" ] || bash "$here/scripts/test-deps-image.sh"
command -v /usr/bin/time >/dev/null || apt-get install -y time >/dev/null

cd "$here"
target="${CARGO_TARGET_DIR:-$here/target}"
# BENCH_PROFILE=dev reuses the test build (dependencies are built with
# opt-level 2 in dev too, see the root Cargo.toml); the default is release.
profile="${BENCH_PROFILE:-release}"
if [ "$profile" = release ]; then
    cargo build --release -p shipgate-image --features test-support --example image-bench >&2
    bin="$target/release/examples/image-bench"
else
    cargo build -p shipgate-image --features test-support --example image-bench >&2
    bin="$target/debug/examples/image-bench"
fi

layout="$work/layout"
extra=()
if [ "$size" = 2g ] && [ ! -f "$layout/index.json" ]; then
    # About 1.3 GiB of layer blobs plus 0.6 GiB of copied and generated files.
    avail_kb=$(df -Pk "$work" | awk 'NR==2 {print $4}')
    if [ "$avail_kb" -lt $((4 * 1024 * 1024)) ]; then
        echo "need 4 GiB free under $work for the 2 GB image; $((avail_kb / 1024)) MiB available" >&2
        exit 1
    fi
    src="$work/src"
    rm -rf "$src" "$layout"
    mkdir -p "$src/go-k8s" "$src/go-tools"
    for b in "$cache/test-bins/etcd" "$cache/test-bins/kube-apiserver" \
        "${SHIPGATE_PEER_BIN_DIR:-$cache/peer-bins}"/{gator,conftest,osv-scanner}; do
        case "$b" in */etcd | */kube-apiserver) dest="$src/go-k8s" ;; *) dest="$src/go-tools" ;; esac
        if [ -x "$b" ]; then
            cp "$b" "$dest/"
        else
            echo "note: $b missing (scripts/test-control-plane.sh and scripts/bench-*-peers.sh build it)" >&2
        fi
    done
    python3 - "$src/manifests" <<'PY'
import json, os, random, sys
root = sys.argv[1]
rng = random.Random(2026)
words = ("array buffer cache client codec color config core crypto date debug deep diff event "
         "fetch file format glob hash http json lodash merge mime parse path promise proxy query "
         "queue react redux regex retry router schema semver server signal stream string style "
         "sync template test text time token tree type util uuid validate watch yaml").split()
def name(i):
    return f"{rng.choice(words)}-{rng.choice(words)}-{i}"
def version():
    return f"{rng.randint(0, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 40)}"
def code(n, fn="function {0}_{1}({2}, {3}) {{ return {2}.{3}({1}) || '{4}'; }}"):
    out = []
    for k in range(n):
        w = rng.sample(words, 3)
        out.append(fn.format(w[0], k, w[1], w[2], " ".join(w)))
    return "\n".join(out) + "\n"
nm = os.path.join(root, "node_modules")
for i in range(20000):
    n = name(i)
    scoped = i % 10 == 0
    d = os.path.join(nm, "@bench", n) if scoped else os.path.join(nm, n)
    os.makedirs(os.path.join(d, "lib"), exist_ok=True)
    pkg = {"name": f"@bench/{n}" if scoped else n, "version": version(),
           "description": " ".join(rng.sample(words, 8)), "main": "lib/index.js", "license": "MIT",
           "dependencies": {name(j): "^" + version() for j in rng.sample(range(20000), 3)}}
    with open(os.path.join(d, "package.json"), "w") as f:
        json.dump(pkg, f, indent=2)
    with open(os.path.join(d, "lib", "index.js"), "w") as f:
        f.write(code(rng.randint(5, 60)))
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write(f"# {n}\n\n" + " ".join(rng.choices(words, k=rng.randint(50, 400))) + "\n")
sp = os.path.join(root, "site-packages")
for i in range(4000):
    n, v = name(i).replace("-", "_"), version()
    di = os.path.join(sp, f"{n}-{v}.dist-info")
    os.makedirs(di, exist_ok=True)
    os.makedirs(os.path.join(sp, n), exist_ok=True)
    with open(os.path.join(di, "METADATA"), "w") as f:
        f.write(f"Metadata-Version: 2.1\nName: {n}\nVersion: {v}\nSummary: {' '.join(rng.sample(words, 6))}\n"
                f"License: MIT\n\n" + " ".join(rng.choices(words, k=200)) + "\n")
    with open(os.path.join(di, "RECORD"), "w") as f:
        f.write(f"{n}/__init__.py,,\n{n}-{v}.dist-info/METADATA,,\n")
    with open(os.path.join(sp, n, "__init__.py"), "w") as f:
        f.write(code(rng.randint(5, 80), "def {0}_{1}({2}, {3}):\n    return {2}.{3}({1}) or '{4}'\n"))
PY
    rust_lib="$(find "$HOME/.rustup/toolchains" -mindepth 2 -maxdepth 2 -name lib -type d 2>/dev/null | sort | head -n1)"
    extra=(
        "$src/go-k8s=usr/local/bin=COPY --from=k8s /out/ /usr/local/bin/"
        "$src/go-tools=opt/tools/bin=COPY --from=tools /out/ /opt/tools/bin/"
        "/usr/lib/x86_64-linux-gnu=usr/lib/x86_64-linux-gnu=RUN apt-get install -y build-essential llvm"
        "${rust_lib:-/nonexistent}=opt/rust/lib=COPY --from=rust /usr/local/rustup/toolchains/stable/lib /opt/rust/lib"
        "$src/manifests/node_modules=srv/web/node_modules=RUN npm ci"
        "$src/manifests/site-packages=srv/api/lib/python3.11/site-packages=RUN pip install -r requirements.txt"
    )
fi
if [ ! -f "$layout/index.json" ]; then
    "$bin" build "$cache/debootstrap-bookworm-minbase.tar" "$layout" "${extra[@]}"
    [ "$size" = 2g ] && rm -rf "$work/src"
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
echo "image: $(echo "$layers" | wc -w) layers, $((compressed / 1048576)) MiB compressed, $((uncompressed / 1048576)) MiB uncompressed ($uncompressed bytes)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

best() { sort -n | head -n1; }
runs="${BENCH_RUNS:-3}"
echo "-- gzip -dc of each layer (sequential), best of $runs"
for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e" bash -c "for l in $layers; do gzip -dc \"$layout/blobs/\$l\" >/dev/null; done" 2>&1 | tail -n1
done | best | sed 's/^/gzip -dc: s /'

echo "-- cold scan (empty cache), best of $runs (peak RSS: the highest of the runs)"
for _ in $(seq "$runs"); do
    rm -rf "$work/scan-cache"
    /usr/bin/time -f "%e %M" "$bin" scan "$layout" "$work/scan-cache" 2>&1 >/dev/null | tail -n1
done | sort -n | awk 'NR==1 {t=$1} $2>m {m=$2} END {printf "cold scan: s %s  peak RSS %.1f MiB\n", t, m/1024}'

echo "-- warm rescan (all layers cached), best of $runs"
for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" "$bin" scan "$layout" "$work/scan-cache" 2>&1 >/dev/null | tail -n1
done | sort -n | awk 'NR==1 {t=$1} $2>m {m=$2} END {printf "warm scan: s %s  peak RSS %.1f MiB\n", t, m/1024}'
"$bin" scan "$layout" "$work/scan-cache" | tail -n 3
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

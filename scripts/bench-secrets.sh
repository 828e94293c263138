#!/usr/bin/env bash
# Benchmark shipgate's secret scanner and compare it with ripgrep, gitleaks and detect-secrets.
# Self-contained: builds the release scanner, installs missing peers, generates the synthetic
# inputs, prints a markdown table on stdout (progress on stderr).
#
#   scripts/bench-secrets.sh                 # tree = ~/.cargo/registry/src
#   BENCH_TREE=/some/src scripts/bench-secrets.sh
#   BENCH_QUICK=1 scripts/bench-secrets.sh   # fewer runs, smaller synthetic inputs
#
# Peers go to $BENCH_CACHE (default ~/.cache/shipgate-bench), never into the repository:
# ripgrep and hyperfine from apt, gitleaks with `go install` (Go module proxy), detect-secrets
# from PyPI into a virtualenv.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TREE="${BENCH_TREE:-$HOME/.cargo/registry/src}"
CACHE="${BENCH_CACHE:-$HOME/.cache/shipgate-bench}"
QUICK="${BENCH_QUICK:-0}"
RUNS=5; [ "$QUICK" = 1 ] && RUNS=2
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
log() { echo "[bench] $*" >&2; }

# ---------------------------------------------------------------- tools
need_apt() { command -v "$1" >/dev/null || { log "apt-get install $2"; apt-get install -y "$2" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "$2" >/dev/null; }; }; }
need_apt rg ripgrep
need_apt hyperfine hyperfine
need_apt git git
mkdir -p "$CACHE/bin"
GITLEAKS="$CACHE/bin/gitleaks"
if [ ! -x "$GITLEAKS" ] && command -v go >/dev/null; then
  log "go install gitleaks"
  GOBIN="$CACHE/bin" go install github.com/zricethezav/gitleaks/v8@latest >&2 || true
fi
DETECT="$CACHE/venv/bin/detect-secrets"
if [ ! -x "$DETECT" ]; then
  log "pip install detect-secrets"
  python3 -m venv "$CACHE/venv" && "$CACHE/venv/bin/pip" install -q detect-secrets==1.5.0 >&2 || true
fi

log "building the release scanner"
(cd "$ROOT" && cargo build --release -q -p shipgate-secrets --example secrets-scan && cargo build --release -q -p shipgate)
SG="$ROOT/target/release/examples/secrets-scan"
# The whole command a user runs (walk, scan, report building, JSON writing).
SGCMD="$ROOT/target/release/shipgate scan secrets --no-ignore --fail-on none --format json --output /dev/null"

[ -d "$TREE" ] || { log "tree $TREE not found (set BENCH_TREE)"; exit 2; }
log "warming the page cache for $TREE"
find "$TREE" -type f -print0 | xargs -0 cat > /dev/null 2>&1 || true
TREE_MIB=$(du -sm "$TREE" | cut -f1)

echo "## Secret scanning benchmark"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- tree: \`$TREE\` ($TREE_MIB MiB on disk, $(find "$TREE" -type f | wc -l) files); rules: $("$SG" --quiet /dev/null 2>&1 | sed -n 's/.*rules=\([0-9]*\).*/\1/p') built-in"
echo

# ---------------------------------------------------------------- throughput and memory
echo "### Throughput and memory (warm cache)"
echo
echo "| run | wall s | user s | sys s | max RSS MiB | scanned MiB | MiB/s (wall) |"
echo "|---|---|---|---|---|---|---|"
for i in $(seq 1 3); do
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" "$SG" --quiet "$TREE" 2> "$WORK/err" || true
  read -r wall user sys rss < <(tail -n 1 "$WORK/time")
  bytes=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' "$WORK/err")
  awk -v i="$i" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v b="$bytes" \
    'BEGIN { printf "| tree #%s | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f |\n", i, w, u, s, r/1024, b/1048576, b/1048576/w }'
done
for i in $(seq 1 3); do
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" $SGCMD "$TREE" 2> "$WORK/err" || true
  read -r wall user sys rss < <(tail -n 1 "$WORK/time")
  bytes=$(sed -n 's/.*scanned [0-9]* file(s), \([0-9]*\) byte.*/\1/p' "$WORK/err")
  awk -v i="$i" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v b="$bytes" \
    'BEGIN { printf "| \`shipgate scan secrets\` (JSON report) #%s | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f |\n", i, w, u, s, r/1024, b/1048576, b/1048576/w }'
done
# A 200 MB single-line file: memory must stay bounded.
SIZE_MB=200; [ "$QUICK" = 1 ] && SIZE_MB=50
python3 - "$WORK/big.min.js" "$SIZE_MB" <<'PY'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
chunk = ("var a=function(b){return b*2};" * 1000)
with open(path, "w") as f:
    n = 0
    i = 0
    while n < mb * 1024 * 1024:
        f.write(chunk); n += len(chunk); i += 1
        if i % 1000 == 0:  # a secret every ~30 MB, all on the one line
            f.write('var k="dop_v1_8f2c4e6a1b3d5f7091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7a8";')
PY
/usr/bin/time -f "%e %U %S %M" -o "$WORK/time" "$SG" --quiet "$WORK/big.min.js" 2> "$WORK/err" || true
read -r wall user sys rss < <(tail -n 1 "$WORK/time")
bytes=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' "$WORK/err")
awk -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v b="$bytes" -v mb="$SIZE_MB" \
  'BEGIN { printf "| %s MB single-line file | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f |\n", mb, w, u, s, r/1024, b/1048576, b/1048576/w }'
echo

# ---------------------------------------------------------------- versus peers
echo "### Same tree, same machine, one run (hyperfine, $RUNS runs, warm cache)"
echo
cmds=(-n "shipgate scan secrets (JSON)" "$SGCMD $TREE"
      -n "rg -uu -c AKIA" "rg -uu -c AKIA $TREE"
      -n "rg one literal, binary files whole" "rg -c -F -a AKIAIOSFODNN $TREE")
# gitleaks takes minutes on a large tree: opt in with BENCH_GITLEAKS_FULL=1 (the subset below
# always compares all four tools).
[ -x "$GITLEAKS" ] && [ "${BENCH_GITLEAKS_FULL:-0}" = 1 ] && cmds+=(-n "gitleaks dir" "$GITLEAKS dir --no-banner --log-level error --exit-code 0 $TREE")
hyperfine -N -i --warmup 1 --runs "$RUNS" --export-markdown "$WORK/peers.md" "${cmds[@]}" >&2
cat "$WORK/peers.md"
echo
# gitleaks and detect-secrets (single-threaded Python) are compared on a small subset.
SUB_MIB="${BENCH_SUBSET_MIB:-20}"
SUB="$WORK/subset"; mkdir -p "$SUB"
for d in "$TREE"/*/*/; do
  cp -r "$d" "$SUB/" 2>/dev/null || true
  [ "$(du -sm "$SUB" | cut -f1)" -ge "$SUB_MIB" ] && break
done
echo "### Subset of $(du -sm "$SUB" | cut -f1) MiB: all four tools (hyperfine, 2 runs)"
echo
cmds=(-n "shipgate secrets" "$SG --quiet $SUB" -n "rg one literal" "rg -c -F -a AKIAIOSFODNN $SUB")
[ -x "$GITLEAKS" ] && cmds+=(-n "gitleaks dir" "$GITLEAKS dir --no-banner --log-level error --exit-code 0 $SUB")
[ -x "$DETECT" ] && cmds+=(-n "detect-secrets scan" "$DETECT scan --all-files $SUB")
hyperfine -N -i --warmup 0 --runs 2 --export-markdown "$WORK/sub.md" "${cmds[@]}" >&2
cat "$WORK/sub.md"
echo
echo "Findings on the subset: shipgate $("$SG" "$SUB" 2>/dev/null | grep -vc '^error' || true)"\
", gitleaks $([ -x "$GITLEAKS" ] && "$GITLEAKS" dir --no-banner --log-level error --exit-code 0 -f json -r "$WORK/gl.json" "$SUB" >/dev/null 2>&1 && python3 -c "import json;print(len(json.load(open('$WORK/gl.json'))))" || echo n/a)"\
", detect-secrets $([ -x "$DETECT" ] && "$DETECT" scan --all-files "$SUB" 2>/dev/null | python3 -c "import json,sys;print(sum(len(v) for v in json.load(sys.stdin)['results'].values()))" || echo n/a)"
echo

# ---------------------------------------------------------------- staged change
echo "### Pre-commit: 100-file staged change"
echo
R="$WORK/staged"; mkdir -p "$R"; git -C "$R" init -q
for i in $(seq 1 100); do
  python3 -c "import random;random.seed($i);print('\n'.join('let v%d = compute(%d, \"%s\");' % (j, j, ''.join(random.choice('abcdefghijklmnop') for _ in range(20))) for j in range(200)))" > "$R/file$i.rs"
done
echo 'token = "dop_v1_8f2c4e6a1b3d5f7091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7a8"' >> "$R/file50.rs"
git -C "$R" add -A
hyperfine -N -i --warmup 2 --runs 10 --export-markdown "$WORK/staged.md" -n "shipgate --staged (100 files)" "$SG --quiet --staged $R" >&2
cat "$WORK/staged.md"
echo

# ---------------------------------------------------------------- 10,000-commit history
COMMITS=10000; [ "$QUICK" = 1 ] && COMMITS=2000
echo "### Git history: $COMMITS commits"
echo
H="$WORK/history"; mkdir -p "$H"; git -C "$H" init -q
python3 - "$COMMITS" <<'PY' | git -C "$H" fast-import --quiet
import sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(1, n + 1):
    body = "".join(f"line {j} of file {i % 50} rev {i}\n" for j in range(40))
    if i == n // 2:
        body += 'SENDGRID_API_KEY=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\n'
    data = body.encode()
    msg = f"commit {i}\n".encode()
    out.write(f"commit refs/heads/main\nmark :{i}\ncommitter Bench <b@bench.test> {1700000000 + i} +0000\n")
    out.write(f"data {len(msg)}\n"); out.flush(); sys.stdout.buffer.write(msg)
    if i > 1:
        out.write(f"from :{i-1}\n")
    out.write(f"M 100644 inline src/file{i % 50}.txt\ndata {len(data)}\n"); out.flush()
    sys.stdout.buffer.write(data); out.write("\n")
out.flush()
PY
"$SG" --quiet --git "$H" 2> "$WORK/git.err" || true
blobs=$(sed -n 's/.*distinct blobs.*/&/p' "$WORK/git.err" | sed -n 's/.*, \([0-9]*\) distinct blobs.*/\1/p')
files=$(sed -n 's/.*files=\([0-9]*\).*/\1/p' "$WORK/git.err")
found=$(sed -n 's/.*findings=\([0-9]*\).*/\1/p' "$WORK/git.err")
hyperfine -N -i --warmup 1 --runs 3 --export-markdown "$WORK/git.md" -n "shipgate --git ($COMMITS commits)" "$SG --quiet --git $H" >&2
[ -x "$GITLEAKS" ] && hyperfine -N -i --warmup 1 --runs 3 --export-markdown "$WORK/gitgl.md" -n "gitleaks git ($COMMITS commits)" "$GITLEAKS git --no-banner --log-level error --exit-code 0 $H" >&2
cat "$WORK/git.md"; [ -f "$WORK/gitgl.md" ] && tail -n +3 "$WORK/gitgl.md"
echo
echo "Distinct blobs in history: $blobs; blobs scanned: $files (each exactly once); findings: $found (expected 1)."

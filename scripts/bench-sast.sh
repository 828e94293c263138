#!/usr/bin/env bash
# Benchmark `shipgate scan sast` against Semgrep on the same tree with the same rules (the
# built-in rules are Semgrep-compatible: `semgrep --test` passes on them too), and measure a
# 100-file staged change. Prints a markdown report on stdout (progress on stderr).
#
#   scripts/bench-sast.sh                    # corpus: Kubernetes v1.34.4 (Go module cache)
#                                            #       + Semgrep's own site-packages (Python)
#   BENCH_TREE=/some/src scripts/bench-sast.sh
#   BENCH_SKIP_SEMGREP=1 scripts/bench-sast.sh
#
# Semgrep (PyPI, pinned) goes to $BENCH_CACHE/semgrep-venv; the corpus is hard-linked under
# $BENCH_CACHE/sast-corpus. Nothing is written into the repository.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${BENCH_CACHE:-$HOME/.cache/shipgate-bench}"
SEMGREP_VERSION=1.187.0
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
log() { echo "[bench-sast] $*" >&2; }
need_apt() { command -v "$1" >/dev/null || { log "apt-get install $2"; apt-get install -y "$2" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "$2" >/dev/null; }; }; }
need_apt hyperfine hyperfine
need_apt git git
need_apt /usr/bin/time time

# ---------------------------------------------------------------- corpus
TREE="${BENCH_TREE:-}"
if [ -z "$TREE" ]; then
  TREE="$CACHE/sast-corpus"
  if [ ! -d "$TREE/kubernetes" ]; then
    K8S="$(go env GOMODCACHE 2>/dev/null || echo "$HOME/go/pkg/mod")/k8s.io/kubernetes@v1.34.4"
    if [ ! -d "$K8S" ]; then
      log "fetching k8s.io/kubernetes@v1.34.4 into the Go module cache"
      (cd "$WORK" && go mod init bench >/dev/null 2>&1 && GOFLAGS=-mod=mod go mod download k8s.io/kubernetes@v1.34.4) >&2
    fi
    mkdir -p "$TREE"
    cp -al "$K8S" "$TREE/kubernetes" 2>/dev/null || cp -a "$K8S" "$TREE/kubernetes"
    chmod -R u+w "$TREE/kubernetes"
  fi
fi

# ---------------------------------------------------------------- tools
SEMGREP="$CACHE/semgrep-venv/bin/semgrep"
if [ "${BENCH_SKIP_SEMGREP:-0}" != 1 ] && [ ! -x "$SEMGREP" ]; then
  log "pip install semgrep==$SEMGREP_VERSION"
  python3 -m venv "$CACHE/semgrep-venv" && "$CACHE/semgrep-venv/bin/pip" install -q "semgrep==$SEMGREP_VERSION" >&2
fi
if [ -z "${BENCH_TREE:-}" ] && [ ! -d "$TREE/python" ] && [ -x "$SEMGREP" ]; then
  SP="$(ls -d "$CACHE"/semgrep-venv/lib/python3*/site-packages | head -1)"
  cp -al "$SP" "$TREE/python" 2>/dev/null || cp -a "$SP" "$TREE/python"
fi
# Semgrep skips tests/ and other paths by default; an empty ignore file makes both tools
# look at the same files.
[ -f "$TREE/.semgrepignore" ] || : > "$TREE/.semgrepignore"

log "building shipgate (release)"
(cd "$ROOT" && cargo build --release -q -p shipgate)
SG="$ROOT/target/release/shipgate"

# The rule files alone (Semgrep loads every YAML file under --config).
RULES="$WORK/rules"
mkdir -p "$RULES"
for f in "$ROOT"/crates/shipgate-sast/rules/*/*.yaml; do
  case "$f" in *.test.yaml) continue ;; esac
  cp "$f" "$RULES/$(basename "$(dirname "$f")")-$(basename "$f")"
done
NRULES=$(ls "$RULES" | wc -l)

SIZE=$(du -sh "$TREE" | cut -f1)
log "tree $TREE ($SIZE), $NRULES rules"

measure() { # label, command... -> "seconds max_rss_kib"
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$WORK/time.$label" "$@" >/dev/null 2>"$WORK/err.$label" || true
  cat "$WORK/time.$label"
}

echo "## SAST: shipgate vs Semgrep $SEMGREP_VERSION"
echo
echo "Tree: \`$TREE\` ($SIZE), $NRULES rules (the built-in set), $(nproc) cores."
echo

log "shipgate, warm-up"
"$SG" scan sast "$TREE" --no-ignore --fail-on none --format json -o "$WORK/sg.json" 2>/dev/null || true
read -r SG_S SG_KB < <(measure shipgate "$SG" scan sast "$TREE" --no-ignore --fail-on none --format json -o "$WORK/sg.json")
log "shipgate: ${SG_S}s, $((SG_KB / 1024)) MiB"

if [ -x "$SEMGREP" ] && [ "${BENCH_SKIP_SEMGREP:-0}" != 1 ]; then
  log "semgrep (this takes a while)"
  read -r SEM_S SEM_KB < <(measure semgrep "$SEMGREP" scan --config "$RULES" --metrics=off \
    --disable-version-check --no-git-ignore --jobs "$(nproc)" --max-target-bytes 1048576 \
    --json -o "$WORK/semgrep.json" "$TREE")
  log "semgrep: ${SEM_S}s, $((SEM_KB / 1024)) MiB"
  echo "| tool | wall time | max RSS | findings | files scanned |"
  echo "|---|---|---|---|---|"
  python3 - "$WORK/sg.json" "$WORK/semgrep.json" "$SG_S" "$SG_KB" "$SEM_S" "$SEM_KB" "$TREE" <<'EOF'
import json, sys, collections
sg, se = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
sg_s, sg_kb, se_s, se_kb, tree = float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
ours = {(f["rule_id"], f["location"]["path"], f["location"]["start_line"]) for f in sg["findings"]}
theirs = set()
for r in se["results"]:
    rule = r["check_id"]
    # `<dir>.<file>.<id>`: keep the rule id (ids are `<lang>.<name>`)
    parts = rule.split(".")
    rule = ".".join(parts[-2:])
    path = r["path"]
    path = path[len(tree):].lstrip("/") if path.startswith(tree) else path
    theirs.add((rule, path, r["start"]["line"]))
print(f"| shipgate | **{sg_s:.2f} s** | **{sg_kb/1024:.0f} MiB** | {len(ours)} | |")
scanned = len(se.get("paths", {}).get("scanned", []))
print(f"| Semgrep | {se_s:.2f} s | {se_kb/1024:.0f} MiB | {len(theirs)} | {scanned} |")
print()
print(f"Speed-up: **{se_s/sg_s:.1f}x** wall time.")
both = ours & theirs
print(f"Same (rule, file, line) in both: {len(both)}; only shipgate: {len(ours-theirs)}; only Semgrep: {len(theirs-ours)}.")
errs = collections.Counter(e["type"] if isinstance(e.get("type"), str) else str(e.get("type", ["?"])[0]) for e in se.get("errors", []))
print(f"Semgrep errors by type: {dict(errs)}")
for label, diff in (("only shipgate", ours - theirs), ("only Semgrep", theirs - ours)):
    for d in sorted(diff)[:15]:
        print(f"- {label}: `{d[0]}` {d[1]}:{d[2]}")
EOF
else
  echo "| tool | wall time | max RSS |"
  echo "|---|---|---|"
  echo "| shipgate | ${SG_S} s | $((SG_KB / 1024)) MiB |"
fi

# ---------------------------------------------------------------- staged change
log "100-file staged change"
REPO="$WORK/repo"
mkdir -p "$REPO"
git -C "$REPO" init -q
find "$TREE" -type f \( -name '*.go' -o -name '*.py' -o -name '*.yaml' -o -name '*.sh' \) -size -64k \
  | sort > "$WORK/all-files"
awk 'NR % 40 == 0' "$WORK/all-files" | sed -n '1,100p' > "$WORK/files"
i=0
while read -r f; do
  i=$((i + 1)); d="$REPO/src/$i"; mkdir -p "$d"; cp "$f" "$d/"
done < "$WORK/files"
git -C "$REPO" add -A
echo
echo "### 100-file staged change"
echo
hyperfine -N -w 3 -r 20 --export-markdown "$WORK/staged.md" \
  "$SG scan sast --staged $REPO --fail-on none --format json -o /dev/null" >&2
sed "s|$SG|shipgate|; s|$REPO|REPO|" "$WORK/staged.md"

#!/usr/bin/env bash
# shipgate's dependency scan against osv-scanner, offline, same advisories, same lockfiles
# (docs/benchmarks-deps.md).
#
#   scripts/bench-deps-peers.sh
#
# Both tools get the shared OSV data (PyPI, Go, crates.io): shipgate imports it into its own DB,
# osv-scanner reads it as the per-ecosystem `all.zip` files of its offline cache
# (OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY/osv-scalibr/<ecosystem>/all.zip), which this script
# builds (PyPI's YAML converted to JSON). Inputs: this repository's Cargo.lock and the Go and
# Python lockfiles of the shared lockfile fixtures. Prints timings and the advisory ids each tool
# reports per lockfile, and the differences.
#
# osv-scanner v2.6.0 is built from its Go module into ${SHIPGATE_PEER_BIN_DIR:-~/.cache/shipgate/peer-bins}
# on first use (it needs Go 1.27: GOTOOLCHAIN=go1.27.3 fetches it from the module proxy).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="$(realpath "${SHIPGATE_SHARED_DATA:-$here/../shared/data}")"
bins="${SHIPGATE_PEER_BIN_DIR:-$HOME/.cache/shipgate/peer-bins}"
work="$(mktemp -d)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
mkdir -p "$bins"
command -v hyperfine >/dev/null || cargo install --locked hyperfine >&2
[ -x "$bins/osv-scanner" ] || GOTOOLCHAIN=go1.27.3 GOBIN="$bins" \
    go install github.com/google/osv-scanner/v2/cmd/osv-scanner@v2.6.0
(cd "$here" && cargo build --release -p shipgate >&2)
shipgate="$here/target/release/shipgate"

# osv-scanner's offline cache, from the same advisories.
# (v2.6 reads `osv-scalibr/<ecosystem>/all.zip`; older versions `osv-scanner/...`.)
python3 - "$data/osv" "$work/osvcache/osv-scalibr" <<'EOF'
import json, os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
try:
    import yaml
except ImportError:
    yaml = None
eco = {"pypa": "PyPI", "go": "Go", "crates-io": "crates.io"}
for folder, name in eco.items():
    os.makedirs(os.path.join(dst, name), exist_ok=True)
    with zipfile.ZipFile(os.path.join(dst, name, "all.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for root, _, files in os.walk(os.path.join(src, folder)):
            for f in files:
                p = os.path.join(root, f)
                if f.endswith(".json"):
                    rec = json.load(open(p))
                elif f.endswith((".yaml", ".yml")) and yaml:
                    rec = yaml.safe_load(open(p))
                else:
                    continue
                if not isinstance(rec, dict) or "id" not in rec:
                    continue
                # YAML timestamps load as datetimes: write them back as RFC 3339.
                z.writestr(rec["id"] + ".json", json.dumps(rec, default=lambda o: o.isoformat().replace("+00:00", "Z") if hasattr(o, "isoformat") else str(o)))
EOF
export OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY="$work/osvcache"
export SHIPGATE_CACHE_DIR="$work/shipgate-cache"
"$shipgate" db import "$data/osv" >/dev/null

# Inputs: this repository's Cargo.lock, plus one lockfile per ecosystem listing, for every
# package that has an advisory, a version taken from the advisories themselves (an `introduced`
# event, else the last listed affected version): many true matches, and versions at range edges.
mkdir -p "$work/in/repo" "$work/in/pypi" "$work/in/go" "$work/in/crates"
cp "$here/Cargo.lock" "$work/in/repo/"
python3 - "$data/osv" "$work/in" <<'EOF2'
import json, os, sys
import yaml
src, dst = sys.argv[1], sys.argv[2]
def records(folder):
    for root, _, files in os.walk(os.path.join(src, folder)):
        for f in sorted(files):
            p = os.path.join(root, f)
            if f.endswith(".json"):
                yield json.load(open(p))
            elif f.endswith(".yaml"):
                yield yaml.safe_load(open(p))
def pick(rec, eco):
    for a in rec.get("affected") or []:
        pkg = a.get("package") or {}
        if pkg.get("ecosystem") != eco:
            continue
        for r in a.get("ranges") or []:
            if r.get("type") == "GIT":
                continue
            for e in r.get("events") or []:
                v = e.get("introduced")
                if v and v != "0":
                    return pkg["name"], str(v)
        vs = a.get("versions") or []
        if vs:
            return pkg["name"], str(vs[-1])
    return None
def collect(folder, eco):
    out = {}
    for rec in records(folder):
        if not isinstance(rec, dict) or rec.get("withdrawn"):
            continue
        got = pick(rec, eco)
        if got and got[0] not in out:
            out[got[0]] = got[1]
    return out
py = collect("pypa", "PyPI")
with open(os.path.join(dst, "pypi", "requirements.txt"), "w") as f:
    for n, v in sorted(py.items()):
        f.write(f"{n}=={v}\n")
go = collect("go", "Go")
with open(os.path.join(dst, "go", "go.mod"), "w") as f:
    f.write("module example.com/bench\n\ngo 1.22\n\nrequire (\n")
    for n, v in sorted(go.items()):
        if n in ("stdlib", "toolchain") or "/" not in n:
            continue
        f.write(f"\t{n} v{v.lstrip('v')}\n")
    f.write(")\n")
cr = collect("crates-io", "crates.io")
with open(os.path.join(dst, "crates", "Cargo.lock"), "w") as f:
    f.write("version = 3\n")
    for n, v in sorted(cr.items()):
        f.write(f'\n[[package]]\nname = "{n}"\nversion = "{v}"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n')
print(f"generated: {len(py)} PyPI, {len(go)} Go, {len(cr)} crates.io packages")
EOF2

echo "## timings (the same folder, offline, hyperfine 5 runs)"
hyperfine -N -w 1 -r 5 -i \
    "$bins/osv-scanner scan source --offline --format json -r $work/in" \
    "$shipgate scan deps --offline --format json $work/in"

"$bins/osv-scanner" scan source --offline --format json -r "$work/in" >"$work/osv.json" 2>"$work/osv.err" || true
"$shipgate" scan deps --offline --format json "$work/in" >"$work/sg.json" 2>"$work/sg.err" || true
for t in osv-scanner shipgate; do
    cmd="$bins/osv-scanner scan source --offline --format json -r $work/in"
    [ "$t" = shipgate ] && cmd="$shipgate scan deps --offline --format json $work/in"
    /usr/bin/time -f "peak RSS %M KB: $t" $cmd >/dev/null 2>"$work/time" || true
    tail -1 "$work/time"
done
python3 - "$work/osv.json" "$work/sg.json" <<'EOF'
import json, sys
osv = json.load(open(sys.argv[1]))
sg = json.load(open(sys.argv[2]))
a = set()
for r in osv.get("results") or []:
    for p in r.get("packages") or []:
        pk = p["package"]
        for v in p.get("vulnerabilities") or []:
            a.add((pk["name"].lower(), pk["version"], v["id"]))
b = set()
for f in sg.get("findings", []):
    pkg = f.get("package") or {}
    version = pkg.get("version") or ""
    if pkg.get("ecosystem") == "Go":  # osv-scanner prints Go versions without the `v`
        version = version.removeprefix("v")
    b.add(((pkg.get("name") or "").lower(), version, f["rule_id"]))
print(f"osv-scanner: {len(a)} (package, version, advisory) triples; shipgate: {len(b)}; common: {len(a & b)}")
for label, d in (("only osv-scanner", a - b), ("only shipgate", b - a)):
    print(f"{label}: {len(d)}")
    for t in sorted(d)[:25]:
        print("   ", *t)
EOF

# Independent check of the PyPI findings only shipgate reports: evaluate each advisory's
# ECOSYSTEM ranges and `versions` list with `packaging` (PEP 440), following the OSV spec.
python3 - "$work/osv.json" "$work/sg.json" "$data/osv/pypa" <<'EOF'
import json, os, sys
import yaml
from packaging.version import Version
osv, sg, base = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
seen = {(p["package"]["name"].lower(), p["package"]["version"], v["id"])
        for r in osv.get("results") or [] for p in r["packages"] for v in p.get("vulnerabilities") or []}
paths = {f[:-5]: os.path.join(root, f) for root, _, fs in os.walk(base) for f in fs if f.endswith(".yaml")}
V = lambda s: Version("0") if str(s) == "0" else Version(str(s))
good = bad = 0
for f in sg.get("findings", []):
    pkg = f.get("package") or {}
    if pkg.get("ecosystem") != "PyPI" or (pkg["name"].lower(), pkg["version"], f["rule_id"]) in seen:
        continue
    rec, v, hit = yaml.safe_load(open(paths[f["rule_id"]])), Version(pkg["version"]), False
    for a in rec["affected"]:
        hit |= pkg["version"] in [str(x) for x in a.get("versions") or []]
        for r in a.get("ranges") or []:
            if r["type"] != "ECOSYSTEM":
                continue
            state = False
            for e in sorted(r["events"], key=lambda e: V(next(iter(e.values())))):
                k, x = next(iter(e.items()))
                if k == "introduced" and v >= V(x): state = True
                if k == "fixed" and v >= V(x): state = False
                if k == "last_affected" and v > V(x): state = False
            hit |= state
    good, bad = good + hit, bad + (not hit)
    if not hit:
        print("   not affected per the independent check:", pkg["name"], pkg["version"], f["rule_id"])
print(f"PyPI findings only shipgate reports: {good} confirmed affected by the independent check, {bad} not")
EOF

#!/usr/bin/env bash
# shipgate's image scanner against Trivy and Grype/Syft on the image scripts/bench-image.sh
# builds, offline, one run each with empty caches (docs/benchmarks-image.md, "Peers").
#
#   scripts/bench-image-peers.sh [LAYOUT]
#
# LAYOUT defaults to the 610 MiB OCI layout of scripts/bench-image.sh (built if missing).
# 1. Inventory: `trivy image --input LAYOUT --format cyclonedx`, `syft oci-dir:LAYOUT -o
#    cyclonedx-json` and `shipgate sbom LAYOUT`: wall time, peak RSS, packages per purl type,
#    and which packages one tool lists and another does not.
# 2. Vulnerability scan with a local database, no network: every tool gets the same advisories,
#    the shared OSV data (PyPI, Go, crates.io; ../shared/data/osv). shipgate imports it;
#    Trivy gets a BoltDB written by trivy-db's own OSV loader (scripts/peer-db/trivy-db);
#    Grype gets a v6 SQLite DB written by grype's own DB build (scripts/peer-db/grype-db) from
#    vunnel-style workspaces this script writes. No tool has Debian advisories here.
#
# The peers are built from their Go modules into ${SHIPGATE_PEER_BIN_DIR:-~/.cache/shipgate/peer-bins}
# on first use: trivy v0.74.0, grype v0.121.2 and the syft it pins (v1.57.0), and the two
# database writers. Go builds run under `nice`; they take several minutes each on 2 cores.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${SHIPGATE_TEST_CACHE:-$HOME/.cache/shipgate}"
data="$(realpath "${SHIPGATE_SHARED_DATA:-$here/../shared/data}")"
bins="${SHIPGATE_PEER_BIN_DIR:-$cache/peer-bins}"
layout="$(realpath -m "${1:-$cache/bench-image/layout}")"
trivy_version=v0.74.0
grype_version=v0.121.2
syft_version=v1.57.0 # the version grype v0.121.2's go.mod requires
work="$(mktemp -d)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
mkdir -p "$bins"
command -v /usr/bin/time >/dev/null || apt-get install -y time >/dev/null

[ -f "$layout/index.json" ] || bash "$here/scripts/bench-image.sh" >&2
goinstall() { # BINARY MODULE/PATH@VERSION
    [ -x "$bins/$1" ] || GOBIN="$bins" GOFLAGS=-mod=mod nice -n 10 go install "$2"
}
# Trivy imports encoding/json/v2: its releases are built with Go 1.26 and GOEXPERIMENT=jsonv2
# (goreleaser.yml). Go 1.27.3's final json/v2 API does not build it (json.SkipFunc is gone).
GOEXPERIMENT=jsonv2 goinstall trivy "github.com/aquasecurity/trivy/cmd/trivy@$trivy_version"
goinstall grype "github.com/anchore/grype/cmd/grype@$grype_version"
goinstall syft "github.com/anchore/syft/cmd/syft@$syft_version"
for w in trivy-db grype-db; do
    [ -x "$bins/$w-osv" ] || (cd "$here/scripts/peer-db/$w" && nice -n 10 go build -o "$bins/$w-osv" .)
done
(cd "$here" && cargo build --release -p shipgate >&2)
shipgate="${CARGO_TARGET_DIR:-$here/target}/release/shipgate"
export TRIVY_DISABLE_VEX_NOTICE=true SYFT_CHECK_FOR_APP_UPDATE=false GRYPE_CHECK_FOR_APP_UPDATE=false

echo "## versions"
"$bins/trivy" --version 2>&1 | head -n1 || true
echo "trivy module: $trivy_version, grype module: $grype_version, syft module: $syft_version"
"$shipgate" --version
echo "image: $layout"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

measure() { # LABEL OUTPUT COMMAND...: one run; prints wall time and peak RSS
    local label="$1" out="$2"
    shift 2
    if /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$out" 2>"$work/$label.err"; then
        read -r secs kb <"$work/time"
        printf '%-24s %7.2f s  %7.1f MiB\n' "$label" "$secs" "$(echo "$kb / 1024" | bc -l)"
    else
        tail -n1 "$work/time" >&2 || true
        printf '%-24s failed (exit %s); stderr:\n' "$label" "$(head -n1 "$work/time" | sed 's/[^0-9]//g')"
        tail -n 5 "$work/$label.err"
    fi
}

# Trivy's jar analyzer needs its Java DB (trivy-java-db: SQLite, group/artifact/version by jar
# sha1), downloaded from ghcr.io on the first run, even with --offline-scan; this machine cannot
# reach it. An empty database with trivy-java-db's schema (v1) lets the analyzer run: jars are
# then identified from their pom.properties, MANIFEST.MF and file name only, never by sha1.
trivy_java_db() { # CACHE_DIR
    mkdir -p "$1/java-db"
    python3 - "$1/java-db" <<'PY'
import json, sqlite3, sys, datetime
d = sys.argv[1]
c = sqlite3.connect(f"{d}/trivy-java.db")
c.executescript("""
CREATE TABLE artifacts(id INTEGER PRIMARY KEY, group_id TEXT, artifact_id TEXT);
CREATE TABLE indices(artifact_id INTEGER, version TEXT, sha1 BLOB, archive_type TEXT,
                     foreign key (artifact_id) references artifacts(id));
CREATE UNIQUE INDEX artifacts_idx ON artifacts(artifact_id, group_id);
CREATE INDEX indices_artifact_idx ON indices(artifact_id);
CREATE UNIQUE INDEX indices_sha1_idx ON indices(sha1);
""")
c.close()
now = datetime.datetime.now(datetime.timezone.utc)
fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
json.dump({"Version": 1, "NextUpdate": fmt(now + datetime.timedelta(days=365)), "UpdatedAt": fmt(now),
           "DownloadedAt": fmt(now)}, open(f"{d}/metadata.json", "w"))
PY
}

echo "## 1. inventory (SBOM), empty caches, one run each"
trivy_java_db "$work/trivy-cache"
measure trivy-sbom "$work/trivy.cdx.json" "$bins/trivy" image --input "$layout" --format cyclonedx \
    --cache-dir "$work/trivy-cache" --skip-db-update --skip-java-db-update --offline-scan --quiet
measure syft-sbom "$work/syft.cdx.json" "$bins/syft" scan "oci-dir:$layout" -o cyclonedx-json -q
SHIPGATE_CACHE_DIR="$work/sg-cache" measure shipgate-sbom "$work/shipgate.cdx.json" "$shipgate" sbom "$layout"

python3 - "$work" <<'PY'
import json, os, re, sys
from urllib.parse import unquote
work = sys.argv[1]
def walk(cs):
    for c in cs or []:
        yield c
        yield from walk(c.get("components"))
def key(purl):
    # (type, namespace/name, version), normalised the same way for every tool
    m = re.match(r"pkg:([^/]+)/([^@?#]+)(?:@([^?#]*))?(?:\?([^#]*))?", purl)
    if not m:
        return None
    t, name, version = m.group(1), unquote(m.group(2)), unquote(m.group(3) or "")
    qualifiers = dict(q.split("=", 1) for q in (m.group(4) or "").split("&") if "=" in q)
    if t in ("deb", "rpm", "apk"):
        name = name.split("/")[-1]  # drop the distro namespace (debian/)
        # Trivy writes a deb epoch as the `epoch` qualifier, shipgate and Syft in the version.
        if qualifiers.get("epoch", "0") != "0" and ":" not in version:
            version = f"{qualifiers['epoch']}:{version}"
    if t == "pypi":
        name = re.sub(r"[-_.]+", "-", name).lower()
    if t == "golang":  # Trivy lowercases Go module paths in purls
        name, version = name.lower(), version.removeprefix("go").removeprefix("v")
    return t, name, version
inv = {}
for tool in ("trivy", "syft", "shipgate"):
    path = os.path.join(work, f"{tool}.cdx.json")
    try:
        doc = json.load(open(path))
    except Exception as e:
        print(f"{tool}: no SBOM ({e})")
        continue
    keys = {key(c["purl"]) for c in walk(doc.get("components")) if c.get("purl")}
    keys.discard(None)
    inv[tool] = keys
print("packages per purl type (distinct type/name/version):")
types = sorted({k[0] for s in inv.values() for k in s})
print(f"  {'type':10}" + "".join(f"{t:>10}" for t in inv))
for ty in types:
    print(f"  {ty:10}" + "".join(f"{sum(1 for k in s if k[0] == ty):>10}" for s in inv.values()))
print(f"  {'total':10}" + "".join(f"{len(s):>10}" for s in inv.values()))
if "shipgate" in inv:
    for peer in ("trivy", "syft"):
        if peer not in inv:
            continue
        for a, b in ((peer, "shipgate"), ("shipgate", peer)):
            d = sorted(inv[a] - inv[b])
            by = {}
            for k in d:
                by.setdefault(k[0], []).append(k)
            print(f"in {a}, not in {b}: {len(d)} " + str({t: len(v) for t, v in by.items()}))
            for t, v in by.items():
                for k in v[:12]:
                    print(f"    {t} {k[1]} {k[2]}")
                if len(v) > 12:
                    print(f"    ... {len(v) - 12} more {t}")
PY

echo "## 2. vulnerability scan with a local database (the shared OSV data), one run each"
# OSV records as JSON (PyPA's are YAML) for the peers' database writers.
python3 - "$data/osv" "$work/osv-json" "$work/grype-ws" <<'PY'
import json, os, sys, hashlib
import yaml
src, dst, ws = sys.argv[1:4]
def default(o):
    return o.isoformat().replace("+00:00", "Z") if hasattr(o, "isoformat") else str(o)
recs = []
for folder in ("pypa", "go", "crates-io"):
    for root, _, files in os.walk(os.path.join(src, folder)):
        for f in files:
            p = os.path.join(root, f)
            if f.endswith(".json"):
                rec = json.load(open(p))
            elif f.endswith((".yaml", ".yml")):
                rec = yaml.safe_load(open(p))
            else:
                continue
            if isinstance(rec, dict) and "id" in rec and rec.get("affected"):
                rec = json.loads(json.dumps(rec, default=default))
                recs.append((folder, rec))
for folder, rec in recs:
    d = os.path.join(dst, folder)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, rec["id"] + ".json"), "w") as f:
        json.dump(rec, f)

# Grype: vunnel-style workspaces. Go records stay OSV (grype's govulndb transformer reads
# GO-* records); PyPI and crates.io records become GitHub-advisory items, the shape grype's
# language matchers are built from, one FixedIn per affected range.
def ghsa_item(rec, eco, gh_eco):
    fixed_in = []
    for a in rec.get("affected") or []:
        pkg = a.get("package") or {}
        if pkg.get("ecosystem") != eco:
            continue
        for r in a.get("ranges") or []:
            if r.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue
            lo = None
            for e in r.get("events") or []:
                if "introduced" in e:
                    lo = str(e["introduced"])
                elif "fixed" in e or "last_affected" in e:
                    hi, op = (str(e["fixed"]), "<") if "fixed" in e else (str(e["last_affected"]), "<=")
                    cons = f"{op} {hi}" if lo in (None, "0") else f">= {lo}, {op} {hi}"
                    fixed_in.append({"name": pkg["name"], "ecosystem": gh_eco, "namespace": f"github:{gh_eco}",
                                     "identifier": hi if op == "<" else "", "range": cons})
                    lo = None
            if lo is not None:
                fixed_in.append({"name": pkg["name"], "ecosystem": gh_eco, "namespace": f"github:{gh_eco}",
                                 "identifier": "", "range": "" if lo == "0" else f">= {lo}"})
        if not a.get("ranges") and a.get("versions"):
            fixed_in.append({"name": pkg["name"], "ecosystem": gh_eco, "namespace": f"github:{gh_eco}",
                             "identifier": "", "range": " || ".join(f"= {v}" for v in a["versions"])})
    if not fixed_in:
        return None
    cves = [x for x in rec.get("aliases") or [] if x.startswith("CVE-")]
    return {"Advisory": {"Classification": "GENERAL", "Severity": "Unknown", "FixedIn": fixed_in,
                         "Summary": rec.get("summary") or "", "url": "", "CVE": cves, "Metadata": {"CVE": cves},
                         "ghsaId": rec["id"], "published": rec.get("published") or "", "updated": rec.get("modified") or "",
                         "withdrawn": rec.get("withdrawn"), "namespace": f"github:{gh_eco}",
                         "references": [{"url": r.get("url")} for r in rec.get("references") or []]},
            "Vulnerability": {}}
schemas = {
    "github": ("github-security-advisory", "1.0.1"),
    "govulndb": ("osv", "1.6.1"),
}
items = {"github": [], "govulndb": []}
for folder, rec in recs:
    if folder == "go":
        items["govulndb"].append(rec)
    else:
        it = ghsa_item(rec, "PyPI" if folder == "pypa" else "crates.io", "python" if folder == "pypa" else "rust")
        if it:
            items["github"].append(it)
for provider, lst in items.items():
    kind, version = schemas[provider]
    url = f"https://raw.githubusercontent.com/anchore/vunnel/main/schema/vulnerability/{kind}/schema-{version}.json"
    base = os.path.join(ws, provider)
    os.makedirs(os.path.join(base, "results"), exist_ok=True)
    lines = []
    for i, item in enumerate(lst):
        ident = item["Advisory"]["ghsaId"] if provider == "github" else item["id"]
        rel = f"results/{ident}.json"
        body = json.dumps({"schema": url, "identifier": ident, "item": item}).encode()
        open(os.path.join(base, rel), "wb").write(body)
        lines.append(f"{hashlib.sha256(body).hexdigest()[:16]}  {rel}")
    open(os.path.join(base, "checksums"), "w").write("\n".join(lines) + "\n")
    json.dump({"provider": provider, "version": 1, "processor": "shipgate-bench", "schema": {"version": "1.0.3",
               "url": "https://raw.githubusercontent.com/anchore/vunnel/main/schema/provider-workspace-state/schema-1.0.3.json"},
               "urls": [], "timestamp": "2026-11-29T00:00:00Z", "listing": {"path": "checksums", "digest": "0", "algorithm": "xxh64"},
               "store": "flat-file", "stale": False}, open(os.path.join(base, "metadata.json"), "w"))
print(f"OSV records: {len(recs)}; grype items: {len(items['github'])} github-shaped (PyPI, crates.io), {len(items['govulndb'])} govulndb")
PY

trivy_java_db "$work/trivy-vcache"
"$bins/trivy-db-osv" "$work/osv-json" "$work/trivy-vcache" >"$work/trivy-db.log" 2>&1 || { echo "trivy DB build failed:"; tail -n 5 "$work/trivy-db.log"; }
"$bins/grype-db-osv" "$work/grype-ws" "$work/grype-db/6" >"$work/grype-db.log" 2>&1 || { echo "grype DB build failed:"; tail -n 5 "$work/grype-db.log"; }
ls -la "$work/trivy-vcache/db/trivy.db" "$work/trivy-vcache/db/metadata.json" "$work/grype-db/6/vulnerability.db" "$work/grype-db/6/import.json" || true
SHIPGATE_CACHE_DIR="$work/sg-vcache" "$shipgate" db import "$data/osv" >/dev/null

measure trivy-vuln "$work/trivy.vuln.json" "$bins/trivy" image --input "$layout" --format json \
    --cache-dir "$work/trivy-vcache" --skip-db-update --skip-java-db-update --offline-scan --scanners vuln --quiet
GRYPE_DB_CACHE_DIR="$work/grype-db" GRYPE_DB_AUTO_UPDATE=false GRYPE_DB_VALIDATE_AGE=false \
    GRYPE_DB_REQUIRE_UPDATE_CHECK=false \
    measure grype-vuln "$work/grype.vuln.json" "$bins/grype" "oci-dir:$layout" -o json -q
SHIPGATE_CACHE_DIR="$work/sg-vcache" measure shipgate-vuln "$work/shipgate.vuln.json" \
    "$shipgate" scan image "$layout" --offline --no-cache --format json --fail-on none

python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def load(name):
    try:
        return json.load(open(os.path.join(work, name)))
    except Exception as e:
        return None
found = {}
t = load("trivy.vuln.json")
if t is not None:
    found["trivy"] = {(v["PkgName"].lower(), v["InstalledVersion"].removeprefix("v"), v["VulnerabilityID"])
                      for r in t.get("Results") or [] for v in r.get("Vulnerabilities") or []}
g = load("grype.vuln.json")
if g is not None:
    found["grype"] = {(m["artifact"]["name"].lower(), m["artifact"]["version"].removeprefix("v").removeprefix("go"), m["vulnerability"]["id"])
                      for m in g.get("matches") or []}
s = load("shipgate.vuln.json")
if s is not None:
    found["shipgate"] = {((f.get("package") or {}).get("name", "").lower(), (f.get("package") or {}).get("version", "").removeprefix("v"), f["rule_id"])
                         for f in s.get("findings") or []}
for tool, x in found.items():
    print(f"{tool}: {len(x)} (package, version, advisory) findings, {len({k[2] for k in x})} distinct advisories,"
          f" {len({k[:2] for k in x})} affected packages")
    for k in sorted(x)[:40]:
        print("   ", *k)
# Advisory ids differ between tools (Trivy prefers the CVE alias): compare affected packages.
tools = list(found)
for a in tools:
    for b in tools:
        if a < b:
            pa, pb = {k[:2] for k in found[a]}, {k[:2] for k in found[b]}
            print(f"affected packages: only {a}: {sorted(pa - pb)}; only {b}: {sorted(pb - pa)}")
PY
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

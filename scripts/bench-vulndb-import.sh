#!/usr/bin/env bash
# Import speed and peak memory of `shipgate-vulndb` (see docs/benchmarks-vulndb.md).
#
#   scripts/bench-vulndb-import.sh [RECORDS...]     # default: 200000 600000
#
# Generates synthetic OSV `all.zip` archives of RECORDS advisories each (the record shape
# of the criterion bench, benches/synthetic.rs; cached in
# ${SHIPGATE_TEST_CACHE:-~/.cache/shipgate}/bench-vulndb), then imports each one, and the
# shared advisories, with the release `import_timing` example under /usr/bin/time:
# records/s, CPU time and peak RSS. Memory should stay flat as RECORDS grows (external
# sort of the entries, batched zip directory), apart from the 16-byte-per-advisory index.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${SHIPGATE_TEST_CACHE:-$HOME/.cache/shipgate}/bench-vulndb"
data="${SHIPGATE_SHARED_DATA:-$here/../shared/data}"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(200000 600000)
command -v /usr/bin/time >/dev/null || apt-get install -y time >/dev/null
mkdir -p "$cache"
cd "$here"
cargo build --release -p shipgate-vulndb --example import_timing >&2
bin="$here/target/release/examples/import_timing"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
run() {
    /usr/bin/time -f "  cpu %U s user + %S s sys, peak RSS %M KiB" "$bin" "$@"
}
if [ -d "$data/osv" ]; then
    echo "-- shared advisories ($data/osv)"
    run "$data/osv/pypa" "$data/osv/go" "$data/osv/crates-io"
fi
for n in "${sizes[@]}"; do
    zip="$cache/synthetic-$n.zip"
    [ -s "$zip" ] || "$bin" --synthetic "$n" "$zip"
    echo "-- synthetic all.zip, $n records ($(($(stat -c %s "$zip") / 1048576)) MiB)"
    run "$zip"
done

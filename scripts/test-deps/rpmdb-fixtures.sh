#!/usr/bin/env bash
# Builds the RPM package databases the shipgate-image RPM reader is tested against, with
# Debian's own rpm tooling (rpmbuild, rpm) and Berkeley DB's db_load, and caches them
# outside the repository:
#
#   ${SHIPGATE_TEST_CACHE:-$HOME/.cache/shipgate}/rpmdb-fixtures/v1/
#     sqlite/rpmdb.sqlite      written by `rpm -i --justdb` (rpm 4.18's default backend)
#     bdb/Packages             Berkeley DB hash database (little-endian) holding the same
#                              header blobs under rpm's keys, written by db_load
#     bdb-be/Packages          the same, big-endian (as on s390x/ppc64 images)
#     headers/<n>.bin          the header blobs rpm stored, one a file (for parser tests)
#     expected.tsv             what `rpm -qa` reports for each database, one line a package:
#                              NAME EPOCH VERSION RELEASE ARCH SOURCERPM LICENSE (tab-separated,
#                              sorted; `(none)` where a tag is absent)
#
# NDB (`Packages.db`) cannot be produced here: Debian's rpm is built with the sqlite and
# bdb_ro backends only (`rpm --showrc | grep backends`).
#
# Idempotent: a complete fixture directory is left alone. Needs root for apt-get.
set -euo pipefail

cache="${SHIPGATE_TEST_CACHE:-$HOME/.cache/shipgate}"
out="$cache/rpmdb-fixtures/v1"
if [ -f "$out/.complete" ]; then
    echo "rpmdb-fixtures: $out already present" >&2
    exit 0
fi

need=()
command -v rpmbuild >/dev/null 2>&1 || need+=(rpm)
command -v db_load >/dev/null 2>&1 || need+=(db-util)
if [ "${#need[@]}" -gt 0 ]; then
    echo "rpmdb-fixtures: installing ${need[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -qq "${need[@]}" >/dev/null \
        || { $sudo apt-get update -qq && $sudo apt-get install -y -qq "${need[@]}" >/dev/null; }
fi

mkdir -p "$cache/rpmdb-fixtures"
work="$(mktemp -d "$cache/rpmdb-fixtures/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log="$work/log"
fail() {
    echo "rpmdb-fixtures: $*" >&2
    tail -n 30 "$log" >&2 || true
    exit 1
}

# Two source packages, three binary packages: one with an Epoch, one subpackage whose
# source rpm has another name, licenses with and without an SPDX expression.
cat >"$work/shipgate-hello.spec" <<'EOF'
Name: shipgate-hello
Epoch: 2
Version: 1.2.3
Release: 4.el9
Summary: shipgate RPM reader test package
License: MIT
BuildArch: noarch
%description
A package with an epoch, for the shipgate-image RPM database tests.
%install
mkdir -p %{buildroot}/usr/share/shipgate-hello
echo hello > %{buildroot}/usr/share/shipgate-hello/hello.txt
%files
/usr/share/shipgate-hello/hello.txt
EOF
cat >"$work/shipgate-tools.spec" <<'EOF'
Name: shipgate-tools
Version: 0.9.1
Release: 2.el9_3
Summary: shipgate RPM reader test package
License: Apache-2.0 AND BSD-3-Clause
BuildArch: noarch
%description
A source package with a subpackage, for the shipgate-image RPM database tests.
%package -n shipgate-libtools
Summary: shipgate RPM reader test subpackage
License: LGPL-2.1-or-later
%description -n shipgate-libtools
The subpackage.
%install
mkdir -p %{buildroot}/usr/share/shipgate-tools %{buildroot}/usr/share/shipgate-libtools
echo tools > %{buildroot}/usr/share/shipgate-tools/tools.txt
echo lib > %{buildroot}/usr/share/shipgate-libtools/lib.txt
%files
/usr/share/shipgate-tools/tools.txt
%files -n shipgate-libtools
/usr/share/shipgate-libtools/lib.txt
EOF

for spec in shipgate-hello shipgate-tools; do
    rpmbuild --define "_topdir $work/top" -bb "$work/$spec.spec" >>"$log" 2>&1 \
        || fail "rpmbuild $spec failed"
done
mapfile -t rpms < <(find "$work/top/RPMS" -name '*.rpm' | sort)
[ "${#rpms[@]}" -eq 3 ] || fail "expected 3 rpms, found ${#rpms[@]}"

root="$work/root"
rpmq=(rpm --root "$root" --dbpath /var/lib/rpm)
"${rpmq[@]}" --initdb >>"$log" 2>&1 || fail "rpm --initdb failed"
"${rpmq[@]}" -i --justdb --nodeps --noscripts --force-debian "${rpms[@]}" >>"$log" 2>&1 \
    || fail "rpm -i --justdb failed"
db="$root/var/lib/rpm/rpmdb.sqlite"
[ -s "$db" ] || fail "$db missing"
if [ -s "$db-wal" ]; then
    fail "$db-wal is not empty: rpm left the database uncheckpointed"
fi

qf='%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{LICENSE}\n'
"${rpmq[@]}" -qa --qf "$qf" 2>>"$log" | sort >"$work/expected.tsv"
[ "$(wc -l <"$work/expected.tsv")" -eq 3 ] || fail "rpm -qa did not list 3 packages"

mkdir -p "$work/out/sqlite" "$work/out/bdb" "$work/out/bdb-be" "$work/out/headers"
cp "$db" "$work/out/sqlite/rpmdb.sqlite"
cp "$work/expected.tsv" "$work/out/expected.tsv"

# Berkeley DB: rpm up to 4.15 kept headers in a hash database `Packages`, key = the header
# number as a 4-byte integer in the database's byte order, value = the header blob; key 0
# holds the next free header number. db_load builds it from a dump in `bytevalue` format.
python3 - "$db" "$work" <<'PY'
import sqlite3, struct, sys
db, work = sys.argv[1], sys.argv[2]
rows = sqlite3.connect(db).execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
for hnum, blob in rows:
    with open(f"{work}/out/headers/{hnum}.bin", "wb") as f:
        f.write(blob)
for name, order, fmt in (("le", "1234", "<I"), ("be", "4321", ">I")):
    with open(f"{work}/dump-{name}.txt", "w") as f:
        f.write("VERSION=3\nformat=bytevalue\ntype=hash\n")
        f.write(f"db_lorder={order}\ndb_pagesize=4096\nHEADER=END\n")
        f.write(" " + struct.pack(fmt, 0).hex() + "\n")
        f.write(" " + struct.pack(fmt, max(r[0] for r in rows) + 1).hex() + "\n")
        for hnum, blob in rows:
            f.write(" " + struct.pack(fmt, hnum).hex() + "\n")
            f.write(" " + bytes(blob).hex() + "\n")
        f.write("DATA=END\n")
PY
db_load -f "$work/dump-le.txt" "$work/out/bdb/Packages" >>"$log" 2>&1 || fail "db_load (le) failed"
db_load -f "$work/dump-be.txt" "$work/out/bdb-be/Packages" >>"$log" 2>&1 || fail "db_load (be) failed"

# rpm itself must read both Berkeley DB files back (read-only bdb_ro backend) and list the
# same packages as from the SQLite database.
for d in bdb bdb-be; do
    rpm --dbpath "$work/out/$d" --define '_db_backend bdb_ro' -qa --qf "$qf" 2>>"$log" \
        | sort >"$work/$d.tsv"
    cmp -s "$work/$d.tsv" "$work/expected.tsv" \
        || fail "rpm reads $d/Packages differently: $(diff "$work/$d.tsv" "$work/expected.tsv" | head -5)"
    rm -f "$work/out/$d/.rpm.lock" "$work/out/$d/"__db.*
done

touch "$work/out/.complete"
rm -rf "$out"
mv "$work/out" "$out"
echo "rpmdb-fixtures: wrote $out" >&2

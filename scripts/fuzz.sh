#!/usr/bin/env bash
# Run every cargo-fuzz target (fuzz/fuzz_targets/*) for a while with libFuzzer.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     # default: 60 s, every target
#
# Needs the nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz (installed here
# on first use). Corpora are kept in ${SHIPGATE_FUZZ_DIR:-~/.cache/shipgate/fuzz}/<target> so
# later runs start where earlier ones stopped; crashes land in fuzz/artifacts/<target>/ and make
# this script exit 1.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-60}"
shift || true
corpus_root="${SHIPGATE_FUZZ_DIR:-$HOME/.cache/shipgate/fuzz}"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
cd "$here/fuzz"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
status=0
for t in "${targets[@]}"; do
    mkdir -p "$corpus_root/$t"
    echo "== $t (${secs}s)"
    if ! cargo +nightly fuzz run "$t" "$corpus_root/$t" -- -max_total_time="$secs" \
        -rss_limit_mb=2048 -max_len=65536 2>"$corpus_root/$t.log"; then
        echo "!! $t failed; see $corpus_root/$t.log and fuzz/artifacts/$t/"
        tail -30 "$corpus_root/$t.log"
        status=1
    else
        grep -E '^Done|#[0-9]+.*DONE' "$corpus_root/$t.log" | tail -1
    fi
done
exit $status

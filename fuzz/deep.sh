#!/usr/bin/env bash
# Runs fuzz targets to a number of executions each, two at a time (one worker per target), and
# prints one table row per target: seconds, executions, executions per second, whether the
# number was reached, and any crash, timeout or out-of-memory artifact.
#
#   fuzz/deep.sh [TARGET...]           # default: every target, 10^7 executions each
#   RUNS=1000000 JOBS=1 fuzz/deep.sh pem jws
#
# Build first (release with debug assertions and overflow checks, no sanitizer: our crates have
# no `unsafe`, and without AddressSanitizer a target runs about twice as fast):
#
#   cd fuzz && cargo +nightly fuzz build -s none
#
# New inputs go to a scratch directory (SCRATCH, default /tmp/keyward-fuzz), read after the
# kept corpus, so `corpus/` is left as it is; minimise into it by hand (README.md, "Corpus").
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
runs="${RUNS:-10000000}"
jobs="${JOBS:-2}"
cap="${MAX_SECONDS:-7200}"
scratch="${SCRATCH:-/tmp/keyward-fuzz}"
bin="$here/target/x86_64-unknown-linux-gnu/release"

if [ "$#" -eq 0 ]; then
    set -- $(cd "$here/fuzz_targets" && ls | sed 's/\.rs$//')
fi
for target in "$@"; do
    if [ ! -x "$bin/$target" ]; then
        echo "deep.sh: no binary for $target in $bin; build first (see the top of this file)" >&2
        exit 2
    fi
done

one() {
    local target="$1" extra=() start end log executions rate reached artifacts
    case "$target" in
        vault_import | vault_body | vault_response) extra=(-max_len=65536) ;;
    esac
    mkdir -p "$scratch/new/$target" "$scratch/artifacts/$target"
    log="$scratch/$target.log"
    start=$(date +%s)
    "$bin/$target" "$scratch/new/$target" "$here/corpus/$target" \
        -runs="$runs" -max_total_time="$cap" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$scratch/artifacts/$target/" "${extra[@]}" >"$log" 2>&1 || true
    end=$(date +%s)
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    executions="${executions:-0}"
    rate=$((executions / (end - start > 0 ? end - start : 1)))
    reached=no
    [ "$executions" -ge "$runs" ] && reached=yes
    artifacts=$(ls "$scratch/artifacts/$target" | wc -l)
    echo "| $target | $((end - start)) | $executions | $rate | $reached | $artifacts |"
}
export -f one
export here runs cap scratch bin

echo "| target | seconds | executions | exec/s | $runs reached | artifacts |"
echo "| --- | --- | --- | --- | --- | --- |"
printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'one "$@"' _ {}

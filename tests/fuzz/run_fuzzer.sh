#!/bin/sh
# run_fuzzer.sh FUZZER SECONDS [SEED_DIR...]
# Runs a libFuzzer binary for a bounded time. The growing corpus is kept in
# corpus/NAME and crash/leak/timeout inputs in artifacts/NAME/, both next
# to the binary. Exit status: the fuzzer's (0 = nothing found).
# Replay a finding: FUZZER artifacts/NAME/crash-...
set -eu
[ $# -ge 2 ] || { echo "usage: $0 FUZZER SECONDS [SEED_DIR...]" >&2; exit 2; }
fuzzer=$1
seconds=$2
shift 2
name=$(basename "$fuzzer")
dir=$(cd "$(dirname "$fuzzer")" && pwd)
corpus=$dir/corpus/$name
artifacts=$dir/artifacts/$name
mkdir -p "$corpus" "$artifacts"
# A dictionary tests/fuzz/NAME.dict is used when present.
dict=""
here=$(cd "$(dirname "$0")" && pwd)
[ -f "$here/$name.dict" ] && dict="-dict=$here/$name.dict"
seeds=""
for s in "$@"; do
	[ -d "$s" ] && seeds="$seeds $s"
done
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
echo "run_fuzzer: $name for ${seconds}s, corpus $corpus, seeds:${seeds:- none}"
# shellcheck disable=SC2086 # $dict and $seeds split on purpose
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-max_len=4096 -print_final_stats=1 -artifact_prefix="$artifacts/" $dict \
	"$corpus" $seeds

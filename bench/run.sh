#!/bin/sh
# `make bench`: every benchmark of issue 7, then the report.
#   datapath_bench    per-packet CPU cost into (and out of) a gateway namespace
#   prog_run_bench    BPF_PROG_RUN ns per frame, per class, against an empty program
#   nft_bench         control plane: firewall with 10 .. 100,000 peer pairs
#   lifecycle_bench   `up`/`down` of 1, 10, 100 gateways against a shell script
# Each one interleaves its own variants in shuffled order over several
# rounds; report turns the raw JSON into bench/results/latest.{json,md},
# *.dat and, when gnuplot is installed, PNG plots. Root; about 8 minutes
# on 2 cores. Knobs (environment): DP_ROUNDS, DP_PACKETS, DP_GEN (live:
# BPF_PROG_RUN live frames, the default; afpacket), NFT_ROUNDS, NFT_MAX,
# LC_ROUNDS, SEED.
# Usage: bench/run.sh BUILD_DIR
set -eu
build=$(realpath "${1:-build}")
here=$(dirname "$(realpath "$0")")
out="$here/results"
raw=$(mktemp -d /tmp/istbench-raw-XXXXXX)
seed=${SEED:-$(date +%s)}
child=""

# Whatever happens: stop the running step (by its pid) and remove the
# namespaces it made (their names carry its pid), then the scratch dir.
cleanup() {
	if [ -n "$child" ]; then
		kill "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
		for ns in $(ip netns list | awk '{print $1}' | grep -E "^istb[0-9]+-$child-|^istbnft-$child\$" || true); do
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
			ip netns del "$ns" 2>/dev/null || true
		done
	fi
	rm -rf "$raw"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Runs one step in the background so its pid is known to cleanup.
step() {
	name=$1
	shift
	echo "bench: $name" >&2
	t0=$(date +%s)
	"$@" &
	child=$!
	rc=0
	wait "$child" || rc=$?
	child=""
	echo "bench: $name took $(( $(date +%s) - t0 )) s (exit $rc)" >&2
	return 0
}

mkdir -p "$out"
step datapath "$build/bench/datapath_bench" --rounds "${DP_ROUNDS:-9}" \
	--packets "${DP_PACKETS:-300000}" --gen "${DP_GEN:-live}" --seed "$seed" \
	--out "$raw/datapath.json"
step prog_run "$build/bench/prog_run_bench" --rounds 7 --seed "$seed" --json "$raw/prog_run.json"
step control-plane "$build/bench/nft_bench" --rounds "${NFT_ROUNDS:-3}" \
	--max "${NFT_MAX:-100000}" --seed "$seed" --out "$raw/nft.json"
step lifecycle "$here/lifecycle_bench.sh" "$build" "$raw/lifecycle.json" "${LC_ROUNDS:-5}"
"$build/bench/bench_report" "$raw" "$out"
if command -v gnuplot >/dev/null 2>&1; then
	(cd "$out" && gnuplot "$here/plots.gp") || echo "bench: gnuplot failed" >&2
else
	echo "bench: gnuplot not installed, no PNGs (tools/install-deps.sh adds it)" >&2
fi
echo "bench: results in $out/latest.md and $out/latest.json" >&2

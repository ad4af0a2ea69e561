#!/bin/sh
# Wall time of `ipsec-steer up` (first and repeated) and `down` for 1, 10
# and 100 gateways on one public interface of a router namespace, and of
# the equivalent shell script for one gateway (`ip -batch` for namespace,
# link, addresses, rule, route and neighbour; bpftool for the object and its
# map entries; `tc filter add` of the same programs). Jobs run in shuffled
# order each round; medians go to OUT_JSON. Root.
# Usage: bench/lifecycle_bench.sh BUILD_DIR [OUT_JSON] [ROUNDS]
set -eu
build=$(realpath "${1:-build}")
bin=$build/loader/ipsec-steer
obj=$build/bpf/bpf_gen/steer_bpf.bpf.o
json=${2:-}
rounds=${3:-3}
tag="istbench$$"
short=$(( $$ % 100000 ))   # gateway names: [a-z0-9-], at most 11 characters
work=$(mktemp -d /tmp/istbench-XXXXXX)   # no dots: libbpf rewrites them in pin paths
rtr="$tag-rtr"
P=198.51.100.1

cleanup() {
	"$bin" down --all -c "$work/gw.toml" >/dev/null 2>&1 || true
	for ns in $(ip netns list | awk '{print $1}' | grep -E "^b$short-|^$tag-" || true); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	umount "$work/bpffs" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mkdir "$work/bpffs"
mount -t bpf bpf "$work/bpffs"
ip netns add "$rtr"
ip -n "$rtr" link add pub type veth peer name pubpeer
ip -n "$rtr" link set pub up
ip -n "$rtr" link set pubpeer up

now() { date +%s%N; }
ms() { echo $(( ($(now) - $1) / 1000000 )); }
record() { echo "$1 $2" >> "$work/times"; }   # key, ms

config() {
	printf 'bpffs = "%s"\n' "$work/bpffs/ipsec-steer" > "$work/gw.toml"
	i=0
	while [ $i -lt "$1" ]; do
		addr="198.51.100.$((i + 1))"
		ip -n "$rtr" addr add "$addr/32" dev pub 2>/dev/null || true
		printf '[[gateway]]\nname = "b%d-%d"\npublic_interface = "pub"\npublic_address = "%s"\nrouter_netns = "%s"\nroutes = [ { local = "10.%d.%d.0/24", remote = "10.200.%d.0/24" } ]\n' \
			"$short" $i "$addr" "$rtr" $((i / 200)) $((i % 200)) $((i % 250)) >> "$work/gw.toml"
		i=$((i + 1))
	done
}

ours() {
	config "$1"
	t=$(now); "$bin" up -c "$work/gw.toml"; record "up_$1" "$(ms "$t")"
	t=$(now); "$bin" up -c "$work/gw.toml"; record "reup_$1" "$(ms "$t")"
	t=$(now); "$bin" down -c "$work/gw.toml"; record "down_$1" "$(ms "$t")"
}

# Little-endian hex bytes of a u32 / u16, as bpftool takes them.
le32() { printf '%02x %02x %02x %02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
le16() { printf '%02x %02x' $(($1 & 255)) $((($1 >> 8) & 255)); }
ifindex() { ip -n "$rtr" -o link show "$1" | cut -d: -f1; }

# What `up` does for one gateway, written as a script of the usual tools.
shell_up() {
	g="b$short-s"
	pins="$work/bpffs/shell"
	ip netns add "$g"
	ip -n "$rtr" -batch - <<-EOB
	link add ist-$g type veth peer name eth0 netns $g
	addr add 169.254.200.1/30 dev ist-$g
	link set ist-$g up
	rule add from 10.1.0.0/24 to 10.2.0.0/24 lookup 5000 priority 5000
	route add 10.2.0.0/24 via 169.254.200.2 dev ist-$g table 5000
	EOB
	pubmac=$(ip -n "$rtr" -br link show pub | awk '{print $3}')
	istmac=$(ip -n "$rtr" -br link show "ist-$g" | awk '{print $3}')
	ip -n "$g" -batch - <<-EOB
	link set lo up
	link set eth0 address $pubmac
	addr add 169.254.200.2/30 dev eth0
	addr add $P/32 dev eth0
	link set eth0 up
	neigh replace 169.254.200.1 lladdr $istmac dev eth0 nud permanent
	route add default via 169.254.200.1
	EOB
	mkdir -p "$pins/maps"
	bpftool prog loadall "$obj" "$pins/progs" pinmaps "$pins/maps"
	pub=$(ifindex pub); ist=$(ifindex "ist-$g")
	addr="c6 33 64 01 00 00 00 00 00 00 00 00 00 00 00 00"   # 198.51.100.1
	flags=61                                                 # esp ike nat-t icmp fragments
	bpftool map update pinned "$pins/maps/gateways" key hex $(le32 "$pub") 04 00 00 00 $addr \
		value hex $(le32 "$ist") $(le32 $flags) $(le16 500) $(le16 4500) $(le32 1)
	bpftool map update pinned "$pins/maps/returns" key hex $(le32 "$ist") \
		value hex $(le32 "$pub") $(le32 $flags) $(le16 500) $(le16 4500) $(le32 1) 04 00 00 00 $addr
	tc -n "$rtr" qdisc add dev pub clsact 2>/dev/null || true
	tc -n "$rtr" filter replace dev pub ingress prio 1 handle 0x1573 bpf da pinned "$pins/progs/ist_ingress"
	tc -n "$rtr" qdisc add dev "ist-$g" clsact
	tc -n "$rtr" filter replace dev "ist-$g" ingress prio 1 handle 0x1573 bpf da pinned "$pins/progs/ist_return"
}

shell_down() {
	g="b$short-s"
	tc -n "$rtr" filter del dev pub ingress prio 1 handle 0x1573 bpf 2>/dev/null || true
	ip -n "$rtr" rule del priority 5000 2>/dev/null || true
	ip netns del "$g"
	rm -rf "$work/bpffs/shell"
}

shell() {
	t=$(now); shell_up; record shell_up_1 "$(ms "$t")"
	t=$(now); shell_down; record shell_down_1 "$(ms "$t")"
}

: > "$work/times"
r=0
while [ $r -lt "$rounds" ]; do
	for job in $(printf 'ours 1\nours 10\nours 100\nshell 1\n' | shuf | tr ' ' :); do
		${job%%:*} "${job#*:}"
	done
	r=$((r + 1))
done

# Median per key, as a table and (optionally) JSON.
medians=$(sort -k1,1 -k2,2n "$work/times" | awk '
	{ v[$1] = v[$1] " " $2; n[$1]++ }
	END { for (k in v) { split(substr(v[k], 2), a, " "); m = n[k];
		med = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2; print k, med } }' | sort)
printf '%-14s %8s\n' what "ms"
echo "$medians" | awk '{ printf "%-14s %8s\n", $1, $2 }'
if [ -n "$json" ]; then
	{
		printf '{"tool": "lifecycle_bench", "rounds": %s, "median_ms": {' "$rounds"
		echo "$medians" | awk 'BEGIN { s = "" } { printf "%s\"%s\": %s", s, $1, $2; s = ", " }'
		printf '}, "runs_ms": {'
		# Stable: each key's runs stay in round order, so the report can
		# pair runs of two keys measured in the same round.
		sort -s -k1,1 "$work/times" | awk '
			$1 != k { if (k != "") printf "], "; printf "\"%s\": [%s", $1, $2; k = $1; next }
			{ printf ", %s", $2 } END { if (k != "") printf "]" }'
		printf '}}\n'
	} > "$json"
fi

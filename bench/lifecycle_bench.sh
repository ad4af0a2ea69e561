#!/bin/sh
# Wall time of `ipsec-steer up` (first and repeated) and `down` for 1, 10
# and 100 gateways on one public interface of a router namespace. Root.
# Usage: bench/lifecycle_bench.sh BUILD_DIR
set -eu
bin=$(realpath "${1:-build}")/loader/ipsec-steer
tag="istbench$$"
work=$(mktemp -d)
cleanup() {
	"$bin" down --all -c "$work/gw.toml" >/dev/null 2>&1 || true
	ip netns del "$tag-rtr" 2>/dev/null || true
	umount "$work/bpffs" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
mkdir "$work/bpffs"
mount -t bpf bpf "$work/bpffs"
ip netns add "$tag-rtr"
ip -n "$tag-rtr" link add pub type veth peer name pubpeer
ip -n "$tag-rtr" link set pub up

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

printf '%-9s %10s %12s %10s\n' gateways "up ms" "re-up ms" "down ms"
for n in 1 10 100; do
	printf 'bpffs = "%s"\n' "$work/bpffs/ipsec-steer" > "$work/gw.toml"
	i=0
	while [ $i -lt $n ]; do
		addr="198.51.100.$((i + 1))"
		ip -n "$tag-rtr" addr add "$addr/32" dev pub 2>/dev/null || true
		printf '[[gateway]]\nname = "b%d"\npublic_interface = "pub"\npublic_address = "%s"\nrouter_netns = "%s"\nroutes = [ { local = "10.%d.%d.0/24", remote = "10.200.%d.0/24" } ]\n' \
			$i "$addr" "$tag-rtr" $((i / 200)) $((i % 200)) $((i % 250)) >> "$work/gw.toml"
		i=$((i + 1))
	done
	t=$(date +%s%N); "$bin" up -c "$work/gw.toml"; up=$(ms $t)
	t=$(date +%s%N); "$bin" up -c "$work/gw.toml"; again=$(ms $t)
	t=$(date +%s%N); "$bin" down -c "$work/gw.toml"; down=$(ms $t)
	printf '%-9s %10s %12s %10s\n' $n $up $again $down
done

#!/bin/sh
# Guest side: README's quick start, run as written, on the VM's overlay of
# this machine (so `make install` and /etc changes never reach the host).
#
#   VM root namespace (the "router" the README speaks of)
#   ens3 203.0.113.7/24 (veth, peer ens3-peer: the README's public interface)
#     `- ist-vpn-a 169.254.x.1/30 ---- eth0 in netns vpn-a (charon runs here)
#
# The block is the first fenced block after '## Quick start' in README.md.
# Afterwards: status says healthy, charon runs inside vpn-a, the installed
# files are there; then `ipsec-steer down` and charon is ended by pid.
#
# usage: quickstart.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1 build=$2
work=$(mktemp -d)
fail() { echo "quickstart: FAIL: $*"; exit 1; }

ip link add ens3 type veth peer name ens3-peer
ip addr add 203.0.113.7/24 dev ens3
ip link set ens3 up
ip link set ens3-peer up

awk '/^## Quick start/ {q = 1; next} q && /^```/ {if (b) exit; b = 1; next} b' \
	"$src/README.md" > "$work/quickstart.sh"
echo "quickstart: running README's quick start ($(grep -c . "$work/quickstart.sh") lines):"
cat "$work/quickstart.sh"
# The README's `make install` builds into ./build: use the build this test
# belongs to (an up-to-date tree: nothing is recompiled).
cd "$src"
rc=0
BUILD="$build" sh -e "$work/quickstart.sh" > "$work/out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat "$work/out"; fail "the quick start exited $rc"; }
tail -n 5 "$work/out"

sleep 2  # let charon open its sockets
status=$(ipsec-steer status)
echo "$status"
echo "$status" | grep -q -E '^vpn-a +healthy' || fail "status does not say vpn-a is healthy"
pids=$(ip netns pids vpn-a)
[ -n "$pids" ] || fail "no process runs in namespace vpn-a (charon did not start)"
ip netns exec vpn-a ss -uln | grep -q ':500 ' || fail "charon does not listen on udp/500 in vpn-a"
[ -x /usr/sbin/ipsec-steer ] || fail "make install did not install /usr/sbin/ipsec-steer"
[ -f /usr/lib/ipsec-steer/steer_bpf.bpf.o ] || fail "make install did not install the BPF object"

ipsec-steer down
kill $pids 2>/dev/null || true
[ ! -e /run/netns/vpn-a ] || fail "down left the namespace vpn-a"
ip link del ens3
rm -rf "$work"
echo "quickstart: ok"

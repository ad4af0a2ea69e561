#!/bin/sh
# Guest side of the VM tier (run by run-suite.sh through vm-run.sh, as PID
# 1's child in Debian's kernel): loads the modules the scenarios need,
# unpacks libreswan into the overlay, runs every VM test binary of
# BUILD_DIR with its XML report in OUT_DIR. Fails when any of them fails.
#
# usage: suite.sh BUILD_DIR OUT_DIR SOURCE_DIR
# VM_ONLY=quickstart or VM_ONLY=gtest runs one part (for a quicker try).
set -u
build=$1 out=$2 src=$3
modprobe -a tun esp4 esp6 xfrm_user xfrm4_tunnel xfrm6_tunnel tunnel4 tunnel6 veth vxlan \
	sch_ingress cls_bpf nf_tables nft_xfrm nft_masq nft_nat nft_ct nf_conntrack_netlink ||
	{ echo "suite.sh: modprobe failed"; exit 1; }
# What the first ESP SA would load (authenc, IV generators, AES-NI): at
# once here, not under pluto, which waits (~15 s under TCG) meanwhile.
modprobe -q -a authenc echainiv seqiv aesni_intel 2>/dev/null || true
# /lib, /sbin are symlinks into /usr here: keep them.
tar -C "$IPSEC_STEER_VM_CACHE/libreswan/root" -cf - . | tar -C / --keep-directory-symlink -xf - || { echo "suite.sh: cannot unpack libreswan"; exit 1; }
export IPSEC_STEER="$build/loader/ipsec-steer"
# The VM exists to give these tests what they need: a skip here is a failure.
export CI=true
rc=0
if [ "${VM_ONLY:-quickstart}" = quickstart ]; then
	start=$(cut -d' ' -f1 /proc/uptime)
	"$src/tests/vm/quickstart.sh" "$src" "$build" || rc=1
	echo "suite.sh: quickstart done in $(echo "$(cut -d' ' -f1 /proc/uptime) $start" | awk '{printf "%.1f", $1 - $2}') s"
fi
[ "${VM_ONLY:-gtest}" = gtest ] || exit $rc
for t in vm_gateway_test vm_mesh_test vm_mesh_agent_test; do
	start=$(cut -d' ' -f1 /proc/uptime)
	"$build/tests/vm/$t" --gtest_filter="${VM_GTEST_FILTER:-*}" --gtest_output="xml:$out/$t.xml" || rc=1
	echo "suite.sh: $t done in $(echo "$(cut -d' ' -f1 /proc/uptime) $start" | awk '{printf "%.1f", $1 - $2}') s"
done
exit $rc

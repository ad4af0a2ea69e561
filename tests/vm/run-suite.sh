#!/bin/sh
# Host side of the VM tier: fetches libreswan's package into the VM cache
# (it conflicts with strongSwan's packages, so it is never installed on the
# host; suite.sh unpacks it into the guest's overlay), then boots the VM
# once for the whole suite. Exit status: the suite's (125: the VM failed).
#
# usage: run-suite.sh BUILD_DIR OUT_DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { echo "usage: run-suite.sh BUILD_DIR OUT_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
out=$2
cache=${IPSEC_STEER_VM_CACHE:-/var/cache/ipsec-steer-vm}
mkdir -p "$cache/libreswan" "$out"
if ! ls "$cache"/libreswan/libreswan_*.deb >/dev/null 2>&1; then
	(cd "$cache/libreswan" && apt-get download libreswan) ||
		{ echo "run-suite.sh: apt-get download libreswan failed" >&2; exit 125; }
	rm -rf "$cache/libreswan/root"
fi
[ -d "$cache/libreswan/root" ] || dpkg -x "$cache"/libreswan/libreswan_*.deb "$cache/libreswan/root"
rm -f "$out"/*.xml
export IPSEC_STEER_VM_CACHE="$cache"
exec "$here/../../tools/vm/vm-run.sh" -c "$cache" -o "$out" -t "${VM_TIMEOUT:-840}" -- \
	"$here/suite.sh" "$build" "$out" "$(cd "$here/../.." && pwd)"

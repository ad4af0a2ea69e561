#!/bin/sh
# Installs the Debian 12 packages ipsec-steer builds, tests and demos with.
# The VM tier (tests/vm) adds qemu, busybox (its initramfs), cpio and kmod,
# and what libreswan's binaries need: libreswan itself conflicts with
# strongSwan's packages, so tests/vm/run-suite.sh fetches it with
# `apt-get download` and unpacks it inside the VM only.
# Packages already present are skipped; apt runs only when something is
# missing, so a prepared machine needs no network.
set -eu

PACKAGES="
build-essential cmake pkg-config clang-14 libclang-rt-14-dev bpftool
libbpf-dev libelf-dev zlib1g-dev linux-libc-dev
libnftnl-dev libmnl-dev libnl-3-dev libnl-route-3-dev
libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libgtest-dev
iproute2 iputils-ping nftables iptables tcpdump procps graphviz
gnuplot-nox
strongswan-charon strongswan-swanctl libcharon-extra-plugins
etcd-server etcd-client libcurl4-openssl-dev
qemu-system-x86 busybox-static cpio kmod
libnss3-tools libnss3 libnspr4 libcurl3-nss libevent-core-2.1-7 libevent-pthreads-2.1-7
libldns3 libunbound8 libcap-ng0 libaudit1 libldap-2.5-0 dns-root-data
"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing; run as root (or apt-get install them)" >&2
	exit 1
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing

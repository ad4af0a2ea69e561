#!/bin/sh
# Runs libreswan's pluto inside gateway NETNS (made by `ipsec-steer up`)
# with what `site.sh -D libreswan` rendered into CONFDIR, the libreswan
# twin of charon-in-netns.sh:
#   CONFDIR/pluto.ctl    pluto's control socket (whack --ctlsocket)
#   CONFDIR/pluto.pid    pluto's pid;  CONFDIR/pluto.log  its log
#   CONFDIR/nss/         its own NSS database (made on first start)
#
# usage: pluto-in-netns.sh [-k | -r] NETNS CONFDIR
#   (none)  put CONFDIR/lo-addresses on the namespace's lo, start pluto,
#           add every conn of CONFDIR/ipsec.conf; prints pluto's pid
#   -r      reload: addresses, conns and secrets again
#   -k      stop this CONFDIR's pluto (SIGTERM, SIGKILL after 3 s)
# env: IPSEC_STEER (the ipsec-steer binary; default: ipsec-steer in PATH),
#      LIBRESWAN (/usr/libexec/ipsec: pluto, whack, addconn), TIMEOUT (10 s)
set -eu

usage() { sed -n '2,16s/^# \{0,1\}//p' "$0" >&2; exit 2; }
die() { echo "pluto-in-netns.sh: $*" >&2; exit 1; }

mode=start
case ${1:-} in -k) mode=stop; shift ;; -r) mode=reload; shift ;; -h | --help | "") usage ;; esac
[ $# -eq 2 ] || usage
netns=$1
confdir=$(cd "$2" && pwd) || die "no such directory: $2"
libexec=${LIBRESWAN:-/usr/libexec/ipsec}
timeout=${TIMEOUT:-10}
ipsec_steer=${IPSEC_STEER:-ipsec-steer}
pidfile=$confdir/pluto.pid
ctl=$confdir/pluto.ctl

# `ipsec-steer exec`: the gateway's network namespace and a private /run.
in_gateway() { "$ipsec_steer" exec "$netns" -- "$@"; }
. "$(dirname "$0")/daemon-lib.sh"
load() {
	"$libexec/addconn" --ctlsocket "$ctl" --config "$confdir/ipsec.conf" --autoall \
		>"$confdir/addconn.out" 2>&1 || { cat "$confdir/addconn.out" >&2; return 1; }
	"$libexec/whack" --ctlsocket "$ctl" --rereadsecrets >/dev/null
}

case $mode in
stop)
	stop_daemon pluto "$ctl"
	;;
reload)
	running pluto || die "no pluto running for $confdir"
	add_addresses
	load
	exit 0
	;;
esac

[ -f "$confdir/ipsec.conf" ] || die "$confdir has no ipsec.conf: run site.sh -D libreswan first"
[ -x "$libexec/pluto" ] || die "$libexec/pluto missing (package libreswan)"
ip netns pids "$netns" >/dev/null 2>&1 || die "no network namespace $netns"
running pluto && die "pluto $pid already runs for $confdir"
if [ ! -f "$confdir/nss/cert9.db" ]; then
	mkdir -p "$confdir/nss"
	certutil -N -d "sql:$confdir/nss" --empty-password >/dev/null || die "cannot create the NSS database"
fi
rm -f "$ctl"
add_addresses
# pluto forks into the background once its socket is up; its pid file is ours.
in_gateway "$libexec/pluto" --config "$confdir/ipsec.conf" --rundir "$confdir" \
	--nssdir "$confdir/nss" --secretsfile "$confdir/ipsec.secrets" --ipsecdir "$confdir" \
	>"$confdir/pluto.out" 2>&1 || { cat "$confdir/pluto.out" >&2; die "pluto did not start"; }
i=0
until [ -S "$ctl" ] && running pluto; do
	[ $i -lt $((timeout * 10)) ] || { tail -n 20 "$confdir/pluto.out" >&2; die "pluto did not open $ctl within ${timeout}s"; }
	sleep 0.1
	i=$((i + 1))
done
load || die "addconn failed (see $confdir/pluto.log)"
echo "$pid"

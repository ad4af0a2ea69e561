#!/bin/sh
# Runs strongSwan's charon inside gateway NETNS (made by `ipsec-steer up`)
# with what site.sh rendered into CONFDIR, and loads its connections and
# secrets through charon's own vici socket (CONFDIR/charon.vici).
#   CONFDIR/charon.pid   charon's pid
#   CONFDIR/charon.log   charon's log (CONFDIR/charon.out: stdout and stderr)
#
# usage: charon-in-netns.sh [-k | -r] NETNS CONFDIR
#   (none)  put CONFDIR/lo-addresses on the namespace's lo, start charon,
#           load CONFDIR/swanctl.conf; prints charon's pid
#   -r      reload: addresses and swanctl --load-all again (after site.sh
#           added a site)
#   -k      stop this CONFDIR's charon (SIGTERM, SIGKILL after 3 s)
# env: CHARON (/usr/lib/ipsec/charon), SWANCTL (swanctl), TIMEOUT (10 s),
#      IPSEC_STEER (the ipsec-steer binary; default: ipsec-steer in PATH)
set -eu

# The one function that knows how to enter a gateway: `ipsec-steer exec`
# gives the command the gateway's network namespace plus a private /run (two
# charons never share a pid file or socket) and execs it, so $! below is
# charon itself and signals sent to it reach charon.
in_gateway() {
	exec "$ipsec_steer" exec "$netns" -- "$@"
}

usage() { sed -n '2,16s/^# \{0,1\}//p' "$0" >&2; exit 2; }
die() { echo "charon-in-netns.sh: $*" >&2; exit 1; }

mode=start
case ${1:-} in -k) mode=stop; shift ;; -r) mode=reload; shift ;; -h | --help | "") usage ;; esac
[ $# -eq 2 ] || usage
netns=$1
confdir=$(cd "$2" && pwd) || die "no such directory: $2"
charon=${CHARON:-/usr/lib/ipsec/charon}
swanctl=${SWANCTL:-swanctl}
timeout=${TIMEOUT:-10}
ipsec_steer=${IPSEC_STEER:-ipsec-steer}
pidfile=$confdir/charon.pid
socket=$confdir/charon.vici

. "$(dirname "$0")/daemon-lib.sh"

load() {
	STRONGSWAN_CONF=$confdir/strongswan.conf SWANCTL_DIR=$confdir \
		"$swanctl" --load-all --noprompt --uri "unix://$socket" --file "$confdir/swanctl.conf" \
		>"$confdir/swanctl.out" 2>&1 || { cat "$confdir/swanctl.out" >&2; return 1; }
}

case $mode in
stop)
	stop_daemon charon "$socket"
	;;
reload)
	running charon || die "no charon running for $confdir"
	add_addresses
	load
	exit 0
	;;
esac

for f in strongswan.conf swanctl.conf; do
	[ -f "$confdir/$f" ] || die "$confdir has no $f: run site.sh first"
done
[ -x "$charon" ] || die "$charon missing (package strongswan-charon)"
command -v "$swanctl" >/dev/null || die "$swanctl missing (package strongswan-swanctl)"
command -v "$ipsec_steer" >/dev/null || die "$ipsec_steer missing (set IPSEC_STEER to the binary)"
ip netns pids "$netns" >/dev/null 2>&1 || die "no network namespace $netns"
running charon && die "charon $pid already runs for $confdir"
rm -f "$socket"
add_addresses

# A subshell that becomes charon: $! is charon's pid. Its redirections are
# exec'd, not attached to the function call: dash would keep copies of our
# stdout in the child, and a caller's $(...) would never see EOF.
(
	exec </dev/null >"$confdir/charon.out" 2>&1
	in_gateway env STRONGSWAN_CONF="$confdir/strongswan.conf" "$charon"
) &
pid=$!
echo "$pid" >"$pidfile"

i=0
until [ -S "$socket" ]; do
	if ! kill -0 "$pid" 2>/dev/null || [ $i -ge $((timeout * 10)) ]; then
		kill -KILL "$pid" 2>/dev/null || true
		tail -n 20 "$confdir/charon.out" "$confdir/charon.log" >&2 2>/dev/null || true
		die "charon did not open $socket within ${timeout}s"
	fi
	sleep 0.1
	i=$((i + 1))
done
[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = charon ] || { kill -KILL "$pid"; die "process $pid is not charon (ipsec-steer exec must exec, not fork)"; }
load || die "swanctl --load-all failed (see $confdir/charon.log)"
echo "$pid"
